#include "train/tasks/tasks.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "nn/loss/cosent.h"
#include "nn/loss/cross_entropy.h"
#include "nn/loss/globalpointer_kl.h"
#include "nn/loss/multitask.h"
#include "nn/loss/pointwise.h"
#include "nn/loss/zlpr.h"
#include "optim/clip.h"
#include "optim/registry.h"
#include "tensor/kernels/parallel.h"
#include "train/data/char_tokenizer.h"
#include "train/data/data.h"
#include "train/diag/metrics.h"
#include "train/launch/optimizer_setup.h"
#include "train/run/seeds.h"
#include "train/run/train_step.h"
#include "train/run/trainer.h"

namespace tlm::train {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

const std::vector<std::set<std::string>>& label_words() {
  static const std::vector<std::set<std::string>> sets = {
      {"i", "me", "my", "mine", "myself", "we", "us", "our", "ours"},
      {"thou", "thee", "thy", "thine", "you", "your", "yours", "ye"},
      {"not", "no", "nor", "never", "none", "nothing"},
      {"king", "queen", "prince", "princess", "lord", "lady", "crown", "duke", "majesty"},
      {"love", "father", "mother", "son", "daughter", "brother", "sister", "heart"},
      {"death", "dead", "die", "kill", "blood", "sword", "war"},
  };
  return sets;
}

std::string join_words(const std::vector<std::string>& w) { return fmt::format("{}", fmt::join(w, " ")); }

}  // namespace

// ---------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------
TaskLines task_lines(const std::string& text) {
  TaskLines out;
  size_t start = 0;
  int64_t index = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = trim(text.substr(start, end - start));
    start = end + 1;
    if (line.empty()) continue;
    if (line.back() == ':' && line_words(line).size() <= 4) continue;  // a speaker header
    (index % 10 == 9 ? out.val : out.train).push_back(line);
    ++index;
  }
  return out;
}

std::vector<std::string> line_words(const std::string& line) {
  std::vector<std::string> words;
  std::string w;
  for (size_t i = 0; i < line.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(line[i]);
    const bool apostrophe_inside = c == '\'' && !w.empty() && i + 1 < line.size() &&
                                   std::isalpha(static_cast<unsigned char>(line[i + 1]));
    if (std::isalpha(c) || apostrophe_inside) {
      w += static_cast<char>(std::tolower(c));
    } else if (!w.empty()) {
      words.push_back(w);
      w.clear();
    }
  }
  if (!w.empty()) words.push_back(w);
  return words;
}

const std::vector<std::string>& line_label_names() {
  static const std::vector<std::string> names = {"first_person", "second_person", "negation",
                                                 "royalty",      "kin_love",      "death_war",
                                                 "question",     "exclamation"};
  return names;
}

std::vector<int32_t> line_label_counts(const std::string& line) {
  std::vector<int32_t> c(kNumLineLabels, 0);
  const auto& sets = label_words();
  for (const std::string& w : line_words(line))
    for (size_t k = 0; k < sets.size(); ++k) c[k] += sets[k].count(w) ? 1 : 0;
  c[6] = static_cast<int32_t>(std::count(line.begin(), line.end(), '?'));
  c[7] = static_cast<int32_t>(std::count(line.begin(), line.end(), '!'));
  return c;
}

std::vector<int32_t> line_labels(const std::string& line) {
  std::vector<int32_t> y = line_label_counts(line);
  for (int32_t& v : y) v = v > 0 ? 1 : 0;
  return y;
}

std::vector<double> line_soft_labels(const std::string& line) {
  std::vector<double> t;
  for (int32_t n : line_label_counts(line)) t.push_back(1.0 - std::pow(0.25, n));
  return t;
}

std::vector<std::string> rare_label_words(const std::vector<std::string>& lines, int k,
                                          double max_prevalence) {
  TLM_CHECK(k >= 1 && max_prevalence > 0 && max_prevalence <= 1,
            "rare_label_words: k = {}, max_prevalence = {} (allowed: k >= 1, (0, 1])", k,
            max_prevalence);
  std::map<std::string, int64_t> df;  // lines containing the word
  for (const auto& l : lines) {
    const std::vector<std::string> w = line_words(l);
    for (const auto& u : std::set<std::string>(w.begin(), w.end())) ++df[u];
  }
  const double cap = max_prevalence * double(lines.size());
  std::vector<std::pair<int64_t, std::string>> c;
  for (const auto& [w, n] : df)
    if (double(n) <= cap) c.emplace_back(-n, w);
  std::sort(c.begin(), c.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < c.size() && int(out.size()) < k; ++i) out.push_back(c[i].second);
  return out;
}

