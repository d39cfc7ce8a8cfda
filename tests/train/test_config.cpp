#include "train/io/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "nn/block_registry.h"
#include "nn/choices.h"
#include "nn/loss/registry.h"
#include "optim/registry.h"
#include "optim/schedule.h"
#include "tests/train/test_util.h"
#include "train/data/tokenizer.h"

namespace tlm::train {
namespace {

using testing::TempDir;

TEST(Config, DefaultsAreTheCpuBabyRecipe) {
  TrainConfig c;
  EXPECT_EQ(c.n_layer, 4);
  EXPECT_EQ(c.n_head, 4);
  EXPECT_EQ(c.n_embd, 128);
  EXPECT_EQ(c.block_size, 64);
  EXPECT_EQ(c.batch_size, 12);
  EXPECT_EQ(c.max_iters, 2000);
  EXPECT_DOUBLE_EQ(c.learning_rate, 1e-3);
  EXPECT_DOUBLE_EQ(c.number("min_lr"), 1e-4);
  EXPECT_EQ(c.integer("warmup_iters"), 100);
  EXPECT_EQ(c.integer("lr_decay_iters"), 2000);
  EXPECT_DOUBLE_EQ(c.weight_decay, 0.1);
  EXPECT_DOUBLE_EQ(c.number("beta1"), 0.9);
  EXPECT_DOUBLE_EQ(c.number("beta2"), 0.99);
  EXPECT_DOUBLE_EQ(c.number("momentum"), 0.9);
  EXPECT_DOUBLE_EQ(c.number("eps"), 1e-8);
  EXPECT_FALSE(c.entry_values.flag("nesterov"));
  EXPECT_DOUBLE_EQ(c.number("label_smoothing"), 0.1);
  EXPECT_DOUBLE_EQ(c.number("focal_gamma"), 2.0);
  EXPECT_DOUBLE_EQ(c.number("focal_alpha"), 1.0);
  EXPECT_DOUBLE_EQ(c.number("tailr_gamma"), 1e-7);
  EXPECT_DOUBLE_EQ(c.number("emo_max_weight"), 0.0);
  EXPECT_DOUBLE_EQ(c.grad_clip, 1.0);
  EXPECT_DOUBLE_EQ(c.dropout, 0.0);
  EXPECT_EQ(c.eval_interval, 250);
  EXPECT_EQ(c.eval_iters, 20);
  EXPECT_EQ(c.seed, 1337);
  EXPECT_EQ(c.gradient_accumulation_steps, 1);
  EXPECT_TRUE(c.bias);
  EXPECT_EQ(c.tokenizer, "char");
  EXPECT_EQ(c.norm, nn::NormPlacement::Pre);
  EXPECT_EQ(c.pos, nn::Pos::Learned);
  EXPECT_EQ(c.norm_type, nn::NormType::LayerNorm);
  EXPECT_EQ(c.ffn, nn::Ffn::Gelu);
  EXPECT_TRUE(c.tie_weights);
  EXPECT_EQ(c.optimizer, "adamw");
  EXPECT_EQ(c.schedule, "cosine");
  EXPECT_EQ(c.loss, "ce");
  EXPECT_EQ(c.precision, Precision::F32);
  EXPECT_DOUBLE_EQ(c.val_fraction, 0.1);
  c.validate();
}

TEST(Config, TableCoversEveryKeyOnce) {
  // The keys TrainConfig holds as fields ...
  std::vector<std::string> expected = {
      "n_layer", "n_head", "n_embd", "block_size", "batch_size", "max_iters", "learning_rate",
      "weight_decay", "grad_clip",
      "dropout", "eval_interval", "eval_iters", "seed", "gradient_accumulation_steps", "bias",
      "data", "out_dir", "tokenizer", "norm", "pos", "norm_type",
      "ffn", "tie_weights", "optimizer", "schedule", "loss", "threads",
      "log_interval", "ckpt_interval", "val_fraction", "precision",
      "block", "attn", "attn_scale", "window", "layout", "nan_policy",
      "tune_method", "backbone", "lst_reduction", "lst_fisher_samples", "lst_gate_temperature", "lora_rank",
      "lora_alpha", "unseen_chars", "unseen_replacement", "lst_output",
      "loss_scale", "loss_scale_init", "loss_scale_growth", "loss_scale_interval",
      "loss_scale_backoff", "loss_scale_min",
      "dist_bucket_mb", "attn_kernel", "activation_checkpointing",
      "ckpt_minutes", "ckpt_best", "tokenizer_file", "allow_binary"};
  // ... and every key a norm type, position, block type, loss, optimizer, schedule or tokenizer entry names (each once, right after the key
  // that selects the entry), with the entry's type, default, range and help.
  const std::pair<const char*, std::vector<nn::EntryKey>> families[] = {
      {"norm_type", nn::entry_keys(nn::choices<nn::NormType>())},
      {"pos", nn::entry_keys(nn::choices<nn::Pos>())},
      {"block", nn::entry_keys(nn::block_registry())},
      {"loss", nn::entry_keys(nn::loss_registry())},
      {"optimizer", nn::entry_keys(optim::optimizer_registry())},
      {"schedule", nn::entry_keys(optim::schedule_registry())},
      {"tokenizer", nn::entry_keys(tokenizer_registry())}};
  for (const auto& [selector, keys] : families) {
    EXPECT_FALSE(keys.empty()) << selector;
    for (const nn::EntryKey& e : keys) {
      expected.push_back(e.name);
      const ConfigKey* k = find_config_key(e.name);
      ASSERT_NE(k, nullptr) << e.name;
      EXPECT_EQ(k->kind(), static_cast<int>(e.type)) << e.name;
      EXPECT_EQ(k->default_value, e.default_value) << e.name;
      EXPECT_EQ(k->help, e.help) << e.name;
      EXPECT_EQ(k->range.str(), e.range.str()) << e.name;
      EXPECT_EQ(k->group, find_config_key(selector)->group) << e.name;
    }
  }
  for (const char* k : {"norm_eps", "rope_base", "gau_expansion", "gau_attn_size", "label_smoothing", "focal_gamma", "focal_alpha", "tailr_gamma",
                               "emo_max_weight", "beta1", "beta2", "momentum", "eps", "nesterov",
                               "min_lr", "warmup_iters", "lr_decay_iters", "bpe_vocab_size", "tokenizer_dir"})
    EXPECT_NE(std::find(expected.begin(), expected.end(), k), expected.end()) << k;
  EXPECT_EQ(find_config_key("loss")->choices, nn::lm_loss_names());
  EXPECT_EQ(find_config_key("optimizer")->choices, optim::optimizer_names());
  EXPECT_EQ(find_config_key("schedule")->choices, optim::schedule_names());
  EXPECT_EQ(find_config_key("tokenizer")->choices, tokenizer_registry().names());
  EXPECT_EQ(tokenizer_names(), tokenizer_registry().names());  // a factory for every declared kind
  std::set<std::string> names;
  for (const auto& k : config_keys()) EXPECT_TRUE(names.insert(k.name).second) << k.name;
  EXPECT_EQ(names, std::set<std::string>(expected.begin(), expected.end()));
  EXPECT_EQ(TrainConfig().to_json().size(), config_keys().size());
}

// Every choice key is a typed member whose allowed values are its family's names (nn/choices.h,
// train/io/run_choices.h): each name sets the enum it names, reads back as that name (to_json),
// and a name outside the family is refused naming the key and the family's names.
TEST(Config, ChoiceKeysAreTypedMembersOfTheirFamilies) {
  auto family = [](auto member, const char* key) {
    using E = std::remove_reference_t<decltype(TrainConfig().*member)>;
    const ConfigKey* k = find_config_key(key);
    ASSERT_NE(k, nullptr) << key;
    EXPECT_TRUE(std::holds_alternative<ConfigKey::ChoiceField>(k->field)) << key;
    EXPECT_EQ(k->type_name(), "choice") << key;
    EXPECT_EQ(k->choices, nn::choices<E>().names()) << key;
    EXPECT_EQ(nn::choices<E>().key(), key);
    EXPECT_EQ(TrainConfig().*member, nn::parse<E>(k->default_value)) << key;
    for (const auto& c : nn::choices<E>().entries()) {
      TrainConfig cfg;
      cfg.set(key, c.name);
      EXPECT_EQ(cfg.*member, c.value) << key << " = " << c.name;
      EXPECT_EQ(cfg.to_json().at(key), c.name) << key;
    }
    TrainConfig cfg;
    EXPECT_TLM_ERROR(cfg.set(key, "nope"), fmt::format("{} = 'nope' is not allowed", key),
                     fmt::format("{}", fmt::join(nn::choices<E>().names(), ", ")));
  };
  family(&TrainConfig::norm, "norm");
  family(&TrainConfig::norm_type, "norm_type");
  family(&TrainConfig::pos, "pos");
  family(&TrainConfig::ffn, "ffn");
  family(&TrainConfig::attn, "attn");
  family(&TrainConfig::attn_scale, "attn_scale");
  family(&TrainConfig::layout, "layout");
  family(&TrainConfig::attn_kernel, "attn_kernel");
  family(&TrainConfig::lst_output, "lst_output");
  family(&TrainConfig::tune_method, "tune_method");
  family(&TrainConfig::nan_policy, "nan_policy");
  family(&TrainConfig::precision, "precision");
  family(&TrainConfig::activation_checkpointing, "activation_checkpointing");
  family(&TrainConfig::unseen_chars, "unseen_chars");
  // The names train's families hold (the values the key table allowed as text before).
  EXPECT_EQ(nn::choices<TuneMethod>().names(), (std::vector<std::string>{"none", "full", "lora", "lst"}));
  EXPECT_EQ(nn::choices<NanPolicy>().names(), (std::vector<std::string>{"stop", "skip"}));
  EXPECT_EQ(nn::choices<Precision>().names(), (std::vector<std::string>{"fp32", "bf16", "fp16"}));
  EXPECT_EQ(nn::choices<ActivationCheckpointing>().names(), (std::vector<std::string>{"none", "blocks"}));
  EXPECT_EQ(nn::choices<UnseenChars>().names(), (std::vector<std::string>{"refuse", "replace"}));
  for (const auto& c : nn::choices<Precision>().entries()) EXPECT_EQ(parse_precision(c.name), c.value);
}

TEST(Config, JsonRoundTripAndPartialFiles) {
  TrainConfig c;
  c.set("n_layer", "6");
  c.set("learning_rate", "3e-4");
  c.set("min_lr", "3e-5");
  c.set("bias", "false");
  c.set("pos", "rope");
  c.set("data", "/tmp/x.txt");
  const nlohmann::json j = c.to_json();
  EXPECT_EQ(j["n_layer"], 6);
  EXPECT_EQ(j["bias"], false);
  EXPECT_EQ(j["pos"], "rope");
  TrainConfig back = TrainConfig::from_json(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(back.to_json(), j);

  // Keys not in the file keep their defaults; integral floats are fine for int keys.
  TrainConfig p = TrainConfig::from_json({{"n_embd", 256}, {"max_iters", 5e3}, {"lr_decay_iters", 5000}});
  EXPECT_EQ(p.n_embd, 256);
  EXPECT_EQ(p.max_iters, 5000);
  EXPECT_EQ(p.n_layer, 4);

  TempDir dir;
  testing::write_bytes(dir / "run.json", "{\n  // comments are allowed\n  \"n_head\": 8\n}\n");
  EXPECT_EQ(TrainConfig::from_file(dir / "run.json").n_head, 8);
}

TEST(Config, OverridesParseByType) {
  TrainConfig c;
  c.apply_overrides({"n_layer=2", "dropout=0.25", "tie_weights=0", "optimizer=lion",
                     "out_dir=runs/a=b", "seed=7"});
  EXPECT_EQ(c.n_layer, 2);
  EXPECT_DOUBLE_EQ(c.dropout, 0.25);
  EXPECT_FALSE(c.tie_weights);
  EXPECT_EQ(c.optimizer, "lion");
  EXPECT_EQ(c.out_dir, "runs/a=b");  // the value may contain '='
  EXPECT_EQ(c.seed, 7);
  EXPECT_TLM_ERROR(c.apply_overrides({"n_layer"}), "override 'n_layer' is not of the form key=value");
  EXPECT_TLM_ERROR(c.apply_overrides({"=3"}), "not of the form key=value");
}

TEST(Config, UnknownKeysSuggestTheClosest) {
  TrainConfig c;
  EXPECT_TLM_ERROR(c.set("n_layers", "3"), "config: unknown key 'n_layers' (did you mean 'n_layer'?)");
  EXPECT_TLM_ERROR(c.set("learnig_rate", "3"), "did you mean 'learning_rate'?");
  EXPECT_TLM_ERROR(c.set("colour", "red"), "unknown key 'colour'", "known keys: n_layer, n_head");
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"n_heads", 2}}, "run.json"),
                   "unknown key 'n_heads' in 'run.json' (did you mean 'n_head'?)");
}

