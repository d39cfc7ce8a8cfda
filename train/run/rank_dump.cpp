#include "train/run/rank_dump.h"

#include <fmt/format.h>

#include <filesystem>

#include "train/sys/file_io.h"

namespace tlm::train {

nlohmann::json rank_state_json(Trainer& trainer, const Distributed& world) {
  nlohmann::json params = nlohmann::json::object(), grads = nlohmann::json::object();
  uint32_t wcrc = 0, gcrc = 0;
  for (auto& [name, p] : trainer.model().named_parameters()) {
    Tensor c = p.contiguous();
    const auto n = static_cast<size_t>(c.numel());
    wcrc = crc32_update(wcrc, c.data<float>(), n * sizeof(float));
    params[name] = c.to_vector<double>();
    if (p.grad().defined()) {
      Tensor g = p.grad().contiguous();
      gcrc = crc32_update(gcrc, g.data<float>(), n * sizeof(float));
      grads[name] = g.to_vector<double>();
    }
  }
  return {{"rank", world.rank()}, {"ranks", world.size()}, {"step", trainer.step()},
          {"weights_crc32", wcrc}, {"grads_crc32", gcrc}, {"params", params}, {"grads", grads}};
}

void write_rank_state(const std::string& dir, Trainer& trainer, const Distributed& world) {
  std::filesystem::create_directories(dir);
  const std::string path = (std::filesystem::path(dir) / fmt::format("rank{}.json", world.rank())).string();
  write_file_atomic(path, rank_state_json(trainer, world).dump(), "rank_dump");
}

}  // namespace tlm::train
