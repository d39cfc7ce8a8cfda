#include "train/tune/tune.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "nn/lora.h"
#include "train/data/char_tokenizer.h"
#include "train/sys/file_io.h"
#include "train/sys/json_util.h"
#include "train/io/model_keys.h"
#include "train/launch/resume_config.h"
#include "train/launch/run_dir.h"

namespace tlm::train {

namespace {

// FNV-1a 64 of a file, read through a mapping whose pages are released as the hash passes
// (a 1.5 GB backbone is hashed without holding it in memory).
std::string fnv1a64_hex_of_file(const MappedFile& file) {
  const std::string_view bytes = file.bytes();
  uint64_t h = 0xcbf29ce484222325ull;
  constexpr size_t kPiece = size_t{64} << 20;
  for (size_t at = 0; at < bytes.size(); at += kPiece) {
    const size_t n = std::min(kPiece, bytes.size() - at);
    for (unsigned char c : bytes.substr(at, n)) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
    file.release(at, n);
  }
  return fmt::format("{:016x}", h);
}

// The symbol at s[i] for the tokenizer: one valid UTF-8 character or one byte.
size_t symbol_at(std::string_view s, size_t i) {
  const size_t n = utf8_sequence_length(s, i);
  return n == 0 ? 1 : n;
}

std::string shown(std::string_view sym) {
  if (sym.size() == 1) {
    const unsigned char c = static_cast<unsigned char>(sym[0]);
    if (c >= 0x20 && c < 0x7F) return fmt::format("'{}'", sym);
    return fmt::format("byte 0x{:02x}", c);
  }
  return fmt::format("'{}'", sym);
}

}  // namespace

nlohmann::json BackboneRef::to_json() const {
  return {{"path", path}, {"bytes", bytes}, {"fnv1a64", fnv1a64}};
}

BackboneRef BackboneRef::from_json(const nlohmann::json& j, const std::string& source) {
  TLM_CHECK(j.is_object() && j.contains("path") && j.at("path").is_string() && j.contains("bytes") &&
                j.at("bytes").is_number_integer() && j.contains("fnv1a64") && j.at("fnv1a64").is_string(),
            "{}: the backbone reference {} lacks path, bytes or fnv1a64", source, j.dump());
  return {j.at("path").get<std::string>(), j.at("bytes").get<int64_t>(), j.at("fnv1a64").get<std::string>()};
}

namespace {
// The backbone's path as a tuned checkpoint records it: absolute, symbolic links resolved.
std::string canonical_backbone_path(const std::string& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::weakly_canonical(std::filesystem::absolute(path), ec);
  if (ec) abs = std::filesystem::absolute(path);
  return abs.string();
}
}  // namespace

BackboneRef backbone_ref(const std::string& path) {
  const std::string abs = canonical_backbone_path(path);
  const MappedFile file(abs, "backbone");
  return {abs, static_cast<int64_t>(file.bytes().size()), fnv1a64_hex_of_file(file)};
}

void check_backbone(const BackboneRef& expected, const std::string& tuned) {
  TLM_CHECK(std::filesystem::exists(expected.path),
            "{}: its backbone checkpoint {} is missing (moved or deleted?); a tuned checkpoint "
            "holds only what was trained and needs the backbone it was tuned from at that path",
            tuned, expected.path);
  const BackboneRef now = backbone_ref(expected.path);
  TLM_CHECK(now.fnv1a64 == expected.fnv1a64 && now.bytes == expected.bytes,
            "{}: its backbone {} has changed since tuning (now {} bytes, hash {}; tuned from {} "
            "bytes, hash {}); the trained weights only make sense on top of the original backbone",
            tuned, expected.path, now.bytes, now.fnv1a64, expected.bytes, expected.fnv1a64);
}

bool is_tuned_config(const nlohmann::json& config) {
  const nn::Choice<TuneMethod>* m = nn::choices<TuneMethod>().find(json_string_or(config, "tune_method", "none"));
  return m == nullptr || m->value != TuneMethod::None;
}

LoadedModel load_backbone(const std::string& path) {
  TLM_CHECK(!path.empty(), "tune: no backbone checkpoint given (backbone / --ckpt)");
  TLM_CHECK(std::filesystem::exists(path), "tune: the backbone checkpoint '{}' does not exist",
            path);
  Checkpoint ck;
  try {
    ck.meta = load_checkpoint_meta(path);
  } catch (const Error& e) {
    TLM_FAIL("tune: cannot use '{}' as the backbone: {}", path, e.what());
  }
  TLM_CHECK(ck.meta.contains("config") && ck.meta.at("config").is_object(),
            "tune: '{}' is not a tlm training checkpoint (no config)", path);
  const std::string method = json_string_or(ck.meta.at("config"), "tune_method", "none");
  TLM_CHECK(!is_tuned_config(ck.meta.at("config")), "tune: '{}' is itself a fine-tuned checkpoint (tune_method = {}); "
            "tune from a checkpoint written by tlm train", path, method);
  try {
    return load_trained_model(path);  // train/model/loaded_model.h
  } catch (const Error& e) {
    TLM_FAIL("tune: cannot use '{}' as the backbone: {}", path, e.what());
  }
}

TrainConfig tune_config(const std::string& backbone_path, const std::string& method,
                        const std::string& data, const std::vector<std::string>& sets) {
  const nn::Choice<TuneMethod>* chosen = nn::choices<TuneMethod>().find(method);
  TLM_CHECK(chosen != nullptr && chosen->value != TuneMethod::None,
            "tune: --method '{}' is not one of lst, lora, full", method);
  TLM_CHECK(std::filesystem::exists(backbone_path), "tune: the backbone checkpoint '{}' does not "
            "exist", backbone_path);
  Checkpoint ck;
  try {
    ck.meta = load_checkpoint_meta(backbone_path);
  } catch (const Error& e) {
    TLM_FAIL("tune: cannot use '{}' as the backbone: {}", backbone_path, e.what());
  }
  TLM_CHECK(ck.meta.contains("config"), "tune: '{}' is not a tlm training checkpoint (no config)",
            backbone_path);
  TrainConfig cfg = TrainConfig::from_json(ck.meta.at("config"), backbone_path);
  cfg.tune_method = chosen->value;
  cfg.backbone = backbone_ref(backbone_path).path;
  cfg.data = data;
  cfg.out_dir = (std::filesystem::path(cfg.backbone).parent_path() / ("tune-" + method)).string();
  cfg.apply_overrides(sets);
  const auto ckpt = std::filesystem::path(cfg.out_dir) / "ckpt.bin";
  std::error_code ec;
  TLM_CHECK(!std::filesystem::equivalent(ckpt, cfg.backbone, ec),
            "tune: out_dir = {} would overwrite the backbone {}; choose another out_dir",
            cfg.out_dir, cfg.backbone);
  return cfg;
}

TrainConfig tune_resume_config(const std::string& backbone_path, const std::string& method,
                               const std::string& data, const std::vector<std::string>& sets) {
  std::string out_dir;
  for (const std::string& a : sets)
    if (a.rfind("out_dir=", 0) == 0) out_dir = a.substr(8);
  if (out_dir.empty()) {
    TLM_CHECK(!backbone_path.empty() && !method.empty(), "tune --resume: which run? Name its "
              "directory (--set out_dir=DIR), or give --ckpt and --method to resume the default "
              "<backbone dir>/tune-<method>");
    out_dir = (std::filesystem::path(canonical_backbone_path(backbone_path)).parent_path() /
               ("tune-" + method)).string();
  }
  prepare_out_dir(out_dir, RunStart::Resume, "tune");  // names a missing out_dir/ckpt.bin
  const std::string ckpt = (std::filesystem::path(out_dir) / "ckpt.bin").string();
  Checkpoint ck;
  ck.meta = load_checkpoint_meta(ckpt);
  TLM_CHECK(ck.meta.contains("config") && ck.meta.at("config").is_object(), "tune --resume: {} "
            "holds no config; was it written by tlm tune?", ckpt);
  TLM_CHECK(is_tuned_config(ck.meta.at("config")), "tune --resume: {} is a tlm train checkpoint (tune_method = "
            "none); resume it with tlm train --resume --set out_dir={}", ckpt, out_dir);
  // --ckpt, --method and --data are keys like the others: equal to the checkpoint's, or refused.
  std::vector<std::string> assignments;
  if (!backbone_path.empty()) assignments.push_back("backbone=" + canonical_backbone_path(backbone_path));
  if (!method.empty()) assignments.push_back("tune_method=" + method);
  if (!data.empty()) assignments.push_back("data=" + data);
  assignments.insert(assignments.end(), sets.begin(), sets.end());
  TrainConfig cfg = resume_config(ck.meta.at("config"), nlohmann::json(), assignments, ckpt);
  cfg.out_dir = out_dir;
  return cfg;
}

void check_matches_backbone(const TrainConfig& backbone, const TrainConfig& tuned,
                            const std::string& backbone_path, const std::string& what) {
  const nlohmann::json a = backbone.to_json(), b = tuned.to_json();
  for (const std::string& key : network_keys())  // train/io/model_keys.h
    TLM_CHECK(a.at(key) == b.at(key), "{}: {} = {}, but the backbone {} has {} = {}; the side "
              "network / adapters / weights must match the backbone's configuration",
              what, key, b.at(key).dump(), backbone_path, key, a.at(key).dump());
}

std::string encodable_text(const std::string& text, const Tokenizer& tok, const TrainConfig& cfg,
                           const std::string& source, int64_t* replaced) {
  // Each distinct symbol is tried once; a byte-level tokenizer (bpe) knows every symbol.
  std::map<std::string, bool> known;
  int64_t unseen = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t n = symbol_at(text, i);
    auto [it, fresh] = known.try_emplace(text.substr(i, n), true);
    if (fresh) {
      try {
        it->second = !tok.encode(it->first).empty();
      } catch (const Error&) {
        it->second = false;
      }
    }
    if (!it->second) ++unseen;
    i += n;
  }
  if (replaced) *replaced = cfg.unseen_chars == UnseenChars::Replace ? unseen : 0;
  if (unseen == 0) return text;
  std::string examples;
  int64_t distinct = 0;
  for (const auto& [sym, ok] : known)
    if (!ok && distinct++ < 12) {
      if (!examples.empty()) examples += ' ';
      examples += shown(sym);
    }
  if (cfg.unseen_chars != UnseenChars::Replace)
    TLM_FAIL("tune: {} has {} characters ({} distinct: {}{}) that the backbone's {} tokenizer "
             "(vocabulary {}) does not have; set unseen_chars = replace to replace each by "
             "unseen_replacement = '{}', or use text in the backbone's vocabulary",
             source, unseen, distinct, examples, distinct > 12 ? " ..." : "", tok.name(),
             tok.vocab_size(), cfg.unseen_replacement);
  std::vector<int32_t> rep;
  try {
    rep = tok.encode(cfg.unseen_replacement);
  } catch (const Error& e) {
    TLM_FAIL("config: unseen_replacement = '{}' is not in the backbone's vocabulary: {}",
             cfg.unseen_replacement, e.what());
  }
  TLM_CHECK(rep.size() == 1, "config: unseen_replacement = '{}' is {} tokens of the backbone's "
            "tokenizer; it must be one", cfg.unseen_replacement, rep.size());
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = symbol_at(text, i);
    const std::string sym = text.substr(i, n);
    out += known.at(sym) ? sym : cfg.unseen_replacement;
    i += n;
  }
  return out;
}