TEST(Config, BadValuesNameKeyValueAndAllowed) {
  TrainConfig c;
  EXPECT_TLM_ERROR(c.set("n_layer", "four"), "config: n_layer = 'four' is not an integer",
                   "allowed: integer [1, 1024]");
  EXPECT_TLM_ERROR(c.set("n_layer", "2.5"), "is not an integer");
  EXPECT_TLM_ERROR(c.set("n_layer", "0"), "n_layer = '0' is out of range", "[1, 1024]");
  EXPECT_TLM_ERROR(c.set("dropout", "1"), "dropout = '1' is out of range", "number [0, 1)");
  EXPECT_TLM_ERROR(c.set("dropout", "nan"), "is not a number");
  EXPECT_TLM_ERROR(c.set("learning_rate", "0"), "learning_rate = '0' is out of range", "> 0");
  EXPECT_TLM_ERROR(c.set("learning_rate", "1e-3x"), "is not a number");
  EXPECT_TLM_ERROR(c.set("bias", "yes"), "bias = 'yes' is not a boolean", "true, false");
  EXPECT_TLM_ERROR(c.set("norm", "layer"), "config: norm = 'layer' is not allowed",
                   "allowed: pre, post, deepnorm");
  EXPECT_TLM_ERROR(c.set("tokenizer", "sentencepiece"), "allowed: char, bpe");
  EXPECT_TLM_ERROR(c.set("bpe_vocab_size", "100"), "bpe_vocab_size = '100' is out of range");
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"n_layer", "4"}}), "n_layer = \"4\" is not an integer");
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"bias", 1}}), "bias = 1 is not a boolean");
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"pos", 3}}), "pos = 3 is not a string");
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"beta2", 1.5}}), "beta2 = 1.5 is out of range");
  EXPECT_TLM_ERROR(TrainConfig::from_json(nlohmann::json::array()), "expected a JSON object");
  // A failed set leaves the old value.
  EXPECT_EQ(c.n_layer, 4);
  // Directly assigned fields are still checked by validate().
  c.ffn = static_cast<nn::Ffn>(7);  // a typed member: only a cast value can name no entry
  EXPECT_TLM_ERROR(c.validate(), "ffn = 7 is not allowed", "gelu, gelu_tanh, geglu, swiglu");
  EXPECT_TLM_ERROR(c.to_json(), "ffn = 7 is not allowed");
  c = TrainConfig();
  c.batch_size = -1;
  EXPECT_TLM_ERROR(c.validate(), "batch_size = -1 is out of range");
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"tokenizer", "gpt2"}}), "tokenizer = gpt2 needs tokenizer_dir");
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"norm_eps", 0}}), "norm_eps = 0 is out of range");
}

