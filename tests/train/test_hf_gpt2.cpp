#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>

#include "autograd/ops.h"
#include "tensor/half.h"
#include "tests/common/expect_error.h"
#include "tests/train/gpt2_files.h"
#include "tests/train/test_util.h"
#include "train/data/char_tokenizer.h"
#include "train/io/checkpoint.h"
#include "train/sys/file_io.h"
#include "train/hf/hf_gpt2.h"
#include "train/io/safetensors.h"
#include "train/run/trainer.h"
#include "train/tune/tune.h"

namespace tlm::train {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const std::string kFixture = TLM_SOURCE_DIR "/tests/reference/golden/gpt2_tiny";
const std::string kReference = TLM_SOURCE_DIR "/tests/reference/gpt2_hf_reference.py";

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data<float>(), cb.data<float>(), static_cast<size_t>(a.numel()) * dtype_size(a.dtype())) == 0;
}

// ---- safetensors ----

// A hand-built file: u64 length, the header text, `data` bytes.
std::string st_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

TEST(Safetensors, WriteReadRoundTripAllFloatTypes) {
  TempDir dir;
  Rng rng(3);
  Tensor a = Tensor::randn({3, 5}, rng);
  Tensor b = Tensor::randn({7}, rng).to(DType::F16);
  Tensor c = Tensor::randn({2, 2, 2}, rng).to(DType::BF16);
  Tensor empty = Tensor::zeros({0, 4});
  save_safetensors(dir / "m.safetensors",
                   {{"a", a}, {"b.half", b}, {"c", transpose(c, 0, 2)}, {"e", empty}},
                   {{"format", "pt"}});
  const SafetensorsFile f = SafetensorsFile::open(dir / "m.safetensors");
  ASSERT_EQ(f.entries().size(), 4u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.entry("b.half").dtype, "F16");
  EXPECT_EQ(f.entry("c").dtype, "BF16");
  EXPECT_TRUE(same_bits(f.get_f32("a"), a));
  EXPECT_TRUE(same_bits(f.get_f32("b.half"), b.to(DType::F32)));
  EXPECT_TRUE(same_bits(f.get_f32("c"), transpose(c, 0, 2).to(DType::F32).contiguous()));
  EXPECT_EQ(f.get_f32("e").shape(), (Shape{0, 4}));
  // The data buffer starts 8-byte aligned, as the reference writer pads it.
  const std::string bytes = read_file(dir / "m.safetensors", "test");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(encode_safetensors({{"a", a}}), encode_safetensors({{"a", a}}));
  EXPECT_TLM_ERROR(f.get_f32("nope"), "has no tensor 'nope'");
}

