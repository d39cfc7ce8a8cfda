// The model-defining keys are derived from the config table (train/io/model_keys.h): pinned
// here against the lists the trainer and the tuner kept by hand before, and checked against
// the table, so a new "model" key is covered without a second list to update.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "train/io/config.h"
#include "train/io/model_keys.h"

namespace tlm::train {
namespace {

const std::set<std::string> kNetwork = {
    "n_layer", "n_head", "n_embd", "block_size", "bias", "norm", "norm_type", "pos",
    "rope_base", "norm_eps", "ffn", "tie_weights", "block", "attn", "attn_scale", "window", "layout",
    "gau_expansion", "gau_attn_size", "tokenizer", "bpe_vocab_size",
    "tokenizer_file"};

TEST(ModelKeys, NetworkKeysAreTheModelGroupButDropoutAndTheTokenizer) {
  const std::vector<std::string>& keys = network_keys();
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), kNetwork);
  EXPECT_EQ(keys.size(), kNetwork.size()) << "a key listed twice";
  const std::set<std::string> derived(keys.begin(), keys.end());
  for (const ConfigKey& k : config_keys()) {
    if (std::string(k.group) == "model" && std::string(k.name) != "dropout") {
      EXPECT_TRUE(derived.count(k.name)) << k.name;
    }
  }
}

TEST(ModelKeys, ModelKeysAddWhatATunedCheckpointTrained) {
  std::set<std::string> want = kNetwork;
  for (const char* k : {"tune_method", "backbone", "lst_reduction", "lora_rank", "lst_output"})
    want.insert(k);
  const std::vector<std::string>& keys = model_keys();
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), want);
  EXPECT_EQ(keys.size(), want.size());
  // Every key named exists in the table.
  for (const std::string& k : keys) {
    bool found = false;
    for (const ConfigKey& c : config_keys()) found = found || k == c.name;
    EXPECT_TRUE(found) << k;
  }
}

}  // namespace
}  // namespace tlm::train
