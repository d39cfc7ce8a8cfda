// Worked extension 2 (docs/extending.md): a new language-model loss with a hyperparameter,
// selectable by name from `tlm train`.
//
//   Poly-1 (Leng et al. 2022, arXiv:2204.12511):  L = mean_i [ -log p_t + eps (1 - p_t) ],
//   p_t = softmax(z_i)_{y_i};  eps = 0 is cross-entropy.
//
// Everything the loss needs is in this file: the function, and its registry entry (name, help,
// the key poly1_eps with its type, default, range and help, the function), registered by one
// constant. After that, `tlm train --set loss=poly1 --set poly1_eps=2` works: the config takes
// the `loss` choices and the keys from the registry (train/io/config.cpp), the trainer builds
// every loss through nn::lm_loss, and docs/reference.md is generated from the config's table.
// In the library, the same code is a file pair nn/loss/poly1.{h,cpp} whose entry function is
// one line of the list in nn/loss/registry.cpp:loss_registry (a registration constant in a
// file of a static library would be dropped by the linker with its unreferenced object file).
//
// This program is built and run by ctest (example_new_loss_poly1): it gradchecks the loss in
// float64 (with an ignored target), checks eps = 0 against the registered "ce" and a value
// against a hand computation, then trains through the command line with `loss = poly1`. Given
// arguments, it is `tlm` with the loss registered (train/cli/cli.h).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "autograd/gradcheck.h"
#include "nn/loss/registry.h"
#include "train/cli/cli.h"
#include "train/io/config.h"

namespace tlm {

// logits [N,V], targets [N] int32 (ignore_index drops a row); mean over the kept rows. Composed
// from ops, so autograd derives the backward: there is no Node to write.
Tensor poly1_loss(const Tensor& logits, const Tensor& targets, double eps,
                  int32_t ignore_index = nn::kIgnoreIndex) {
  nn::detail::check_class_targets("poly1_loss", logits, targets, ignore_index);
  Tensor logp_t = nn::detail::target_log_prob(logits, nn::detail::safe_targets(targets, ignore_index));  // [N]
  Tensor per_row = add(neg(logp_t), mul(rsub(exp(logp_t), 1.0), eps));  // [N]
  return nn::detail::masked_mean(per_row, nn::detail::valid_mask(targets, ignore_index, logits.dtype()));
}

// The registry entry: the function with the registry's signature reads its key by name.
Tensor poly1_entry(const Tensor& z, const Tensor& y, const nn::LossOptions& o) {
  return poly1_loss(z, y, o.keys.number("poly1_eps"), o.ignore_index);
}

nn::LossType poly1_loss_type() {
  return {"poly1", "Poly-1: cross-entropy + eps (1 - p_t) (arXiv:2204.12511)",
          {nn::EntryKey::number("poly1_eps", "1.0",
                                "loss = poly1: eps of -log p_t + eps (1 - p_t) (arXiv:2204.12511)",
                                nn::KeyRange::at_least(-1))},
          &poly1_entry};
}

// The one line that makes it selectable (this file is a program's own, so it is always linked).
static const nn::RegisterLoss kPoly1(poly1_loss_type());

}  // namespace tlm

namespace {

bool check(bool ok, const std::string& what) {
  fmt::print("{}: {}\n", what, ok ? "ok" : "FAILED");
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tlm;
  if (argc > 1) return cli::run(argc, argv);  // `tlm` with the loss registered
  bool ok = true;
  Rng rng(3);
  const int64_t N = 6, V = 5;
  const Tensor targets = Tensor::from_vector(std::vector<int32_t>{0, 3, nn::kIgnoreIndex, 1, 4, 2}, {N});

  // 1. The gradient, against central differences in float64 (eps = 2, one row ignored).
  nn::LossOptions o;
  o.keys.set("poly1_eps", 2.0);
  GradcheckResult r = gradcheck(
      [&](const std::vector<Tensor>& in) { return nn::lm_loss("poly1", in[0], targets, o); },
      {Tensor::randn({N, V}, rng, 1.0, DType::F64)});
  ok = check(r.ok, fmt::format("poly1 gradcheck (max abs error {:.2e})", r.max_abs_error)) && ok;

  // 2. Values: eps = 0 is the registered "ce"; eps = 2 against the formula by hand.
  const Tensor z = Tensor::randn({N, V}, rng, 1.0, DType::F64);
  nn::LossOptions zero;
  zero.keys.set("poly1_eps", 0.0);
  const double a = nn::lm_loss("poly1", z, targets, zero).item(), b = nn::lm_loss("ce", z, targets).item();
  ok = check(std::abs(a - b) < 1e-12, fmt::format("poly1(eps=0) = {:.12f} = ce {:.12f}", a, b)) && ok;
  const std::vector<double> zv = z.to_vector<double>();
  const std::vector<int32_t> tv = targets.to_vector<int32_t>();
  double want = 0;
  int kept = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (tv[i] == nn::kIgnoreIndex) continue;
    double denom = 0;
    for (int64_t j = 0; j < V; ++j) denom += std::exp(zv[i * V + j]);
    const double p = std::exp(zv[i * V + tv[i]]) / denom;
    want += -std::log(p) + 2.0 * (1 - p);
    ++kept;
  }
  want /= kept;
  const double got = nn::lm_loss("poly1", z, targets, o).item();
  ok = check(std::abs(got - want) < 1e-12, fmt::format("poly1(eps=2) = {:.12f}, by hand {:.12f}", got, want)) && ok;