TEST(Safetensors, RefusesEveryMalformedCaseNamingTheTensor) {
  const std::string ok_entry = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string eight(8, '\1');
  auto refuse = [](const std::string& bytes, const char* needle) {
    EXPECT_TLM_ERROR(SafetensorsFile::parse(bytes, "t.safetensors"), needle);
  };
  EXPECT_NO_THROW(SafetensorsFile::parse(st_file("{" + ok_entry + "}", eight), "ok"));
  refuse("1234", "truncated: 4 bytes");
  std::string huge(8, '\0');
  const uint64_t big = kSafetensorsMaxHeader + 1;
  std::memcpy(huge.data(), &big, 8);
  refuse(huge, "over the 100000000 byte limit");
  refuse(st_file("{" + ok_entry + "}", eight).substr(0, 20), "truncated: the header needs");
  refuse(st_file("{\"w\":", ""), "not valid JSON");
  refuse(st_file("[1,2]", ""), "not a JSON object");
  refuse(st_file("{" + ok_entry + "," + ok_entry + "}", eight), "tensor 'w' appears twice");
  refuse(st_file(R"({"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", eight), "tensor 'w' has unknown dtype 'Q7'");
  refuse(st_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight), "tensor 'w' has shape [-2]");
  refuse(st_file(R"({"w":{"dtype":"F32","shape":[2]}})", eight), "tensor 'w' has no 'data_offsets'");
  refuse(st_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight), "tensor 'w' F32 [3] needs 12 bytes");
  refuse(st_file(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight), "tensor 'w' has data_offsets [0, 16] outside the 8-byte");
  refuse(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight), "begin after end");
  refuse(st_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", eight), "needs more than 2^62 bytes");
  refuse(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight), "tensor 'b' [4, 8] overlaps tensor 'a'");
  refuse(st_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight), "tensor 'w' starts at byte 4");
  refuse(st_file("{" + ok_entry + "}", eight + "xx"), "2 bytes after the last tensor ('w')");
  refuse(st_file(R"({"__metadata__":{"k":1}})", ""), "__metadata__ 'k' is not a string");
  const SafetensorsFile f = SafetensorsFile::parse(st_file(R"({"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", eight), "t");
  EXPECT_TLM_ERROR(f.get_f32("i"), "tensor 'i' is I64");
  EXPECT_TLM_ERROR(SafetensorsFile::open("/nonexistent/x.safetensors"), "cannot open '/nonexistent/x.safetensors'");
}

// ---- import / export against the PyTorch reference ----

// A Hugging Face directory from the committed fixture (gpt2_hf_reference.py) and GPT-2's
// tokenizer files; "" when the tokenizer files are not installed.
std::string hf_dir(const TempDir& tmp, const std::string& name) {
  const std::string vocab = testing::gpt2_vocab_dir();
  if (vocab.empty()) return "";
  const fs::path d = tmp.path() / name;
  fs::create_directories(d);
  fs::copy_file(kFixture + "/config.json", d / "config.json");
  fs::copy_file(kFixture + "/model.safetensors", d / "model.safetensors");
  fs::copy_file(vocab + "/encoder.json", d / "vocab.json");
  fs::copy_file(vocab + "/vocab.bpe", d / "merges.txt");
  return d.string();
}

// tlm's logits on the golden ids against a golden JSON (columns + logsumexp), to `tol`.
// T > 0: only the first T positions (causal: their logits do not depend on later ids).
void expect_logits_match(const std::string& ckpt, const nlohmann::json& golden, double tol,
                         int64_t T = 0) {
  LoadedModel m = load_model(ckpt);
  const auto ids2 = golden.at("ids").get<std::vector<std::vector<int32_t>>>();
  const int64_t B = static_cast<int64_t>(ids2.size());
  if (T == 0) T = static_cast<int64_t>(ids2[0].size());
  std::vector<int32_t> flat;
  for (const auto& r : ids2) flat.insert(flat.end(), r.begin(), r.begin() + T);
  Rng rng(0);
  NoGradGuard no_grad;
  const Tensor logits = m.forward(Tensor::from_vector(flat, {B, T}), rng);  // [B,T,V]
  const int64_t V = logits.shape()[2];
  ASSERT_EQ(V, 50257);
  const std::vector<float> l = logits.contiguous().to_vector<float>();
  const auto cols = golden.at("cols").get<std::vector<int64_t>>();
  double worst = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const float* row = l.data() + (b * T + t) * V;
      for (size_t j = 0; j < cols.size(); ++j) {
        const double want = golden.at("logits")[b][t][j].get<double>();
        EXPECT_NEAR(row[cols[j]], want, tol) << "b " << b << " t " << t << " col " << cols[j];
        worst = std::max(worst, std::abs(row[cols[j]] - want));
      }
      double mx = -INFINITY, s = 0;
      for (int64_t v = 0; v < V; ++v) mx = std::max(mx, static_cast<double>(row[v]));
      for (int64_t v = 0; v < V; ++v) s += std::exp(row[v] - mx);
      EXPECT_NEAR(mx + std::log(s), golden.at("logsumexp")[b][t].get<double>(), tol);
    }
  std::printf("largest logit difference to PyTorch (float64): %.3g\n", worst);
}

nlohmann::json fixture_golden() {
  return nlohmann::json::parse(read_file(kFixture + "/golden.json", "test"));
}