std::vector<float> line_end_targets(const std::vector<int32_t>& y, int64_t T, int32_t newline_id) {
  TLM_CHECK(T >= 1 && static_cast<int64_t>(y.size()) % T == 0,
            "line_end_targets: {} targets are not rows of T = {}", y.size(), T);
  std::vector<float> d(y.size());
  for (size_t r = 0; r < y.size(); r += static_cast<size_t>(T)) {
    int64_t next = T;  // position of the next newline in this row (T: none)
    for (int64_t t = T - 1; t >= 0; --t) {
      if (y[r + t] == newline_id) next = t;
      d[r + t] = static_cast<float>(next - t);
    }
  }
  return d;
}

double word_jaccard(const std::string& a, const std::string& b) {
  const std::vector<std::string> wa = line_words(a), wb = line_words(b);
  const std::set<std::string> A(wa.begin(), wa.end()), B(wb.begin(), wb.end());
  if (A.empty() && B.empty()) return 1.0;
  size_t inter = 0;
  for (const auto& w : A) inter += B.count(w);
  return double(inter) / double(A.size() + B.size() - inter);
}

std::vector<PairExample> pair_examples(const std::vector<std::string>& lines, uint64_t seed) {
  TLM_CHECK(lines.size() >= 2, "pair_examples: need at least 2 lines, got {}", lines.size());
  Rng rng(seed);
  std::vector<PairExample> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::vector<std::string> wa = line_words(lines[i]);
    size_t j = rng.randint(lines.size() - 1);  // a partner other than i
    if (j >= i) ++j;
    if (wa.size() < 2) continue;
    const std::vector<std::string> wc = line_words(lines[j]);
    PairExample p;
    p.grade = static_cast<int>(i % 5);
    const size_t n = wa.size();
    const size_t keep = static_cast<size_t>(std::lround(double(n) * p.grade / 4.0));
    std::vector<std::string> wb(wa.begin(), wa.begin() + static_cast<std::ptrdiff_t>(keep));
    for (size_t k = 0; k < wc.size() && wb.size() < n; ++k) wb.push_back(wc[k]);
    if (wb.empty()) wb.push_back(wc.empty() ? std::string("nothing") : wc[0]);
    p.a = join_words(wa);
    p.b = join_words(wb);
    p.label = word_jaccard(p.a, p.b);
    out.push_back(std::move(p));
  }
  return out;
}

