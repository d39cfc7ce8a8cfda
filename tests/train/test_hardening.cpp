// Regression tests for the bugs the fuzz contracts (tests/fuzz/) found: each feeds the committed
// input that triggered it and expects the parser's tlm::Error, not a crash or another exception.
#include <gtest/gtest.h>

#include "tests/train/test_util.h"
#include "train/data/bpe_tokenizer.h"
#include "train/io/checkpoint.h"
#include "train/io/config.h"
#include "train/data/tokenizer.h"

namespace tlm::train {
namespace {

std::string fuzz_input(const std::string& name) {
  const std::string bytes = testing::read_bytes(std::string(TLM_SOURCE_DIR) + "/tests/fuzz/" + name);
  EXPECT_FALSE(bytes.empty()) << "missing committed input tests/fuzz/" << name;
  return bytes;
}

// numel 2^62 float64: numel * 8 bytes wrapped to 0, the byte count 0 matched, and the loader
// asked for 2^65 bytes.
TEST(Hardening, CheckpointElementCountTimesDtypeSizeCannotWrap) {
  EXPECT_TLM_ERROR(decode_checkpoint(fuzz_input("checkpoint/regress_numel_bytes_overflow.bin"), "x"),
                   "corrupted", "tensor 'w' has dimension 4611686018427387904");
}

// A zero dim made numel 0, so huge dims beside it passed, and their strides overflowed int64.
TEST(Hardening, CheckpointHugeDimsBesideAZeroDimAreRefused) {
  EXPECT_TLM_ERROR(decode_checkpoint(fuzz_input("checkpoint/regress_zero_dim_huge_strides.bin"), "x"),
                   "corrupted", "has dimension 1099511627776");
}

// j.value("format", "") threw nlohmann::type_error for a number.
TEST(Hardening, TokenizerFieldsOfTheWrongTypeAreTlmErrors) {
  EXPECT_TLM_ERROR(load_tokenizer_text(fuzz_input("tokenizer/regress_format_not_string.json"), "f"),
                   "not a tlm tokenizer file");
  EXPECT_TLM_ERROR(
      load_tokenizer(nlohmann::json::parse(fuzz_input("tokenizer/regress_pretokenizer_not_string.json"))),
      "unsupported pretokenizer");
  EXPECT_TLM_ERROR(load_tokenizer(nlohmann::json{{"type", "char"}, {"version", 1}, {"symbols", 5}}),
                   "lacks the 'symbols' array");
}

// 45 merges (a,a), (t,t), ... double a token each time: 2^45 bytes from a 600-byte file.
TEST(Hardening, BpeMergesCannotBuildHugeTokens) {
  EXPECT_TLM_ERROR(
      load_tokenizer(nlohmann::json::parse(fuzz_input("tokenizer/regress_bpe_doubling_merges.json"))),
      "makes a token of 131072 bytes (at most 65536 allowed)");
}

// Training respects the same bound, so whatever it learns can be saved and loaded again.
TEST(Hardening, BpeTrainingOnALongRunStaysWithinTheTokenBound) {
  const std::string text(200000, 'a');
  BpeTokenizer tok = BpeTokenizer::train(text, 300);
  size_t longest = 0;
  for (int32_t id = 0; id < tok.vocab_size(); ++id) longest = std::max(longest, tok.token_bytes(id).size());
  EXPECT_EQ(longest, size_t{1} << 16);
  EXPECT_EQ(tok.decode(tok.encode(text)), text);
  auto back = load_tokenizer(tok.to_json());
  EXPECT_EQ(back->encode(text), tok.encode(text));
}

// inf passed ">= 0" / "> 0" ranges; the config then saved as null and its checkpoint did not load.
TEST(Hardening, ConfigNumbersMustBeFinite) {
  TrainConfig cfg;
  EXPECT_TLM_ERROR(cfg.set("rope_base", "inf"), "rope_base = 'inf'", "not a finite number");
  EXPECT_TLM_ERROR(cfg.set("grad_clip", "infinity"), "grad_clip", "not a finite number");
  // The committed fuzz input: "{}", then the override line after "%%".
  const std::string input = fuzz_input("config/regress_set_rope_base_inf.txt");
  const size_t sep = input.find("\n%%\n");
  ASSERT_NE(sep, std::string::npos);
  TrainConfig from_file = TrainConfig::from_text(input.substr(0, sep), "c.json");
  EXPECT_TLM_ERROR(from_file.apply_overrides({input.substr(sep + 4, input.find('\n', sep + 4) - sep - 4)}),
                   "rope_base = 'inf'", "not a finite number");
  EXPECT_TLM_ERROR(TrainConfig::from_text("{\"grad_clip\": 1e999}", "c.json"), "number overflow");
  EXPECT_TLM_ERROR(TrainConfig::from_json(nlohmann::json{{"learning_rate", INFINITY}}),
                   "learning_rate", "not a finite number");
}

}  // namespace
}  // namespace tlm::train
