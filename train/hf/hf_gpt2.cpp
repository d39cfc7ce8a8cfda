#include "train/hf/hf_gpt2.h"

#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "tensor/error.h"
#include "tensor/view.h"
#include "train/data/gpt2_tokenizer.h"
#include "train/io/config.h"
#include "train/sys/file_io.h"
#include "train/io/safetensors.h"
#include "train/run/trainer.h"

namespace tlm::train {

namespace fs = std::filesystem;

namespace {

// One GPT-2 parameter: its tlm name (nanoGPT's), its Hugging Face name without the
// "transformer." prefix, and whether HF stores it as a Conv1D weight [in, out].
struct ParamName {
  std::string tlm, hf;
  bool conv1d;
};

std::vector<ParamName> gpt2_names(int64_t n_layer) {
  std::vector<ParamName> names = {{"wte.weight", "wte.weight", false},
                                  {"wpe.weight", "wpe.weight", false}};
  for (int64_t i = 0; i < n_layer; ++i) {
    const std::string h = fmt::format("h.{}.", i);
    for (const char* ln : {"ln_1", "ln_2"})
      for (const char* p : {".weight", ".bias"}) names.push_back({h + ln + p, h + ln + p, false});
    for (const char* lin : {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"}) {
      names.push_back({h + lin + ".weight", h + lin + ".weight", true});
      names.push_back({h + lin + ".bias", h + lin + ".bias", false});
    }
  }
  names.push_back({"ln_f.weight", "ln_f.weight", false});
  names.push_back({"ln_f.bias", "ln_f.bias", false});
  return names;
}

Tensor transposed(const Tensor& t) { return transpose(t, 0, 1).contiguous(); }

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data<float>(), cb.data<float>(), static_cast<size_t>(a.numel()) * 4) == 0;
}

int64_t config_int(const nlohmann::json& c, const std::string& path, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    const auto it = c.find(k);
    if (it != c.end() && !it->is_null()) {
      TLM_CHECK(it->is_number_integer() && it->get<int64_t>() > 0,
                "import: {}: '{}' = {} is not a positive integer", path, k, it->dump());
      return it->get<int64_t>();
    }
  }
  TLM_FAIL("import: {} lacks '{}'", path, *keys.begin());
}

nn::Ffn activation_to_ffn(const std::string& act, const std::string& path) {
  // transformers' ACT2FN: gelu_new / gelu_pytorch_tanh are the tanh form, gelu is erf.
  if (act == "gelu_new" || act == "gelu_pytorch_tanh") return nn::Ffn::GeluTanh;
  if (act == "gelu") return nn::Ffn::Gelu;
  TLM_FAIL("import: {}: activation_function = '{}' is not supported (allowed: gelu_new, "
           "gelu_pytorch_tanh, gelu)", path, act);
}

}  // namespace

