#include "train/model/loaded_model.h"

#include <map>

#include "tensor/error.h"

namespace tlm::train {

Tensor LoadedModel::forward(const Tensor& ids, Rng& rng) {
  return side ? side->forward(ids, rng) : model->forward(ids, rng);
}

Tensor LoadedModel::generate(const Tensor& prompt, int64_t max_new_tokens, double temperature,
                             int64_t top_k, double top_p, Rng& rng) {
  return side ? side->generate(prompt, max_new_tokens, temperature, top_k, top_p, rng)
              : model->generate(prompt, max_new_tokens, temperature, top_k, top_p, rng);
}

LoadedModel load_trained_model(const Checkpoint& ck, const std::string& path) {
  TLM_CHECK(ck.meta.contains("config") && ck.meta.contains("tokenizer") && ck.meta.contains("step"),
            "checkpoint {}: not a tlm training checkpoint (no config, tokenizer or step)", path);
  LoadedModel m;
  m.config = TrainConfig::from_json(ck.meta.at("config"), path);
  TLM_CHECK(m.config.tune_method == TuneMethod::None,
            "checkpoint {}: a fine-tuned checkpoint (tune_method = {}); load it with load_model",
            path, nn::name_of(m.config.tune_method));
  m.tokenizer = load_tokenizer(ck.meta.at("tokenizer"));
  m.step = ck.meta.at("step").get<int64_t>();
  Rng init(0);
  m.model = std::make_unique<nn::GPT>(gpt_config(m.config, m.tokenizer->vocab_size()), init);
  std::map<std::string, Tensor> state;
  for (auto& [name, t] : ck.tensors)
    if (name.rfind("model.", 0) == 0) state[name.substr(6)] = t;
  m.model->load_state_dict(state);
  m.model->eval();
  return m;
}

LoadedModel load_trained_model(const std::string& path) {
  // The model's tensors only (not the optimizer state a training checkpoint also holds).
  const Checkpoint ck = load_checkpoint(path, [](std::string_view name) { return name.starts_with("model."); });
  try {
    return load_trained_model(ck, path);
  } catch (const nlohmann::json::exception& e) {
    // A checkpoint can pass its CRC and still hold metadata of the wrong JSON types (edited by
    // hand, written by another program): an error that names the file, like every refusal.
    TLM_FAIL("checkpoint {}: metadata has the wrong shape ({}); was it written by tlm train?", path,
             e.what());
  }
}

}  // namespace tlm::train