TEST(HfGpt2, ImportMatchesTorchLogitsPublishedLayout) {
  TempDir tmp;
  const std::string dir = hf_dir(tmp, "gpt2");
  if (dir.empty()) GTEST_SKIP() << testing::kGpt2Missing;
  Checkpoint ck = import_hf_gpt2(dir);
  EXPECT_EQ(ck.meta.at("imported_from").at("layout"), "h.N");
  const TrainConfig cfg = TrainConfig::from_json(ck.meta.at("config"));
  EXPECT_EQ(cfg.ffn, nn::Ffn::GeluTanh);
  EXPECT_TRUE(cfg.tie_weights);
  EXPECT_EQ(cfg.tokenizer, "gpt2");
  EXPECT_FALSE(ck.has("model.lm_head.weight"));
  // Conv1D [in, out] became tlm's [out, in].
  const SafetensorsFile st = SafetensorsFile::open(dir + "/model.safetensors");
  EXPECT_TRUE(same_bits(ck.get("model.h.1.mlp.c_fc.weight"),
                        transpose(st.get_f32("h.1.mlp.c_fc.weight"), 0, 1).contiguous()));
  save_checkpoint(tmp / "gpt2.bin", ck);
  expect_logits_match(tmp / "gpt2.bin", fixture_golden(), 1e-5);
  // Fewer positions: the same logits on the contexts that fit.
  Checkpoint short_ck = import_hf_gpt2(dir, 8);
  EXPECT_EQ(short_ck.get("model.wpe.weight").shape(), (Shape{8, 8}));
  save_checkpoint(tmp / "short.bin", short_ck);
  expect_logits_match(tmp / "short.bin", fixture_golden(), 1e-5, 8);
  EXPECT_TLM_ERROR(import_hf_gpt2(dir, 17), "block_size = 17 is not in [1, n_positions = 16]");
}

TEST(HfGpt2, ImportMatchesTorchLogitsSavePretrainedLayout) {
  TempDir tmp;
  const std::string dir = hf_dir(tmp, "gpt2");
  if (dir.empty()) GTEST_SKIP() << testing::kGpt2Missing;
  // The same weights as save_pretrained writes them: "transformer." names, lm_head.weight (a
  // copy of wte: tied), the dtypes kept.
  const SafetensorsFile st = SafetensorsFile::open(dir + "/model.safetensors");
  std::vector<std::pair<std::string, Tensor>> renamed;
  for (const auto& e : st.entries()) {
    const DType d = e.dtype == "F16" ? DType::F16 : e.dtype == "BF16" ? DType::BF16 : DType::F32;
    renamed.emplace_back("transformer." + e.name, st.get_f32(e.name).to(d));
  }
  renamed.emplace_back("lm_head.weight", st.get_f32("wte.weight").to(DType::F16));
  save_safetensors(dir + "/model.safetensors", renamed);
  Checkpoint ck = import_hf_gpt2(dir);
  EXPECT_EQ(ck.meta.at("imported_from").at("layout"), "transformer.h.N");
  EXPECT_TRUE(TrainConfig::from_json(ck.meta.at("config")).tie_weights);
  save_checkpoint(tmp / "gpt2.bin", ck);
  expect_logits_match(tmp / "gpt2.bin", fixture_golden(), 1e-5);
  // Both layouts give the same tensors.
  const Checkpoint first = import_hf_gpt2(hf_dir(tmp, "again"));
  ASSERT_EQ(first.tensors.size(), ck.tensors.size());
  for (size_t i = 0; i < ck.tensors.size(); ++i) {
    EXPECT_EQ(first.tensors[i].first, ck.tensors[i].first);
    EXPECT_TRUE(same_bits(first.tensors[i].second, ck.tensors[i].second)) << ck.tensors[i].first;
  }
}

TEST(HfGpt2, ExportImportRoundTripIsBitExactAndTorchReadsTheExport) {
  TempDir tmp;
  const std::string dir = hf_dir(tmp, "gpt2");
  if (dir.empty()) GTEST_SKIP() << testing::kGpt2Missing;
  const Checkpoint ck = import_hf_gpt2(dir);
  save_checkpoint(tmp / "a.bin", ck);
  const std::string note = export_hf_gpt2(tmp / "a.bin", tmp / "export");
  EXPECT_NE(note.find("vocab.json + merges.txt"), std::string::npos) << note;
  const Checkpoint back = import_hf_gpt2(tmp / "export");
  EXPECT_EQ(back.meta.at("imported_from").at("layout"), "transformer.h.N");
  EXPECT_EQ(back.meta.at("tokenizer"), ck.meta.at("tokenizer"));
  nlohmann::json c1 = ck.meta.at("config"), c2 = back.meta.at("config");
  c1.erase("tokenizer_dir"), c2.erase("tokenizer_dir");
  EXPECT_EQ(c1, c2);
  ASSERT_EQ(back.tensors.size(), ck.tensors.size());
  for (size_t i = 0; i < ck.tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].first, ck.tensors[i].first);
    EXPECT_TRUE(same_bits(back.tensors[i].second, ck.tensors[i].second)) << ck.tensors[i].first;
  }
  // PyTorch (our reference model) reads the export and gives tlm's logits.
  if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3-torch is not installed: the PyTorch check of the export is skipped";
  bool ok = false;
  const std::string out = testing::run_command("/usr/bin/python3 " + kReference + " --logits '" + (tmp / "export") + "'", ok);
  ASSERT_TRUE(ok) << out;
  expect_logits_match(tmp / "a.bin", nlohmann::json::parse(out), 1e-5);
}