  // 3. The config knows it without naming it: `loss` lists poly1, and poly1_eps is a key with
  // the entry's type, default and range (out of range is refused naming the key).
  const train::ConfigKey* loss = train::find_config_key("loss");
  const train::ConfigKey* key = train::find_config_key("poly1_eps");
  ok = check(loss && std::find(loss->choices.begin(), loss->choices.end(), "poly1") != loss->choices.end() &&
                 key && key->type_name() == "float" && key->default_value == "1.0" && key->group == "loss",
             "the config's loss choices and key table include poly1 and poly1_eps") && ok;
  bool refused = false;
  try {
    train::TrainConfig c;
    c.apply_overrides({"loss=poly1", "poly1_eps=-2"});
  } catch (const Error& e) {
    refused = std::string(e.what()).find("poly1_eps = '-2' is out of range") != std::string::npos;
  }
  ok = check(refused, "poly1_eps = -2 refused with its range") && ok;

  // 4. Through the command line: 30 steps of `tlm train --set loss=poly1 --set poly1_eps=2`
  // lower the loss; and the key reaches the loss: at step 0 (same seed, so the same weights and
  // batch) eps = 2 exceeds eps = 0 by 2 mean(1 - p_t), close to 2 (1 - 1/V) at a near-uniform
  // start, between 1.5 and 2 for any vocabulary of 8 or more.
  auto train = [&](const std::string& eps, int iters) {
    const std::string out = "example_new_loss_poly1_out";
    std::filesystem::remove_all(out);
    std::vector<std::string> args = {
        argv[0], "train", "--set", "loss=poly1", "--set", "poly1_eps=" + eps, "--set", "n_layer=1",
        "--set", "n_head=2", "--set", "n_embd=32", "--set", "block_size=32", "--set", "batch_size=4",
        "--set", "max_iters=" + std::to_string(iters), "--set", "warmup_iters=0",
        "--set", "learning_rate=3e-3", "--set", "eval_interval=0", "--set", "eval_iters=2",
        "--set", "log_interval=1", "--set", "out_dir=" + out};
    std::vector<char*> cargs;
    for (auto& s : args) cargs.push_back(s.data());
    const int rc = cli::run(static_cast<int>(cargs.size()), cargs.data());
    ok = check(rc == 0, "tlm train --set loss=poly1 --set poly1_eps=" + eps + " ...") && ok;
    std::vector<double> losses;
    std::ifstream log(out + "/log.jsonl");
    for (std::string line; std::getline(log, line);) {
      auto j = nlohmann::json::parse(line);
      if (j.value("kind", "") == "step") losses.push_back(j.at("loss").get<double>());
    }
    std::filesystem::remove_all(out);
    return losses;
  };
  const std::vector<double> two = train("2", 30), none = train("0", 1);
  ok = check(two.size() >= 2 && two.back() < two.front() - 0.5,
             fmt::format("training lowers the loss ({:.4f} -> {:.4f})", two.empty() ? NAN : two.front(),
                         two.empty() ? NAN : two.back())) && ok;
  const double gap = two.empty() || none.empty() ? NAN : two.front() - none.front();
  ok = check(gap > 1.5 && gap < 2.0, fmt::format("step-0 loss with eps = 2 minus eps = 0: {:.4f}", gap)) && ok;
  fmt::print("{}\n", ok ? "all ok" : "FAILED");
  return ok ? 0 : 1;
}