Checkpoint import_hf_gpt2(const std::string& dir, int64_t block_size) {
  const std::string config_path = (fs::path(dir) / "config.json").string();
  nlohmann::json c;
  try {
    c = nlohmann::json::parse(read_file(config_path, "import"));
  } catch (const nlohmann::json::exception& e) {
    TLM_FAIL("import: {} is not valid JSON: {}", config_path, e.what());
  }
  TLM_CHECK(c.is_object(), "import: {} is not a JSON object", config_path);
  const std::string model_type = c.value("model_type", std::string("gpt2"));
  TLM_CHECK(model_type == "gpt2", "import: {}: model_type = '{}'; only gpt2 is supported",
            config_path, model_type);
  auto flag = [&](const char* key, bool fallback) {
    const auto it = c.find(key);
    if (it == c.end() || it->is_null()) return fallback;
    TLM_CHECK(it->is_boolean(), "import: {}: '{}' is not a boolean", config_path, key);
    return it->get<bool>();
  };
  TLM_CHECK(flag("scale_attn_weights", true), "import: {}: scale_attn_weights = false (no "
            "1/sqrt(head size) scale) is not supported", config_path);
  TLM_CHECK(!flag("scale_attn_by_inverse_layer_idx", false), "import: {}: "
            "scale_attn_by_inverse_layer_idx = true is not supported", config_path);
  TLM_CHECK(!flag("add_cross_attention", false), "import: {}: add_cross_attention = true is not "
            "supported", config_path);

  TrainConfig cfg;
  cfg.n_layer = config_int(c, config_path, {"n_layer"});
  cfg.n_head = config_int(c, config_path, {"n_head"});
  cfg.n_embd = config_int(c, config_path, {"n_embd"});
  cfg.block_size = config_int(c, config_path, {"n_positions", "n_ctx"});
  const int64_t n_positions = cfg.block_size;
  TLM_CHECK(block_size >= 0 && block_size <= n_positions, "import: block_size = {} is not in "
            "[1, n_positions = {}] (0: all)", block_size, n_positions);
  if (block_size > 0) cfg.block_size = block_size;
  const int64_t vocab = config_int(c, config_path, {"vocab_size"});
  if (c.contains("n_inner") && !c.at("n_inner").is_null())
    TLM_CHECK(config_int(c, config_path, {"n_inner"}) == 4 * cfg.n_embd, "import: {}: n_inner = {} "
              "is not 4 * n_embd = {} (tlm's GELU MLP is 4C wide)", config_path,
              c.at("n_inner").dump(), 4 * cfg.n_embd);
  const auto eps = c.find("layer_norm_epsilon");
  if (eps != c.end()) {
    TLM_CHECK(eps->is_number() && eps->get<double>() > 0, "import: {}: layer_norm_epsilon = {} is "
              "not a positive number", config_path, eps->dump());
    cfg.entry_values.set("norm_eps", eps->get<double>());
  }
  cfg.ffn = activation_to_ffn(c.value("activation_function", std::string("gelu_new")), config_path);
  cfg.bias = true;
  cfg.norm = nn::NormPlacement::Pre;
  cfg.norm_type = nn::NormType::LayerNorm;
  cfg.pos = nn::Pos::Learned;
  cfg.block = "transformer";
  cfg.dropout = 0.0;
  cfg.tokenizer = "gpt2";
  cfg.entry_values.set("tokenizer_dir", fs::absolute(dir).lexically_normal().string());
  const bool tie_config = flag("tie_word_embeddings", true);

  const Gpt2Tokenizer tok = Gpt2Tokenizer::from_dir(dir);
  TLM_CHECK(tok.vocab_size() == vocab, "import: {}: vocab_size = {}, but {} has {} tokens",
            config_path, vocab, dir, tok.vocab_size());

  const SafetensorsFile st = SafetensorsFile::open((fs::path(dir) / "model.safetensors").string());
  // The name layout: GPT2Model's ("h.0...") or GPT2LMHeadModel's ("transformer.h.0...").
  const std::string prefix = st.has("transformer.wte.weight") ? "transformer." : "";
  TLM_CHECK(st.has(prefix + "wte.weight"), "import: {} has neither 'wte.weight' nor "
            "'transformer.wte.weight'", st.source());
  const auto names = gpt2_names(cfg.n_layer);
  std::set<std::string> used;
  Checkpoint ck;
  const int64_t C = cfg.n_embd;
  for (const auto& n : names) {
    const std::string hf = prefix + n.hf;
    Tensor t = st.get_f32(hf);
    used.insert(hf);
    if (n.tlm == "wpe.weight" && t.dim() == 2 && t.shape()[0] == n_positions && block_size > 0)
      t = narrow(t, 0, 0, block_size).contiguous();  // positions 0 .. block_size-1
    if (n.conv1d) {
      TLM_CHECK(t.dim() == 2, "import: {}: '{}' {} is not a 2-D Conv1D weight [in, out]",
                st.source(), hf, shape_str(t.shape()));
      t = transposed(t);
    }
    ck.add("model." + n.tlm, t);
  }
  // Shapes, checked against the config before the model is built (errors name the tensor).
  auto expect_shape = [&](const std::string& name, const Shape& s) {
    const Tensor& t = ck.get("model." + name);
    TLM_CHECK(t.shape() == s, "import: {}: '{}' has shape {} (in tlm's [out, in] layout), but "
              "config.json implies {}", st.source(), name, shape_str(t.shape()), shape_str(s));
  };
  expect_shape("wte.weight", {vocab, C});
  expect_shape("wpe.weight", {cfg.block_size, C});
  for (int64_t i = 0; i < cfg.n_layer; ++i) {
    const std::string h = fmt::format("h.{}.", i);
    expect_shape(h + "attn.c_attn.weight", {3 * C, C});
    expect_shape(h + "attn.c_attn.bias", {3 * C});
    expect_shape(h + "attn.c_proj.weight", {C, C});
    expect_shape(h + "mlp.c_fc.weight", {4 * C, C});
    expect_shape(h + "mlp.c_fc.bias", {4 * C});
    expect_shape(h + "mlp.c_proj.weight", {C, 4 * C});
    for (const char* p : {"ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias", "attn.c_proj.bias", "mlp.c_proj.bias"})
      expect_shape(h + p, {C});
  }
  expect_shape("ln_f.weight", {C});
  expect_shape("ln_f.bias", {C});
  // The head: absent or a copy of wte -> tied; otherwise its own weight.
  cfg.tie_weights = true;
  if (st.has("lm_head.weight")) {
    Tensor head = st.get_f32("lm_head.weight");
    used.insert("lm_head.weight");
    if (!same_bits(head, ck.get("model.wte.weight"))) {
      TLM_CHECK(head.shape() == Shape({vocab, C}), "import: {}: 'lm_head.weight' has shape {}, "
                "expected {}", st.source(), shape_str(head.shape()), shape_str(Shape{vocab, C}));
      cfg.tie_weights = false;
      ck.add("model.lm_head.weight", head);
    }
  } else {
    TLM_CHECK(tie_config, "import: {}: tie_word_embeddings = false but model.safetensors has no "
              "'lm_head.weight'", config_path);
  }
  // Anything else must be a causal-mask buffer; an unknown tensor means another architecture.
  for (const auto& e : st.entries()) {
    if (used.count(e.name)) continue;
    const bool mask = e.name.ends_with(".attn.bias") || e.name.ends_with(".attn.masked_bias");
    TLM_CHECK(mask, "import: {}: tensor '{}' is not part of GPT-2 with n_layer = {} (another "
              "architecture, or more layers than config.json says?)", st.source(), e.name, cfg.n_layer);
  }
  cfg.validate();
  ck.meta["format"] = "tlm-train";
  ck.meta["config"] = cfg.to_json();
  ck.meta["tokenizer"] = tok.to_json();
  ck.meta["step"] = 0;
  ck.meta["imported_from"] = {{"dir", cfg.text("tokenizer_dir")}, {"layout", prefix.empty() ? "h.N" : "transformer.h.N"}};
  // The model must accept these tensors exactly as they are (names and shapes).
  Rng init(0);
  nn::GPT model(gpt_config(cfg, vocab), init);
  std::map<std::string, Tensor> state;
  for (auto& [name, t] : ck.tensors) state[name.substr(6)] = t;
  model.load_state_dict(state);
  return ck;
}