// tlm tune full | lora | lst on an imported GPT-2, with its tokenizer; the tuned checkpoint
// samples (KV cache) like any other.
TEST(HfGpt2, ImportedModelTunesWithEachMethodAndSamples) {
  TempDir tmp;
  const std::string dir = hf_dir(tmp, "gpt2");
  if (dir.empty()) GTEST_SKIP() << testing::kGpt2Missing;
  save_checkpoint(tmp / "gpt2.bin", import_hf_gpt2(dir));
  write_file_atomic(tmp / "text.txt", read_file(TLM_SOURCE_DIR "/data/tinyshakespeare.txt", "test").substr(0, 20000), "test");
  for (const std::string method : {"full", "lora", "lst"}) {
    SCOPED_TRACE(method);
    TrainConfig cfg = tune_config(tmp / "gpt2.bin", method, tmp / "text.txt",
                                  {"max_iters=6", "eval_interval=6", "eval_iters=2", "batch_size=4",
                                   "learning_rate=3e-3", "lst_reduction=2", "lst_fisher_samples=2",
                                   "log_interval=100", "out_dir=" + (tmp / ("tune-" + method))});
    Trainer t(cfg, false);
    EXPECT_EQ(t.tokenizer().name(), "gpt2");
    const EvalResult before = t.evaluate(0);
    const TrainSummary s = t.run(nullptr);
    EXPECT_LT(s.val_loss, before.val_loss);
    LoadedModel m = load_model(t.checkpoint_path());
    Rng rng(5);
    const std::vector<int32_t> prompt = m.tokenizer->encode("ROMEO:");
    const Tensor out = m.generate(Tensor::from_vector(prompt, {1, static_cast<int64_t>(prompt.size())}),
                                  5, 0.8, 0, 1.0, rng);
    EXPECT_EQ(out.shape()[1], static_cast<int64_t>(prompt.size()) + 5);
    EXPECT_EQ(m.tokenizer->decode(out.to_vector<int32_t>()).substr(0, 6), "ROMEO:");
    // A full fine-tune exports as GPT-2 (the tuned weights, bit for bit); adapters do not.
    const std::string hf = tmp / ("hf-" + method);
    if (method == "full") {
      export_hf_gpt2(t.checkpoint_path(), hf);
      const Checkpoint back = import_hf_gpt2(hf);
      const auto state = m.model->state_dict();
      for (const auto& [name, tensor] : back.tensors)
        EXPECT_TRUE(same_bits(tensor, state.at(name.substr(6)))) << name;
    } else {
      EXPECT_TLM_ERROR(export_hf_gpt2(t.checkpoint_path(), hf), "tune_method = " + method);
    }
  }
}

// A small checkpoint of a tlm model with a char tokenizer and `sets` applied.
std::string tlm_checkpoint(const TempDir& tmp, const std::vector<std::string>& sets) {
  TrainConfig cfg;
  cfg.apply_overrides({"n_layer=1", "n_embd=16", "n_head=2", "block_size=8"});
  cfg.apply_overrides(sets);
  auto tok = make_tokenizer("char", "abcdefgh \n", {});
  Rng rng(1);
  nn::GPT model(gpt_config(cfg, tok->vocab_size()), rng);
  Checkpoint ck;
  ck.meta["format"] = "tlm-train";
  ck.meta["config"] = cfg.to_json();
  ck.meta["tokenizer"] = tok->to_json();
  ck.meta["step"] = 0;
  for (auto& [name, t] : model.named_parameters()) ck.add("model." + name, t);
  const std::string path = tmp / "tlm.bin";
  save_checkpoint(path, ck);
  return path;
}