// Issue 12: every optimizer key refuses bad values at start, naming the key and its range,
// from --set strings ("nan", "inf", "-inf", overflow) and from JSON alike.
TEST(Config, OptimizerKeysRefuseOutOfRangeAndNonFinite) {
  struct Bad {
    const char* kv;
    const char* why;
    const char* allowed;
  };
  const Bad bad[] = {
      {"optimizer=adam", "optimizer = 'adam' is not allowed", "allowed: adamw, lion, sgd"},
      {"optimizer=Lion", "is not allowed", "adamw, lion, sgd"},
      {"learning_rate=-1e-3", "learning_rate = '-1e-3' is out of range", "allowed: number > 0"},
      {"learning_rate=0", "learning_rate = '0' is out of range", "number > 0"},
      {"learning_rate=nan", "learning_rate = 'nan' is not a number", "number > 0"},
      {"learning_rate=inf", "learning_rate = 'inf' is not a finite number", "number > 0"},
      {"learning_rate=-inf", "is not a finite number", "number > 0"},
      {"learning_rate=1e400", "learning_rate = '1e400' is not a number", "number > 0"},
      {"min_lr=-1e-4", "min_lr = '-1e-4' is out of range", "number >= 0"},
      {"min_lr=inf", "is not a finite number", "number >= 0"},
      {"beta1=1", "beta1 = '1' is out of range", "number [0, 1)"},
      {"beta1=-0.1", "beta1 = '-0.1' is out of range", "number [0, 1)"},
      {"beta1=inf", "beta1 = 'inf' is not a finite number", "number [0, 1)"},
      {"beta2=1.0", "beta2 = '1.0' is out of range", "number [0, 1)"},
      {"beta2=nan", "beta2 = 'nan' is not a number", "number [0, 1)"},
      {"momentum=1", "momentum = '1' is out of range", "number [0, 1)"},
      {"momentum=-0.5", "is out of range", "number [0, 1)"},
      {"eps=0", "eps = '0' is out of range", "number (0, 1)"},
      {"eps=-1e-8", "is out of range", "number (0, 1)"},
      {"eps=nan", "is not a number", "number (0, 1)"},
      {"weight_decay=-0.1", "weight_decay = '-0.1' is out of range", "number >= 0"},
      {"weight_decay=inf", "weight_decay = 'inf' is not a finite number", "number >= 0"},
      {"weight_decay=nan", "weight_decay = 'nan' is not a number", "number >= 0"},
      {"grad_clip=-1", "grad_clip = '-1' is out of range", "number >= 0"},
      {"grad_clip=NaN", "is not a number", "number >= 0"},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.kv);
    TrainConfig c;
    const nlohmann::json before = c.to_json();
    EXPECT_TLM_ERROR(c.apply_overrides({b.kv}), "config: ", b.why, b.allowed);
    EXPECT_EQ(c.to_json(), before);  // nothing is half-applied
  }
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"learning_rate", -0.001}}),
                   "learning_rate = -0.001 is out of range", "number > 0");
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"beta1", 1.0}}), "beta1 = 1.0 is out of range",
                   "number [0, 1)");
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"beta2", -0.5}}), "beta2 = -0.5 is out of range");
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"weight_decay", -1}}), "weight_decay = -1");
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"optimizer", "adagrad"}}),
                   "optimizer = 'adagrad' is not allowed", "adamw, lion, sgd");
  // The edges that are allowed: beta = 0, weight decay 0, the tiniest positive lr.
  TrainConfig ok;
  ok.apply_overrides({"beta1=0", "beta2=0", "weight_decay=0", "learning_rate=1e-30",
                      "min_lr=0", "momentum=0", "optimizer=lion"});
  EXPECT_EQ(ok.number("beta2"), 0.0);
  EXPECT_EQ(ok.to_json().at("beta2"), 0.0);
  EXPECT_EQ(TrainConfig::from_json(ok.to_json()).number("min_lr"), 0.0);
}

