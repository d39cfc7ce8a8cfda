// train/tasks: the synthetic task data is deterministic and well-formed, the labels are what
// the documented rules give by hand, a few training steps reduce each task's held-out loss,
// and bad options are refused with the allowed values.
#include <gtest/gtest.h>

#include <algorithm>

#include <fstream>
#include <set>

#include "tests/train/test_util.h"
#include "train/data/char_tokenizer.h"
#include "train/tasks/tasks.h"

namespace tlm::train {
namespace {

std::string small_play() {
  const char* speech[] = {"I love thee, my lord!", "Why dost thou not speak?",
                          "The king is dead; long live the king.", "No, never, nothing.",
                          "Give me my sword, brother!", "What say you to this, good lady?",
                          "We shall have blood for blood.", "Here is a fair morning."};
  std::string text;
  for (int i = 0; i < 400; ++i) {
    if (i % 3 == 0) text += (i % 2 ? "FIRST LORD:\n" : "QUEEN ELIZABETH:\n");
    text += speech[(i * 5) % 8];
    text += "\n";
    if (i % 3 == 2) text += "\n";
  }
  return text;
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream f(path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(Tasks, LinesSkipSpeakersAndSplitByIndex) {
  TaskLines l = task_lines("First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
                           "All:\nSpeak, speak.\n  a\nb\nc\nd\ne\nf\ng\nh\ni  \n");
  ASSERT_EQ(l.train.size(), 10u);  // 11 lines; index 9 ("h") is held out
  ASSERT_EQ(l.val.size(), 1u);
  EXPECT_EQ(l.train[0], "Before we proceed any further, hear me speak.");
  EXPECT_EQ(l.train[1], "Speak, speak.");
  EXPECT_EQ(l.train[2], "a");
  EXPECT_EQ(l.val[0], "h");
  EXPECT_EQ(l.train[9], "i");
}

TEST(Tasks, WordsAndLabelsByHand) {
  EXPECT_EQ(line_words("O'er the King's  crown -- 'tis MINE!"),
            (std::vector<std::string>{"o'er", "the", "king's", "crown", "tis", "mine"}));
  // "we", "me" -> first person 2; nothing else.
  const std::string a = "Before we proceed any further, hear me speak.";
  EXPECT_EQ(line_label_counts(a), (std::vector<int32_t>{2, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(line_labels(a), (std::vector<int32_t>{1, 0, 0, 0, 0, 0, 0, 0}));
  // thou, not, king, love, die, '?', '!' x2
  const std::string b = "Dost thou not love the king? Die! Die!";
  EXPECT_EQ(line_label_counts(b), (std::vector<int32_t>{0, 1, 1, 1, 1, 2, 1, 2}));
  std::vector<double> t = line_soft_labels(b);
  const std::vector<double> want = {0, 0.75, 0.75, 0.75, 0.75, 0.9375, 0.75, 0.9375};
  for (int k = 0; k < kNumLineLabels; ++k) EXPECT_DOUBLE_EQ(t[k], want[k]) << k;
  EXPECT_EQ(line_label_names().size(), size_t(kNumLineLabels));
}

TEST(Tasks, PairsAreDeterministicAndGraded) {
  TaskLines l = task_lines(small_play());
  EXPECT_NEAR(word_jaccard("a b c", "b c d"), 0.5, 1e-15);
  EXPECT_DOUBLE_EQ(word_jaccard("The king", "the KING!"), 1.0);
  std::vector<PairExample> p = pair_examples(l.train, 7), q = pair_examples(l.train, 7);
  ASSERT_EQ(p.size(), q.size());
  ASSERT_GT(p.size(), 100u);
  std::set<int> grades;
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_EQ(p[i].a, q[i].a);
    EXPECT_EQ(p[i].b, q[i].b);
    EXPECT_GE(p[i].label, 0.0);
    EXPECT_LE(p[i].label, 1.0);
    EXPECT_DOUBLE_EQ(p[i].label, word_jaccard(p[i].a, p[i].b));
    EXPECT_LE(line_words(p[i].b).size(), line_words(p[i].a).size());
    if (p[i].grade == 4) {
      EXPECT_EQ(p[i].a, p[i].b);
    }
    grades.insert(p[i].grade);
  }
  EXPECT_EQ(grades.size(), 5u);
  // Anchor "I love thee, my lord!" (5 words), grade 2: keep round(2.5) = 3 words, then the
  // partner's first words up to 5 in all.
  std::vector<PairExample> one = pair_examples({"I love thee, my lord!", "No, never, nothing."}, 1);
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(one[0].a, "i love thee my lord");
  EXPECT_EQ(one[0].b, "no never nothing");  // grade 0: all partner words (3 < 5)
  EXPECT_EQ(one[1].grade, 1);               // anchor 1: keep round(3/4) = 1 word
  EXPECT_EQ(one[1].b, "no i love");
  EXPECT_NEAR(one[1].label, 1.0 / 5, 1e-15);  // {no} of {no never nothing i love}
}

TEST(Tasks, EncodeLinesPadsAndMasks) {
  CharTokenizer tok = CharTokenizer::build("abc");
  EncodedLines e = encode_lines(tok, {"ab", "abcabc"}, 4);
  EXPECT_EQ(e.ids.shape(), (Shape{2, 4}));
  EXPECT_EQ(e.mask.to_vector<float>(), (std::vector<float>{1, 1, 0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(e.ids.to_vector<int32_t>()[2], 0);
  EXPECT_TRUE(is_vowel_token("E"));
  EXPECT_FALSE(is_vowel_token("y"));
  EXPECT_FALSE(is_vowel_token(""));
}

TEST(Tasks, RareWordsAndLineEndTargetsByHand) {
  // 10 lines: "a" in 6, "b" in 1, "c" in 1, "d" in 2 (twice in one line counts once).
  std::vector<std::string> lines = {"a b", "a c", "a d d", "a", "a", "a", "d", "x y", "x", "x"};
  // at most 20 % of 10 lines = 2: d (2), then b, c, y (1 each, by word); a (6) and x (3) excluded
  EXPECT_EQ(rare_label_words(lines, 3, 0.2), (std::vector<std::string>{"d", "b", "c"}));
  EXPECT_EQ(rare_label_words(lines, 64, 0.2).size(), 4u);
  EXPECT_THROW(rare_label_words(lines, 0, 0.2), Error);
  // newline id 9; rows of T = 4: [5 9 5 5] -> [1 0 2 1]; [9 5 5 9] -> [0 2 1 0]
  EXPECT_EQ(line_end_targets({5, 9, 5, 5, 9, 5, 5, 9}, 4, 9),
            (std::vector<float>{1, 0, 2, 1, 0, 2, 1, 0}));
  EXPECT_THROW(line_end_targets({1, 2, 3}, 2, 9), Error);
}

TrainConfig tiny(const testing::TempDir& dir, int64_t iters) {
  TrainConfig cfg;
  cfg.apply_overrides({"n_layer=1", "n_head=2", "n_embd=16", "block_size=32", "batch_size=16",
                       fmt::format("max_iters={}", iters), "eval_interval=1000",
                       "learning_rate=1e-2", "min_lr=1e-3", "warmup_iters=0",
                       "lr_decay_iters=1000", "eval_iters=2", "threads=1",
                       fmt::format("data={}", dir / "play.txt"), fmt::format("out_dir={}", dir / "out")});
  return cfg;
}

double first_last(const testing::TempDir& dir, const char* key, double* last) {
  std::vector<nlohmann::json> log = read_jsonl(dir / "out/task_log.jsonl");
  std::vector<double> v;
  for (const auto& r : log)
    if (r.at("kind") == "eval") v.push_back(r.at(key).get<double>());
  EXPECT_GE(v.size(), 2u);
  *last = v.back();
  return v.front();
}

TEST(Tasks, MultiLabelLossesTrain) {
  testing::TempDir dir;
  testing::write_bytes(dir / "play.txt", small_play());
  for (const char* loss : {"zlpr", "soft_zlpr", "rdrop", "bce"}) {
    SCOPED_TRACE(loss);
    TrainConfig cfg = tiny(dir, 40);
    if (std::string(loss) == "rdrop") cfg.apply_overrides({"dropout=0.1"});
    TaskOptions o;
    o.task = "multilabel";
    o.loss = loss;
    nlohmann::json r = run_task(cfg, o, nullptr);
    double last = 0, first = first_last(dir, "val_zlpr", &last);
    EXPECT_LT(last, 0.7 * first);
    EXPECT_GT(r.at("micro_f1").get<double>(), 0.5);
  }
}

TEST(Tasks, RareWordLabelsWithWeightedBce) {
  // small_play's words in at most 1 % of its lines: none of the repeated speeches qualify, so
  // the option is refused with the reason; a play with a long tail of words trains.
  testing::TempDir dir;
  testing::write_bytes(dir / "play.txt", small_play());
  TaskOptions o;
  o.task = "multilabel";
  o.labels = "rare_words";
  o.loss = "bce_weighted";
  EXPECT_THROW(run_task(tiny(dir, 2), o, nullptr), Error);
  std::string text;
  auto word = [](int i) { return std::string{'q', char('a' + i / 26), char('a' + i % 26)}; };
  for (int i = 0; i < 600; ++i) text += "the word " + word(i % 300) + " and " + word((i * 7) % 300) + "\n";
  testing::write_bytes(dir / "play.txt", text);
  nlohmann::json r = run_task(tiny(dir, 5), o, nullptr);
  ASSERT_EQ(r.at("label_words").size(), 64u);
  for (double p : r.at("train_prevalence").get<std::vector<double>>()) {
    EXPECT_GT(p, 0.0);
    EXPECT_LE(p, 0.01);
  }
  EXPECT_TRUE(std::isfinite(r.at("val_zlpr").get<double>()));
}

TEST(Tasks, LmAuxLineEndRegressionTrains) {
  testing::TempDir dir;
  testing::write_bytes(dir / "play.txt", small_play());
  TaskOptions o;
  o.task = "lm_aux";
  o.aux = "line_end";
  for (const std::string w : {"fixed", "uncertainty", "gradnorm"}) {
    SCOPED_TRACE(w);
    o.weighting = w;
    TrainConfig cfg = tiny(dir, 30);
    cfg.apply_overrides({"eval_interval=30"});
    nlohmann::json r = run_task(cfg, o, nullptr);
    double last = 0, first = first_last(dir, "val_aux_loss", &last);
    EXPECT_GT(first, 20.0);  // squared characters: far from the LM's scale
    EXPECT_LT(last, first);
    EXPECT_GT(r.at("val_aux_r2").get<double>(), -1.0);
    EXPECT_FALSE(r.contains("val_aux_accuracy"));
  }
}

TEST(Tasks, PairsCosentTrains) {
  // The held-out CoSENT value is one LSE over every ordered pair of pairs, dominated by the
  // worst violation (it grows as the cosines spread), so the checks are the training loss
  // (mean of the first vs the last 20 steps) and the held-out Spearman.
  testing::TempDir dir;
  testing::write_bytes(dir / "play.txt", small_play());
  TaskOptions o;
  o.task = "pairs";
  TrainConfig cfg = tiny(dir, 100);
  cfg.apply_overrides({"learning_rate=1e-3", "min_lr=1e-5", "lr_decay_iters=100"});
  nlohmann::json r = run_task(cfg, o, nullptr);
  double last = 0, first = first_last(dir, "spearman", &last);
  EXPECT_GT(last, first);
  std::vector<double> train;
  for (const auto& x : read_jsonl(dir / "out/task_log.jsonl"))
    if (x.at("kind") == "step") train.push_back(x.at("loss").get<double>());
  ASSERT_EQ(train.size(), 100u);
  double head = 0, tail = 0;
  for (int i = 0; i < 20; ++i) head += train[i], tail += train[80 + i];
  EXPECT_LT(tail, 0.8 * head);
  EXPECT_GT(r.at("spearman").get<double>(), 0.5);
}

TEST(Tasks, LmAuxEveryWeightingTrains) {
  testing::TempDir dir;
  testing::write_bytes(dir / "play.txt", small_play());
  for (const std::string& w : task_weightings()) {
    SCOPED_TRACE(w);
    TaskOptions o;
    o.task = "lm_aux";
    o.weighting = w;
    nlohmann::json r = run_task(tiny(dir, 15), o, nullptr);
    double last = 0, first = first_last(dir, "val_lm_loss", &last);
    EXPECT_LT(last, first - 0.3);
    EXPECT_GT(r.at("val_aux_accuracy").get<double>(), 0.5);
    if (w == "uncertainty") {
      EXPECT_EQ(r.at("log_var").size(), 2u);
    }
  }
}

// The options are parsed once into typed values: every listed name maps to its own value, and
// an empty loss becomes the task's first (default) loss, by value and by name.
TEST(Tasks, OptionsAreParsedOnceIntoTypedValues) {
  TrainConfig cfg;
  cfg.dropout = 0.1;  // rdrop needs it
  const std::pair<const char*, TaskType> tasks[] = {
      {"multilabel", TaskType::MultiLabel}, {"pairs", TaskType::Pairs}, {"lm_aux", TaskType::LmAux}};
  for (const auto& [name, type] : tasks) {
    TaskOptions o;
    o.task = name;
    const TaskSetup d = parse_task_options(o, cfg);
    EXPECT_EQ(d.task, type) << name;
    EXPECT_EQ(d.names.loss, task_losses(name).front()) << name;
    std::vector<TaskLoss> seen;
    for (const std::string& loss : task_losses(name)) {
      o.loss = loss;
      const TaskLoss l = parse_task_options(o, cfg).loss;
      EXPECT_EQ(std::count(seen.begin(), seen.end(), l), 0) << name << " " << loss;
      seen.push_back(l);
    }
    EXPECT_EQ(seen.front(), d.loss) << name;
  }
  TaskOptions o;
  o.task = "lm_aux";
  o.aux = "line_end";
  std::vector<TaskWeighting> seen;
  for (const std::string& w : task_weightings()) {
    o.weighting = w;
    const TaskSetup d = parse_task_options(o, cfg);
    EXPECT_EQ(d.aux, TaskAux::LineEnd);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), d.weighting), 0) << w;
    seen.push_back(d.weighting);
  }
  EXPECT_EQ(seen.size(), 6u);
  o = {};
  o.labels = "rare_words";
  EXPECT_EQ(parse_task_options(o, cfg).labels, TaskLabels::RareWords);
}

TEST(Tasks, BadOptionsNameTheAllowedValues) {
  TrainConfig cfg;
  auto message = [&](TaskOptions o) {
    try {
      validate_task_options(o, cfg);
    } catch (const tlm::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  TaskOptions o;
  o.task = "ner";
  EXPECT_NE(message(o).find("allowed: multilabel, pairs, lm_aux"), std::string::npos) << message(o);
  o = {};
  o.loss = "cosent";
  EXPECT_NE(message(o).find("allowed: zlpr, soft_zlpr, rdrop, bce, bce_weighted"), std::string::npos) << message(o);
  o = {};
  o.loss = "rdrop";
  EXPECT_NE(message(o).find("dropout > 0"), std::string::npos) << message(o);
  o = {};
  o.labels = "rare";
  EXPECT_NE(message(o).find("allowed: groups, rare_words"), std::string::npos) << message(o);
  o = {};
  o.task = "lm_aux";
  o.labels = "rare_words";
  EXPECT_NE(message(o).find("multilabel only"), std::string::npos) << message(o);
  o = {};
  o.aux = "line_end";
  EXPECT_NE(message(o).find("lm_aux only"), std::string::npos) << message(o);
  o = {};
  o.task = "lm_aux";
  o.aux = "parity";
  EXPECT_NE(message(o).find("allowed: vowel, line_end"), std::string::npos) << message(o);
  o = {};
  o.task = "lm_aux";
  o.weighting = "pcgrad";
  EXPECT_NE(message(o).find("allowed: fixed, realtime, uncertainty, gradnorm, mgda, main_aux"),
            std::string::npos) << message(o);
}

}  // namespace
}  // namespace tlm::train