bool is_vowel_token(const std::string& s) {
  if (s.empty()) return false;
  const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

EncodedLines encode_lines(const Tokenizer& tok, const std::vector<std::string>& lines, int64_t T) {
  TLM_CHECK(!lines.empty() && T >= 1, "encode_lines: {} lines, T = {} (expected >= 1 each)",
            lines.size(), T);
  const int64_t B = static_cast<int64_t>(lines.size());
  std::vector<int32_t> ids(B * T, 0);
  std::vector<float> mask(B * T, 0.0f);
  for (int64_t b = 0; b < B; ++b) {
    const std::vector<int32_t> t = tok.encode(lines[b]);
    TLM_CHECK(!t.empty(), "encode_lines: line {} is empty", b);
    const int64_t n = std::min<int64_t>(T, static_cast<int64_t>(t.size()));
    for (int64_t i = 0; i < n; ++i) ids[b * T + i] = t[i], mask[b * T + i] = 1.0f;
  }
  return {Tensor::from_vector(ids, {B, T}), Tensor::from_vector(mask, {B, T})};
}

// ---------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------
TaskModel::TaskModel(const nn::GPTConfig& config, int64_t n_out, Rng& rng) : trunk(config, rng) {
  register_module("trunk", trunk);
  if (n_out > 0) {
    head = std::make_unique<nn::Linear>(config.n_embd, n_out, true, rng);
    register_module("head", *head);
  }
}

Tensor TaskModel::hidden(const Tensor& ids, Rng& rng) {
  // GPT::forward without the LM head.
  const int64_t T = ids.size(1);
  TLM_CHECK(T <= trunk.config().block_size, "TaskModel: {} tokens exceed block_size {}", T,
            trunk.config().block_size);
  Tensor x = trunk.embed(ids, 0, rng);  // [B,T,C]
  for (auto& block : trunk.h) x = block->forward(x, rng);
  if (trunk.ln_f) x = trunk.ln_f->forward(x);
  return x;
}

Tensor TaskModel::pooled(const Tensor& ids, const Tensor& mask, Rng& rng) {
  Tensor x = hidden(ids, rng);                                   // [B,T,C]
  Tensor m = cast(mask, x.dtype());                              // [B,T]
  Tensor s = squeeze(matmul(unsqueeze(m, 1), x), 1);             // [B,C] = sum_t m_t x_t
  Tensor n = sum(m, 1, /*keepdim=*/true);                        // [B,1]
  return div(s, n);
}

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------
namespace {

// Each option's names and values, in the order the help and the errors list them.
template <class E>
struct Named {
  const char* name;
  E value;
};
constexpr Named<TaskType> kTasks[] = {
    {"multilabel", TaskType::MultiLabel}, {"pairs", TaskType::Pairs}, {"lm_aux", TaskType::LmAux}};
// A task's losses; the first is its default.
constexpr Named<TaskLoss> kMultiLabelLosses[] = {{"zlpr", TaskLoss::Zlpr},
                                                 {"soft_zlpr", TaskLoss::SoftZlpr},
                                                 {"rdrop", TaskLoss::RDrop},
                                                 {"bce", TaskLoss::Bce},
                                                 {"bce_weighted", TaskLoss::BceWeighted}};
constexpr Named<TaskLoss> kPairsLosses[] = {{"cosent", TaskLoss::Cosent}};
constexpr Named<TaskLoss> kLmAuxLosses[] = {{"ce", TaskLoss::Ce}};
constexpr Named<TaskWeighting> kWeightings[] = {
    {"fixed", TaskWeighting::Fixed},          {"realtime", TaskWeighting::Realtime},
    {"uncertainty", TaskWeighting::Uncertainty}, {"gradnorm", TaskWeighting::GradNorm},
    {"mgda", TaskWeighting::Mgda},            {"main_aux", TaskWeighting::MainAux}};
constexpr Named<TaskLabels> kLabels[] = {{"groups", TaskLabels::Groups},
                                         {"rare_words", TaskLabels::RareWords}};
constexpr Named<TaskAux> kAux[] = {{"vowel", TaskAux::Vowel}, {"line_end", TaskAux::LineEnd}};

template <class E, size_t N>
std::vector<std::string> names_of(const Named<E> (&table)[N]) {
  std::vector<std::string> out;
  for (const auto& n : table) out.emplace_back(n.name);
  return out;
}

template <class E, size_t N>
const Named<E>* find_named(const Named<E> (&table)[N], const std::string& name) {
  for (const auto& n : table)
    if (name == n.name) return &n;
  return nullptr;
}

// The value named `name`; an unknown name is an error "task: unknown <what> 'x' (allowed: ...)".
template <class E, size_t N>
E parse_named(const Named<E> (&table)[N], const std::string& name, const char* what) {
  const Named<E>* n = find_named(table, name);
  TLM_CHECK(n != nullptr, "task: unknown {} '{}' (allowed: {})", what, name,
            fmt::join(names_of(table), ", "));
  return n->value;
}

template <class F>
decltype(auto) with_losses(TaskType task, F&& f) {
  switch (task) {
    case TaskType::MultiLabel: return f(kMultiLabelLosses);
    case TaskType::Pairs: return f(kPairsLosses);
    case TaskType::LmAux: break;
  }
  return f(kLmAuxLosses);
}

}  // namespace

std::vector<std::string> task_names() { return names_of(kTasks); }

std::vector<std::string> task_losses(const std::string& task) {
  const Named<TaskType>* t = find_named(kTasks, task);
  if (t == nullptr) return {};
  return with_losses(t->value, [](const auto& table) { return names_of(table); });
}

std::vector<std::string> task_weightings() { return names_of(kWeightings); }

TaskSetup parse_task_options(const TaskOptions& o, const TrainConfig& cfg) {
  TaskSetup s{};
  s.task = parse_named(kTasks, o.task, "task");
  s.names = o;
  if (s.names.loss.empty()) s.names.loss = task_losses(o.task).front();
  const Named<TaskLoss>* loss = with_losses(
      s.task, [&](const auto& table) { return find_named(table, s.names.loss); });
  TLM_CHECK(loss != nullptr, "task {}: unknown loss '{}' (allowed: {})", o.task, o.loss,
            fmt::join(task_losses(o.task), ", "));
  s.loss = loss->value;
  s.weighting = parse_named(kWeightings, o.weighting, "weighting");
  TLM_CHECK(s.task == TaskType::LmAux || s.weighting == TaskWeighting::Fixed,
            "task {}: --weighting applies to lm_aux only", o.task);
  TLM_CHECK(s.loss != TaskLoss::RDrop || cfg.dropout > 0,
            "task multilabel, loss rdrop: R-Drop needs two different dropout passes, but "
            "dropout = {} (allowed: dropout > 0)", cfg.dropout);
  TLM_CHECK(o.rdrop_alpha >= 0 && std::isfinite(o.rdrop_alpha),
            "task: rdrop_alpha = {} (allowed: >= 0)", o.rdrop_alpha);
  TLM_CHECK(o.eval_examples >= 2, "task: eval_examples = {} (allowed: >= 2)", o.eval_examples);
  s.labels = parse_named(kLabels, o.labels, "labels");
  TLM_CHECK(s.task == TaskType::MultiLabel || s.labels == TaskLabels::Groups,
            "task {}: --labels applies to multilabel only", o.task);
  s.aux = parse_named(kAux, o.aux, "aux");
  TLM_CHECK(s.task == TaskType::LmAux || s.aux == TaskAux::Vowel,
            "task {}: --aux applies to lm_aux only", o.task);
  TLM_CHECK(o.aux_weight >= 0 && std::isfinite(o.aux_weight),
            "task: aux_weight = {} (allowed: >= 0)", o.aux_weight);
  return s;
}

void validate_task_options(const TaskOptions& o, const TrainConfig& cfg) {
  (void)parse_task_options(o, cfg);
}

// ---------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------
namespace {

// Per-entry sigmoid cross-entropy, mean over all entries:
//   l = softplus(s) - y s  ( = -y log sigma(s) - (1-y) log sigma(-s) )
Tensor bce_loss(const Tensor& s, const Tensor& y) {
  return mean(sub(softplus(s), mul(s, y.to(s.dtype()))));
}

template <class T>
std::vector<T> pick(const std::vector<T>& v, const std::vector<size_t>& idx) {
  std::vector<T> out;
  for (size_t i : idx) out.push_back(v[i]);
  return out;
}

struct Runner {
  const TrainConfig& cfg;
  const TaskSetup& opt;
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<TaskModel> model;
  std::unique_ptr<nn::UncertaintyWeighting> uw;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<optim::LrSchedule> schedule;
  std::unique_ptr<GradientPipeline> pipeline;  // finite check and clip (train/run/grad_pipeline.h)
  Rng data_rng, dropout_rng;
  // multilabel / pairs
  std::vector<std::string> train_text, val_text, train_b, val_b;
  std::vector<std::vector<int32_t>> train_y, val_y;
  std::vector<std::vector<double>> train_soft;
  std::vector<double> train_label, val_label;
  int64_t num_labels = kNumLineLabels;  // multilabel K
  std::vector<std::string> rare_words;  // labels = rare_words
  Tensor pos_weight;                    // bce_weighted: [K] n_neg / n_pos over the training lines
  // lm_aux
  std::unique_ptr<Dataset> lm;
  std::vector<int32_t> vowel_of_id;
  int32_t newline_id = -1;              // aux = line_end

  Runner(const TrainConfig& c, const TaskSetup& o)
      : cfg(c), opt(o), data_rng(derive_seed(c.seed, Stream::Data)),  // train/run/seeds.h
        dropout_rng(derive_seed(c.seed, Stream::Dropout)) {}

  Tensor labels_tensor(const std::vector<std::vector<int32_t>>& y) const {
    std::vector<int32_t> flat;
    for (const auto& r : y) flat.insert(flat.end(), r.begin(), r.end());
    return Tensor::from_vector(flat, {static_cast<int64_t>(y.size()), num_labels});
  }

  // Occurrences of each label in a line: the word groups, or each rare word.
  std::vector<int32_t> label_counts(const std::string& line) const {
    if (opt.labels == TaskLabels::Groups) return line_label_counts(line);
    std::vector<int32_t> c(rare_words.size(), 0);
    for (const std::string& w : line_words(line))
      for (size_t k = 0; k < rare_words.size(); ++k) c[k] += w == rare_words[k] ? 1 : 0;
    return c;
  }
  void add_labelled(const std::string& line, std::vector<std::vector<int32_t>>& y,
                    std::vector<std::vector<double>>* soft) const {
    std::vector<int32_t> c = label_counts(line);
    if (soft) {
      soft->emplace_back();
      for (int32_t n : c) soft->back().push_back(1.0 - std::pow(0.25, n));
    }
    for (int32_t& v : c) v = v > 0 ? 1 : 0;
    y.push_back(std::move(c));
  }

  std::vector<size_t> batch_indices(size_t n) {
    std::vector<size_t> idx;
    for (int64_t i = 0; i < cfg.batch_size; ++i) idx.push_back(data_rng.randint(n));
    return idx;
  }

  // One training loss (a 0-D tensor) for multilabel / pairs.
  Tensor supervised_loss() {
    if (opt.task == TaskType::MultiLabel) {
      auto idx = batch_indices(train_text.size());
      EncodedLines e = encode_lines(*tok, pick(train_text, idx), cfg.block_size);
      Tensor y = labels_tensor(pick(train_y, idx));
      Tensor s = model->head->forward(model->pooled(e.ids, e.mask, dropout_rng));  // [B,K]
      switch (opt.loss) {
        case TaskLoss::Zlpr: return nn::zlpr_loss(s, y);
        case TaskLoss::Bce: return bce_loss(s, y);
        case TaskLoss::BceWeighted: return nn::weighted_bce_loss(s, y, pos_weight);
        default: break;
      }
      if (opt.loss == TaskLoss::SoftZlpr) {
        std::vector<double> flat;
        for (size_t i : idx) flat.insert(flat.end(), train_soft[i].begin(), train_soft[i].end());
        Tensor t = cast(Tensor::from_vector(flat, {cfg.batch_size, num_labels}), s.dtype());
        return nn::soft_zlpr_loss(s, t);
      }
      // rdrop: a second pass with other dropout masks.
      Tensor s2 = model->head->forward(model->pooled(e.ids, e.mask, dropout_rng));
      return nn::globalpointer_rdrop_loss(s, s2, y, opt.names.rdrop_alpha);
    }
    auto idx = batch_indices(train_text.size());
    EncodedLines a = encode_lines(*tok, pick(train_text, idx), cfg.block_size);
    EncodedLines b = encode_lines(*tok, pick(train_b, idx), cfg.block_size);
    Tensor c = nn::cosine_similarity(model->pooled(a.ids, a.mask, dropout_rng),
                                     model->pooled(b.ids, b.mask, dropout_rng));
    Tensor y = Tensor::from_vector(pick(train_label, idx), {cfg.batch_size});
    return nn::cosent_loss(c, y);
  }

  struct LmBatch {
    Tensor x, y, aux;  // [B,T] int32 each; aux float32 for line_end
  };
  LmBatch lm_batch(Split split, Rng& rng) {
    Batch b = lm->sample_batch(split, cfg.batch_size, cfg.block_size, rng);
    std::vector<int32_t> y = b.y.to_vector<int32_t>(), a(y.size());
    if (opt.aux == TaskAux::LineEnd)
      return {b.x, b.y, Tensor::from_vector(line_end_targets(y, cfg.block_size, newline_id), b.y.shape())};
    for (size_t i = 0; i < y.size(); ++i) a[i] = vowel_of_id[static_cast<size_t>(y[i])];
    return {b.x, b.y, Tensor::from_vector(a, b.y.shape())};
  }
  // [L_lm, L_aux] from one forward pass; `aux_out` (optional) gets the head's output [BT,n_out].
  std::vector<Tensor> lm_aux_losses(const LmBatch& b, Rng& rng, Tensor* aux_out = nullptr) {
    Tensor h = model->hidden(b.x, rng);                                         // [B,T,C]
    const int64_t C = h.size(-1);
    Tensor h2 = reshape(h, {-1, C});
    Tensor logits = matmul(h2, transpose(model->trunk.lm_head_weight(), 0, 1));  // [BT,V]
    Tensor aux = model->head->forward(h2);                                       // [BT,n_out]
    if (aux_out) *aux_out = aux;
    Tensor aux_loss = opt.aux == TaskAux::LineEnd
                          ? nn::mse_loss(reshape(aux, {-1}), cast(reshape(b.aux, {-1}), aux.dtype()))
                          : nn::cross_entropy(aux, reshape(b.aux, {-1}));
    return {nn::cross_entropy(logits, reshape(b.y, {-1})), aux_loss};
  }

  // One optimizer step (train/run/train_step.h: one micro-batch in fp32, the pipeline's finite
  // check and clipping, the update); returns the logged training values.
  nlohmann::json step(int64_t it) {
    model->train();
    nlohmann::json rec = {{"kind", "step"}, {"step", it}};
    auto loss_fn = [&]() -> Tensor {
      if (opt.task != TaskType::LmAux) {
        Tensor loss = supervised_loss();
        rec["loss"] = loss.item();
        return loss;
      }
      LmBatch b = lm_batch(Split::Train, data_rng);
      const TaskWeighting w = opt.weighting;
      Tensor total;
      if (w == TaskWeighting::Fixed || w == TaskWeighting::Realtime ||
          w == TaskWeighting::Uncertainty) {
        std::vector<Tensor> l = lm_aux_losses(b, dropout_rng);
        total = w == TaskWeighting::Fixed      ? nn::weighted_sum(l, {1.0, opt.names.aux_weight})
                : w == TaskWeighting::Realtime ? nn::realtime_normalized(l)
                                               : uw->forward(l);
        rec["lm_loss"] = l[0].item();
        rec["aux_loss"] = l[1].item();
      } else {
        // Gradient space: one forward/backward per task (the engine frees saved tensors), the
        // same batch and dropout masks for both (the dropout Rng is replayed).
        std::vector<Tensor> params = model->parameters();
        double values[2] = {0, 0};
        const Rng drop_start = dropout_rng;
        nn::TaskGradients g = nn::task_gradients(2, [&](int i) {
          Rng r = drop_start;
          Tensor l = lm_aux_losses(b, r)[i];
          values[i] = l.item();
          if (i == 1) dropout_rng = r;
          return l;
        }, params);
        std::vector<Tensor> u;
        if (w == TaskWeighting::GradNorm) {
          u = nn::gradnorm_normalized_combine(g);
        } else if (w == TaskWeighting::Mgda) {
          nn::MinNormResult info;
          u = nn::mgda_combine(g, &info);
          rec["alpha_lm"] = info.alpha[0];
        } else {
          nn::MainAuxResult info;
          u = nn::main_aux_combine(g[0], {g[1]}, &info);
          rec["lambda_aux"] = info.lambda[0];
        }
        for (size_t p = 0; p < params.size(); ++p) params[p].set_grad(u[p]);
        rec["lm_loss"] = values[0];
        rec["aux_loss"] = values[1];
        // The gradients are set: the step reports this value and backpropagates nothing.
        total = Tensor::full({}, values[0], DType::F64);
      }
      TLM_CHECK(std::isfinite(rec["lm_loss"].get<double>()) &&
                    std::isfinite(rec["aux_loss"].get<double>()),
                "task lm_aux: a loss is not finite at step {}", it);
      rec["loss"] = rec["lm_loss"];
      return total;
    };
    TrainStep train_step({.accumulation = 1, .precision = Precision::F32}, *optimizer, *pipeline);
    train_step.run(it, schedule->lr_at(it), [&](int64_t) -> TrainStep::LossFn { return loss_fn; });
    return rec;
  }

  nlohmann::json evaluate(int64_t it) {
    NoGradGuard no_grad;
    model->eval();
    nlohmann::json r = {{"kind", "eval"}, {"step", it}, {"task", opt.names.task}, {"loss", opt.names.loss}};
    Rng rng(0);
    const size_t chunk = 64;
    if (opt.task == TaskType::MultiLabel) {
      std::vector<Tensor> scores;
      for (size_t i = 0; i < val_text.size(); i += chunk) {
        std::vector<std::string> part(val_text.begin() + i,
                                      val_text.begin() + std::min(val_text.size(), i + chunk));
        EncodedLines e = encode_lines(*tok, part, cfg.block_size);
        scores.push_back(model->head->forward(model->pooled(e.ids, e.mask, rng)));
      }
      Tensor s = concat(scores, 0);
      Tensor y = labels_tensor(val_y);
      MultiLabelCounts c = multilabel_counts(s, y, 0.0);
      r["micro_f1"] = c.micro_f1();
      r["macro_f1"] = c.macro_f1();
      r["exact_match"] = c.exact_match;
      r["val_zlpr"] = nn::zlpr_loss(s, y).item();
    } else if (opt.task == TaskType::Pairs) {
      std::vector<double> cos;
      for (size_t i = 0; i < val_text.size(); i += chunk) {
        const size_t e = std::min(val_text.size(), i + chunk);
        std::vector<std::string> pa(val_text.begin() + i, val_text.begin() + e);
        std::vector<std::string> pb(val_b.begin() + i, val_b.begin() + e);
        EncodedLines a = encode_lines(*tok, pa, cfg.block_size);
        EncodedLines b = encode_lines(*tok, pb, cfg.block_size);
        Tensor c = nn::cosine_similarity(model->pooled(a.ids, a.mask, rng),
                                         model->pooled(b.ids, b.mask, rng));
        for (double v : c.to_vector<double>()) cos.push_back(v);
      }
      r["spearman"] = spearman(cos, val_label);
      r["val_cosent"] = nn::cosent_loss(Tensor::from_vector(cos, {int64_t(cos.size())}),
                                        Tensor::from_vector(val_label, {int64_t(cos.size())}))
                            .item();
    } else {
      Rng eval_rng(derive_seed(cfg.seed, Stream::Eval));  // the same batches every time
      double lm_sum = 0, aux_sum = 0, aux_correct = 0, aux_total = 0, t_sum = 0, t_sq = 0;
      const int64_t n = std::max<int64_t>(1, cfg.eval_iters);
      for (int64_t i = 0; i < n; ++i) {
        LmBatch b = lm_batch(Split::Val, eval_rng);
        Tensor out;
        std::vector<Tensor> l = lm_aux_losses(b, rng, &out);
        lm_sum += l[0].item();
        aux_sum += l[1].item();
        std::vector<float> a = out.to(DType::F32).to_vector<float>();
        if (opt.aux == TaskAux::LineEnd) {
          for (float t : b.aux.to_vector<float>()) t_sum += t, t_sq += double(t) * t, aux_total += 1;
          continue;
        }
        std::vector<int32_t> y = b.aux.to_vector<int32_t>();
        for (size_t k = 0; k < y.size(); ++k) aux_correct += (a[2 * k + 1] > a[2 * k]) == (y[k] == 1);
        aux_total += double(y.size());
      }
      r["weighting"] = opt.names.weighting;
      r["aux"] = opt.names.aux;
      r["val_lm_loss"] = lm_sum / double(n);
      r["val_aux_loss"] = aux_sum / double(n);
      if (opt.aux == TaskAux::LineEnd) {
        const double mu = t_sum / aux_total, var = t_sq / aux_total - mu * mu;
        r["val_aux_target_var"] = var;  // the squared error of the best constant
        r["val_aux_r2"] = 1.0 - r["val_aux_loss"].get<double>() / var;
      } else {
        r["val_aux_accuracy"] = aux_correct / aux_total;
      }
    }
    model->train();
    return r;
  }
};

}  // namespace

nlohmann::json run_task(const TrainConfig& cfg, const TaskOptions& options, std::FILE* out) {
  const TaskSetup setup = parse_task_options(options, cfg);
  const TaskOptions& o = setup.names;
  cfg.validate();
  kernels::set_num_threads(static_cast<int>(cfg.threads));
  const std::string text = training_text(cfg);
  Runner run(cfg, setup);
  run.tok = std::make_unique<CharTokenizer>(CharTokenizer::build(text));
  Rng init(derive_seed(cfg.seed, Stream::Init));
  int64_t n_out = 0;
  auto cap = [&](auto& v) {
    if (static_cast<int64_t>(v.size()) > o.eval_examples) v.resize(static_cast<size_t>(o.eval_examples));
  };
  if (setup.task == TaskType::MultiLabel) {
    TaskLines lines = task_lines(text);
    TLM_CHECK(lines.train.size() >= 10 && !lines.val.empty(),
              "task multilabel: {} has {} usable lines (need >= 11)", cfg.data,
              lines.train.size() + lines.val.size());
    run.train_text = lines.train;
    run.val_text = lines.val;
    if (setup.labels == TaskLabels::RareWords) {
      run.rare_words = rare_label_words(lines.train);
      TLM_CHECK(!run.rare_words.empty(), "task multilabel, labels rare_words: no word of {} is "
                "in at most 1 % of its lines", cfg.data);
      run.num_labels = static_cast<int64_t>(run.rare_words.size());
    }
    for (const auto& l : lines.train) run.add_labelled(l, run.train_y, &run.train_soft);
    cap(run.val_text);
    for (const auto& l : run.val_text) run.add_labelled(l, run.val_y, nullptr);
    std::vector<double> w(static_cast<size_t>(run.num_labels));
    for (size_t k = 0; k < w.size(); ++k) {
      int64_t pos = 0;
      for (const auto& y : run.train_y) pos += y[k];
      w[k] = double(int64_t(run.train_y.size()) - pos) / double(std::max<int64_t>(1, pos));
    }
    run.pos_weight = Tensor::from_vector(w, {run.num_labels});
    n_out = run.num_labels;
  } else if (setup.task == TaskType::Pairs) {
    TaskLines lines = task_lines(text);
    for (const auto& p : pair_examples(lines.train, derive_seed(cfg.seed, Stream::TaskPairs)))
      run.train_text.push_back(p.a), run.train_b.push_back(p.b), run.train_label.push_back(p.label);
    for (const auto& p : pair_examples(lines.val, derive_seed(cfg.seed, Stream::TaskPairsVal)))
      run.val_text.push_back(p.a), run.val_b.push_back(p.b), run.val_label.push_back(p.label);
    cap(run.val_text), cap(run.val_b), cap(run.val_label);
  } else {
    run.lm = std::make_unique<Dataset>(text, *run.tok, 1.0 - cfg.val_fraction, cfg.data);
    run.lm->check_context(cfg.block_size);
    for (int32_t id = 0; id < run.tok->vocab_size(); ++id)
      run.vowel_of_id.push_back(is_vowel_token(run.tok->decode(std::vector<int32_t>{id})) ? 1 : 0);
    n_out = 2;
    if (setup.aux == TaskAux::LineEnd) {
      const std::vector<int32_t> nl = run.tok->encode("\n");
      TLM_CHECK(nl.size() == 1, "task lm_aux, aux line_end: {} has no newline character", cfg.data);
      run.newline_id = nl[0];
      n_out = 1;
    }
  }
  run.model = std::make_unique<TaskModel>(gpt_config(cfg, run.tok->vocab_size()), n_out, init);
  auto named = run.model->named_parameters();
  if (setup.task == TaskType::LmAux && setup.weighting == TaskWeighting::Uncertainty) {
    run.uw = std::make_unique<nn::UncertaintyWeighting>(
        std::vector<nn::TaskKind>{nn::TaskKind::kClassification,
                                  setup.aux == TaskAux::LineEnd ? nn::TaskKind::kRegression
                                                      : nn::TaskKind::kClassification});
    named.emplace_back("uncertainty.log_var", run.uw->log_var);  // 1-D: no weight decay
  }
  run.optimizer = make_optimizer(cfg, named);  // train/launch/optimizer_setup.h
  run.schedule = make_schedule(cfg);
  run.pipeline = std::make_unique<GradientPipeline>(
      GradPipelineOptions{.grad_clip = cfg.grad_clip, .nan_policy = cfg.nan_policy}, named);

  std::filesystem::create_directories(cfg.out_dir);
  std::ofstream log(std::filesystem::path(cfg.out_dir) / "task_log.jsonl");
  TLM_CHECK(log.good(), "task: cannot write {}/task_log.jsonl", cfg.out_dir);
  if (out)
    fmt::print(out, "tlm task: {} ({} loss{}), {} train / {} held-out examples, {} parameters\n",
               o.task, o.loss, setup.task == TaskType::LmAux ? ", weighting " + o.weighting : "",
               setup.task == TaskType::LmAux ? run.lm->size(Split::Train) : int64_t(run.train_text.size()),
               setup.task == TaskType::LmAux ? run.lm->size(Split::Val) : int64_t(run.val_text.size()),
               run.model->num_parameters());
  nlohmann::json last;
  for (int64_t it = 0; it < cfg.max_iters; ++it) {
    if (it % cfg.eval_interval == 0) {
      last = run.evaluate(it);
      log << last.dump() << "\n";
      if (out) fmt::print(out, "{}\n", last.dump());
    }
    nlohmann::json rec = run.step(it);
    log << rec.dump() << "\n";
    if (out && (it % cfg.log_interval == 0))
      fmt::print(out, "step {}: loss {:.4f}\n", it, rec["loss"].get<double>());
  }
  last = run.evaluate(cfg.max_iters);
  log << last.dump() << "\n";
  if (run.uw) {
    std::vector<double> s = run.uw->log_var.to_vector<double>();
    last["log_var"] = s;
  }
  if (setup.task == TaskType::MultiLabel) {
    std::vector<double> prevalence;
    for (size_t k = 0; k < static_cast<size_t>(run.num_labels); ++k) {
      int64_t pos = 0;
      for (const auto& y : run.train_y) pos += y[k];
      prevalence.push_back(double(pos) / double(run.train_y.size()));
    }
    last["labels"] = o.labels;
    last["train_prevalence"] = prevalence;
    if (!run.rare_words.empty()) last["label_words"] = run.rare_words;
  }
  return last;
}

}  // namespace tlm::train