TEST(Config, CrossKeyRules) {
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"n_embd", 130}}),
                   "n_embd = 130 is not divisible by n_head = 4");
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"n_embd", 12}, {"n_head", 4}, {"pos", "rope"}}),
                   "pos = rope needs an even head size", "12 / 4 = 3");
  TrainConfig::from_json({{"n_embd", 12}, {"n_head", 4}});  // odd head size is fine without RoPE
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"warmup_iters", 3000}}),
                   "warmup_iters = 3000 exceeds lr_decay_iters = 2000");
  EXPECT_TLM_ERROR(TrainConfig::from_json({{"min_lr", 0.01}}),
                   "min_lr = 0.01 exceeds learning_rate = 0.001");
  TrainConfig c;
  EXPECT_TLM_ERROR(c.apply_overrides({"n_head=3"}), "not divisible by n_head = 3");
}

TEST(Config, FileErrorsNameTheFile) {
  TempDir dir;
  testing::write_bytes(dir / "bad.json", "{\"n_layer\": 4,}");
  EXPECT_TLM_ERROR(TrainConfig::from_file(dir / "bad.json"), "config: '", "bad.json",
                   "is not valid JSON");
  EXPECT_TLM_ERROR(TrainConfig::from_file(dir / "none.json"), "config: cannot open", "none.json");
  testing::write_bytes(dir / "typo.json", "{\"n_lyer\": 4}");
  EXPECT_TLM_ERROR(TrainConfig::from_file(dir / "typo.json"), "unknown key 'n_lyer' in '",
                   "typo.json", "did you mean 'n_layer'?");
}

TEST(Config, ReferenceMarkdownListsEveryKey) {
  const std::string md = config_reference_markdown();
  for (const auto& k : config_keys()) {
    EXPECT_NE(md.find(fmt::format("| `{}` | {} |", k.name, k.type_name())), std::string::npos) << k.name;
  }
  EXPECT_NE(md.find("| `n_layer` | int | `4` | integer [1, 1024] | Transformer blocks |"), std::string::npos);
  EXPECT_NE(md.find("| `norm` | choice | `pre` | pre, post, deepnorm |"), std::string::npos);
  EXPECT_NE(md.find("## optimizer"), std::string::npos);
}

}  // namespace
}  // namespace tlm::train