std::unique_ptr<nn::LadderSide> prepare_tuning(nn::GPT& model, const TrainConfig& cfg, Rng& rng,
                                               std::map<std::string, Tensor> importance) {
  if (cfg.tune_method == TuneMethod::Full) {
    model.set_requires_grad(true);
    return nullptr;
  }
  if (cfg.tune_method == TuneMethod::Lora) {
    nn::apply_lora(model, {.rank = cfg.lora_rank, .alpha = cfg.lora_alpha}, rng);
    return nullptr;
  }
  TLM_CHECK(cfg.tune_method == TuneMethod::Lst, "tune: tune_method = '{}' is not one of full, lora, lst",
            nn::name_of(cfg.tune_method));
  return std::make_unique<nn::LadderSide>(
      model,
      nn::LSTOptions{.reduction = cfg.lst_reduction,
                     .gate_temperature = cfg.lst_gate_temperature,
                     .output = cfg.lst_output,
                     .importance = std::move(importance)},
      rng);
}

std::vector<std::pair<std::string, Tensor>> trained_parameters(const nn::GPT& model,
                                                               const nn::LadderSide* side) {
  if (side) return side->named_parameters();
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [name, p] : model.named_parameters())
    if (p.requires_grad()) out.emplace_back(name, p);
  return out;
}