TEST(HfGpt2, ExportRefusesWhatGpt2CannotExpressNamingTheKey) {
  TempDir tmp;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"pos=rope", "pos = rope"}, {"norm=post", "norm = post"}, {"norm_type=rmsnorm", "norm_type = rmsnorm"},
      {"ffn=swiglu", "ffn = swiglu"}, {"bias=false", "bias = false"}, {"attn=relu2", "attn = relu2"},
      {"window=4", "window = 4"}};
  for (const auto& [set, needle] : cases) {
    SCOPED_TRACE(set);
    EXPECT_TLM_ERROR(export_hf_gpt2(tlm_checkpoint(tmp, {set}), tmp / "out"), needle);
  }
}

TEST(HfGpt2, ExportOfAnUntiedCharModelWritesTlmsTokenizer) {
  TempDir tmp;
  const std::string ckpt = tlm_checkpoint(tmp, {"ffn=gelu_tanh", "tie_weights=false"});
  const std::string note = export_hf_gpt2(ckpt, tmp / "hf");
  EXPECT_NE(note.find("tlm_tokenizer.json"), std::string::npos) << note;
  EXPECT_TRUE(fs::exists(tmp / "hf/tlm_tokenizer.json"));
  const SafetensorsFile st = SafetensorsFile::open(tmp / "hf/model.safetensors");
  EXPECT_TRUE(st.has("lm_head.weight"));  // untied: its own head
  EXPECT_TRUE(st.has("transformer.h.0.attn.c_attn.weight"));
  EXPECT_EQ(st.entry("transformer.h.0.mlp.c_fc.weight").shape, (Shape{16, 64}));  // [in, out]
  const auto config = nlohmann::json::parse(read_file(tmp / "hf/config.json", "test"));
  EXPECT_EQ(config.at("activation_function"), "gelu_new");
  EXPECT_EQ(config.at("tie_word_embeddings"), false);
}

TEST(HfGpt2, ImportRefusesMalformedDirectories) {
  TempDir tmp;
  const std::string dir = hf_dir(tmp, "gpt2");
  if (dir.empty()) GTEST_SKIP() << testing::kGpt2Missing;
  const std::string config = read_file(dir + "/config.json", "test");
  auto with_config = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json c = nlohmann::json::parse(config);
    edit(c);
    write_file_atomic(dir + "/config.json", c.dump(), "test");
  };
  with_config([](nlohmann::json& c) { c["activation_function"] = "relu"; });
  EXPECT_TLM_ERROR(import_hf_gpt2(dir), "activation_function = 'relu' is not supported");
  with_config([](nlohmann::json& c) { c["vocab_size"] = 50000; });
  EXPECT_TLM_ERROR(import_hf_gpt2(dir), "vocab_size = 50000");
  with_config([](nlohmann::json& c) { c["n_layer"] = 1; });
  EXPECT_TLM_ERROR(import_hf_gpt2(dir), "tensor 'h.1.");
  EXPECT_TLM_ERROR(import_hf_gpt2(dir), "is not part of GPT-2 with n_layer = 1");
  with_config([](nlohmann::json& c) { c["n_layer"] = 3; });
  EXPECT_TLM_ERROR(import_hf_gpt2(dir), "has no tensor 'h.2.ln_1.weight'");
  with_config([](nlohmann::json& c) { c["n_embd"] = 16; });
  EXPECT_TLM_ERROR(import_hf_gpt2(dir), "'wte.weight' has shape [50257,8] (in tlm's [out, in] layout), but config.json implies [50257,16]");
  with_config([](nlohmann::json& c) { c.erase("n_head"); });
  EXPECT_TLM_ERROR(import_hf_gpt2(dir), "lacks 'n_head'");
  with_config([](nlohmann::json&) {});
  fs::remove(dir + "/merges.txt");
  EXPECT_TLM_ERROR(import_hf_gpt2(dir), "merges.txt");
}

}  // namespace
}  // namespace tlm::train