std::string export_hf_gpt2(const std::string& checkpoint_path, const std::string& dir) {
  LoadedModel m = load_model(checkpoint_path);
  const TrainConfig& c = m.config;
  auto need = [&](const char* key, bool ok, const std::string& value, const char* wanted) {
    TLM_CHECK(ok, "export: {} has {} = {}; GPT-2 needs {} = {}", checkpoint_path, key, value, key,
              wanted);
  };
  need("tune_method", c.tune_method == TuneMethod::None || c.tune_method == TuneMethod::Full, nn::name_of(c.tune_method),
       "none or full (LoRA adapters and LST side networks are not GPT-2 weights)");
  need("block", c.block == "transformer", c.block, "transformer");
  need("norm", c.norm == nn::NormPlacement::Pre, nn::name_of(c.norm), "pre");
  need("norm_type", c.norm_type == nn::NormType::LayerNorm, nn::name_of(c.norm_type), "layernorm");
  need("pos", c.pos == nn::Pos::Learned, nn::name_of(c.pos), "learned");
  need("ffn", c.ffn == nn::Ffn::Gelu || c.ffn == nn::Ffn::GeluTanh, nn::name_of(c.ffn), "gelu_tanh or gelu");
  need("bias", c.bias, "false", "true");
  need("attn", c.attn == nn::AttnKind::Softmax, nn::name_of(c.attn), "softmax");
  need("attn_scale", c.attn_scale == nn::AttnScale::Sqrt, nn::name_of(c.attn_scale), "sqrt");
  need("window", c.window == 0, std::to_string(c.window), "0");
  need("layout", c.layout == nn::Layout::Uniform, nn::name_of(c.layout), "uniform");
  const int64_t vocab = m.tokenizer->vocab_size();

  std::map<std::string, Tensor> state = m.model->state_dict();
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& n : gpt2_names(c.n_layer)) {
    const auto it = state.find(n.tlm);
    TLM_CHECK(it != state.end(), "export: {}: the model has no parameter '{}'", checkpoint_path, n.tlm);
    Tensor t = it->second.to(DType::F32);
    tensors.emplace_back("transformer." + n.hf, n.conv1d ? transposed(t) : t.contiguous());
  }
  if (!c.tie_weights) tensors.emplace_back("lm_head.weight", state.at("lm_head.weight").to(DType::F32).contiguous());

  const auto* gpt2 = dynamic_cast<const Gpt2Tokenizer*>(m.tokenizer.get());
  nlohmann::ordered_json config = {
      {"architectures", {"GPT2LMHeadModel"}},
      {"model_type", "gpt2"},
      {"vocab_size", vocab},
      {"n_positions", c.block_size},
      {"n_ctx", c.block_size},
      {"n_embd", c.n_embd},
      {"n_layer", c.n_layer},
      {"n_head", c.n_head},
      {"n_inner", nullptr},
      {"activation_function", c.ffn == nn::Ffn::GeluTanh ? "gelu_new" : "gelu"},
      {"layer_norm_epsilon", c.number("norm_eps")},
      {"resid_pdrop", c.dropout},
      {"embd_pdrop", c.dropout},
      {"attn_pdrop", c.dropout},
      {"initializer_range", 0.02},
      {"scale_attn_weights", true},
      {"tie_word_embeddings", c.tie_weights},
      {"torch_dtype", "float32"}};
  if (gpt2 && gpt2->eot_id() >= 0) config["bos_token_id"] = config["eos_token_id"] = gpt2->eot_id();

  fs::create_directories(dir);
  const fs::path d(dir);
  save_safetensors((d / "model.safetensors").string(), tensors, {{"format", "pt"}});
  write_file_atomic((d / "config.json").string(), config.dump(2) + "\n", "export");
  std::string note;
  if (gpt2) {
    write_file_atomic((d / "vocab.json").string(), gpt2->vocab_json(), "export");
    write_file_atomic((d / "merges.txt").string(), gpt2->merges_txt(), "export");
    note = "tokenizer: vocab.json + merges.txt (GPT-2's)";
  } else {
    m.tokenizer->save((d / "tlm_tokenizer.json").string());
    note = fmt::format("tokenizer: tlm's own {} tokenizer in tlm_tokenizer.json (Hugging Face "
                       "cannot read it; ids 0..{})", m.tokenizer->name(), vocab - 1);
  }
  return fmt::format("exported {} ({} layers, width {}, vocab {}) to {}: config.json, "
                     "model.safetensors; {}", checkpoint_path, c.n_layer, c.n_embd, vocab, dir, note);
}

}  // namespace tlm::train