void load_trained(const std::vector<std::pair<std::string, Tensor>>& params,
                  const std::map<std::string, Tensor>& state, const std::string& source) {
  std::set<std::string> names;
  for (const auto& [name, p] : params) {
    names.insert(name);
    auto it = state.find(name);
    TLM_CHECK(it != state.end(), "{}: the trained tensor '{}' is missing (the checkpoint does not "
              "match tune_method / its settings)", source, name);
    TLM_CHECK(it->second.shape() == p.shape(), "{}: tensor '{}' has shape {} in the checkpoint but "
              "{} in the model (the backbone or the tuning settings differ)", source, name,
              shape_str(it->second.shape()), shape_str(p.shape()));
  }
  for (const auto& [name, t] : state)
    TLM_CHECK(names.count(name), "{}: unexpected tensor '{}' (not trained by this method)", source, name);
  NoGradGuard no_grad;
  for (const auto& [name, p] : params) Tensor(p).copy_from(state.at(name));
}

LoadedModel load_tuned(const Checkpoint& ck, const TrainConfig& cfg, const std::string& path) {
  TLM_CHECK(ck.meta.contains("backbone"), "checkpoint {}: tune_method = {} but no backbone "
            "reference", path, nn::name_of(cfg.tune_method));
  const BackboneRef ref = BackboneRef::from_json(ck.meta.at("backbone"), path);
  check_backbone(ref, path);
  LoadedModel bb = load_backbone(ref.path);
  check_matches_backbone(bb.config, cfg, ref.path, fmt::format("checkpoint {}", path));
  TLM_CHECK(ck.meta.at("tokenizer") == bb.tokenizer->to_json(), "checkpoint {}: its tokenizer "
            "differs from the backbone's ({})", path, ref.path);
  LoadedModel m;
  m.config = cfg;
  m.tokenizer = std::move(bb.tokenizer);
  m.step = ck.meta.at("step").get<int64_t>();
  m.model = std::move(bb.model);
  Rng init(0);
  m.side = prepare_tuning(*m.model, cfg, init);
  std::map<std::string, Tensor> state;
  for (auto& [name, t] : ck.tensors)
    if (name.rfind("model.", 0) == 0) state[name.substr(6)] = t;
  load_trained(trained_parameters(*m.model, m.side.get()), state, path);
  m.model->eval();
  if (m.side) m.side->eval();
  return m;
}

}  // namespace tlm::train
