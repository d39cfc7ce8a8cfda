#include "train/diag/diag.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

#include "nn/loss/cross_entropy.h"
#include "optim/clip.h"
#include "optim/registry.h"
#include "optim/schedule.h"
#include "tensor/kernels/parallel.h"
#include "train/data/data.h"
#include "train/data/tokenizer.h"
#include "train/run/mixed_precision.h"
#include "train/launch/optimizer_setup.h"
#include "train/run/seeds.h"
#include "train/run/train_step.h"
#include "train/run/trainer.h"

namespace tlm::train::diag {
namespace {

std::string num(double v) { return fmt::format("{:.17g}", v); }

// Token text for a CSV cell: printable ASCII kept, everything else (newlines, bytes of a
// multi-byte character split by BPE) as \xNN, so the file is always valid UTF-8.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\')
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

double sq_norm(const Tensor& t) {
  double s = 0;
  for (double v : t.to_vector<double>()) s += v * v;
  return s;
}

}  // namespace

std::string token_cell(const std::string& text) { return csv_escape(printable(text)); }

std::string Table::to_csv() const {
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + cells[i];
    out += "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

void Table::write_csv(const std::string& path) const {
  // Flushed and checked here, so a full disk is an error, not an empty CSV.
  std::ofstream f(path, std::ios::trunc | std::ios::binary);
  TLM_CHECK(f.is_open(), "diag: cannot open {} for writing: {}", path, std::strerror(errno));
  const std::string csv = to_csv();
  f.write(csv.data(), static_cast<std::streamsize>(csv.size()));
  f.flush();
  TLM_CHECK(f.good(), "diag: cannot write {}: {}", path, std::strerror(errno));
  f.close();
  TLM_CHECK(!f.fail(), "diag: cannot write {}: closing failed: {}", path, std::strerror(errno));
}

// ---- cost ----

std::string component_of(const nn::GPT& model, const std::string& name) {
  const bool tied = model.config().tie_weights;
  if (starts_with(name, "wte.")) return tied ? "head" : "embeddings";
  if (starts_with(name, "wpe.")) return "embeddings";
  if (starts_with(name, "lm_head.")) return "head";
  if (starts_with(name, "ln_f.")) return "norms";
  if (starts_with(name, "h.")) {  // h.<i>.<name in block i>: the block says (nn/block.h)
    const size_t dot = name.find('.', 2);
    const size_t i = static_cast<size_t>(std::stoll(name.substr(2, dot - 2)));
    TLM_CHECK(dot != std::string::npos && i < model.h.size(), "diag: no block for '{}'", name);
    switch (model.h[i]->component_of(name.substr(dot + 1))) {
      case nn::CostComponent::Attention: return "attention";
      case nn::CostComponent::Mlp: return "mlp";
      case nn::CostComponent::Norms: return "norms";
      case nn::CostComponent::Other: return "other";
    }
  }
  return "other";
}

std::vector<ComponentCost> cost_by_component(const nn::GPT& model) {
  const auto& c = model.config();
  std::vector<ComponentCost> rows = {{"embeddings"}, {"attention"}, {"mlp"},
                                     {"norms"},      {"head"},      {"other"}};
  auto at = [&](const std::string& comp) -> ComponentCost& {
    for (auto& r : rows)
      if (r.component == comp) return r;
    TLM_FAIL("diag: no component '{}'", comp);
  };
  for (const auto& [name, t] : model.named_parameters()) {
    ComponentCost& r = at(component_of(model, name));
    r.params += t.numel();
    // GPT::flops_per_token counts 6 FLOPs per non-embedding weight (wpe is the one left out).
    if (!starts_with(name, "wpe.")) r.flops_per_token += 6.0 * static_cast<double>(t.numel());
  }
  // The score products of every block's attention (12 C T per layer for block = transformer:
  // 2 matmuls x 2 FLOPs x T x C per token, x3 forward + backward), as GPT::flops_per_token.
  double scores = 0;
  for (const auto& b : model.h) scores += b->attention_flops_per_token(c.block_size);
  at("attention").flops_per_token += scores;
  if (at("other").params == 0) rows.pop_back();
  return rows;
}

Table cost_table(const std::vector<ComponentCost>& rows) {
  Table t{{"component", "params", "flops_per_token", "flops_fraction"}, {}};
  double total = 0;
  for (const auto& r : rows) total += r.flops_per_token;
  for (const auto& r : rows)
    t.rows.push_back({r.component, std::to_string(r.params), num(r.flops_per_token),
                      num(total > 0 ? r.flops_per_token / total : 0)});
  return t;
}

// ---- grads ----

std::string group_of(const std::string& name) {
  if (starts_with(name, "h.")) return name.substr(0, name.find('.', 2));
  if (starts_with(name, "wte.") || starts_with(name, "wpe.")) return "embed";
  return "head";
}

std::vector<GradRecord> grad_increments(const TrainConfig& cfg_in, int64_t steps) {
  TrainConfig cfg = cfg_in;
  cfg.validate();
  TLM_CHECK(steps > 0, "diag grads: --steps must be > 0, got {}", steps);
  kernels::set_num_threads(static_cast<int>(cfg.threads));
  // What `tlm train` builds for this config: the same text, tokenizer, initial weights and
  // random streams (train/run/seeds.h), so the steps below see the batches training sees.
  const std::string text = training_text(cfg);
  auto tok = make_tokenizer(cfg.tokenizer, text, cfg.entry_values);
  Dataset data(text, *tok, 1.0 - cfg.val_fraction, cfg.data.empty() ? "fortunes" : cfg.data);
  data.check_context(cfg.block_size);
  Rng init(derive_seed(cfg.seed, Stream::Init)), data_rng(derive_seed(cfg.seed, Stream::Data)),
      drop_rng(derive_seed(cfg.seed, Stream::Dropout));
  nn::GPT model(gpt_config(cfg, tok->vocab_size()), init);
  nn::LossOptions loss_options = lm_loss_options(cfg);
  if (nn::loss_registry().get(cfg.loss).needs_cost_embedding)  // emo: the LM head at the start
    loss_options.emo_embedding = model.lm_head_weight().detach().clone();
  auto opt = make_optimizer(cfg, model.named_parameters());  // train/launch/optimizer_setup.h
  auto sched = make_schedule(cfg);
  std::unique_ptr<optim::LossScaler> scaler = make_loss_scaler(cfg);
  const GradientPipeline pipeline({.grad_clip = cfg.grad_clip, .nan_policy = NanPolicy::Stop},
                                  model.named_parameters(), nullptr, nullptr, scaler.get());
  // Groups in model order: embed, h.0, .., h.L-1, head.
  std::vector<std::string> groups;
  std::map<std::string, std::vector<Tensor>> members;
  for (const auto& [name, t] : model.named_parameters()) {
    const std::string g = group_of(name);
    if (!members.count(g)) groups.push_back(g);
    members[g].push_back(t);
  }
  std::stable_partition(groups.begin(), groups.end(),
                        [](const std::string& g) { return g != "head"; });

  std::vector<GradRecord> out;
  std::vector<GradRecord> rec;
  std::map<std::string, std::vector<std::vector<double>>> before;  // copies
  int64_t step = 0;
  // The gradients as the update will read them (averaged, unscaled, before clipping) and the
  // weights before it.
  auto record = [&](const GradDecision& d) {
    rec.clear();
    before.clear();
    for (const auto& g : groups) {
      GradRecord r{step, g, 0, 0, 0, d.loss};
      double gs = 0, ps = 0;
      for (const Tensor& p : members[g]) {
        if (p.grad().defined()) gs += sq_norm(p.grad());
        ps += sq_norm(p);
        before[g].push_back(p.to_vector<double>());
      }
      r.grad_norm = std::sqrt(gs);
      r.param_norm = std::sqrt(ps);
      rec.push_back(r);
    }
  };
  // The step of `tlm train` (train/run/train_step.h).
  TrainStep train_step({.accumulation = cfg.gradient_accumulation_steps,
                        .precision = cfg.precision, .before_update = record},
                       *opt, pipeline);
  model.train();
  for (; step < steps; ++step) {
    const StepResult s = train_step.run(step, sched->lr_at(step), [&](int64_t) -> TrainStep::LossFn {
      Batch b = data.sample_batch(Split::Train, cfg.batch_size, cfg.block_size, data_rng);
      return [&, b, logits = Tensor()]() mutable {
        logits = model.forward(b.x, drop_rng);  // [B,T,V]
        PrecisionGuard fp32_loss(Precision::F32);
        return nn::lm_loss(cfg.loss, logits, b.y, loss_options);
      };
    });
    if (!s.applied) continue;  // fp16: the loss scaler skipped the step (no update to measure)
    for (auto& r : rec) {
      double ds = 0;
      const auto& ps = members[r.group];
      for (size_t i = 0; i < ps.size(); ++i) {
        const std::vector<double> a = ps[i].to_vector<double>();
        const std::vector<double>& b = before[r.group][i];
        for (size_t j = 0; j < a.size(); ++j) ds += (a[j] - b[j]) * (a[j] - b[j]);
      }
      r.update_ratio = r.param_norm > 0 ? std::sqrt(ds) / r.param_norm : 0;
      out.push_back(r);
    }
  }
  return out;
}

Table grad_table(const std::vector<GradRecord>& rows) {
  Table t{{"step", "group", "grad_norm", "param_norm", "update_ratio", "loss"}, {}};
  for (const auto& r : rows)
    t.rows.push_back({std::to_string(r.step), r.group, num(r.grad_norm), num(r.param_norm),
                      num(r.update_ratio), num(r.loss)});
  return t;
}

// ---- entropy ----

std::vector<EntropyRecord> attention_entropy(nn::GPT& model, const std::vector<int32_t>& tokens,
                                             const std::vector<int64_t>& lengths, int64_t batches) {
  TLM_CHECK(batches > 0, "diag entropy: --batches must be > 0, got {}", batches);
  NoGradGuard no_grad;
  const bool was_training = model.training();
  model.eval();
  std::vector<EntropyRecord> out;
  Rng rng(0);
  const int64_t L = static_cast<int64_t>(model.h.size());
  for (int64_t n : lengths) {
    TLM_CHECK(n > 0 && n <= model.config().block_size,
              "diag entropy: length {} must be in [1, block_size = {}]", n,
              model.config().block_size);
    const int64_t avail = static_cast<int64_t>(tokens.size()) - n;
    TLM_CHECK(avail >= 0, "diag entropy: {} tokens are fewer than the length {}", tokens.size(), n);
    std::vector<int32_t> ids;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t start = batches > 1 ? avail * b / (batches - 1) : 0;
      ids.insert(ids.end(), tokens.begin() + start, tokens.begin() + start + n);
    }
    std::vector<nn::AttentionProbe> probes(static_cast<size_t>(L));
    for (int64_t l = 0; l < L; ++l) model.h[l]->set_attention_probe(&probes[l]);
    model.forward(Tensor::from_vector(ids, {batches, n}), rng);
    for (int64_t l = 0; l < L; ++l) {
      model.h[l]->set_attention_probe(nullptr);
      for (int64_t h = 0; h < static_cast<int64_t>(probes[l].sum_all.size()); ++h)
        out.push_back({n, l, h, probes[l].mean_last(h), probes[l].mean_all(h),
                       std::log(static_cast<double>(n))});
    }
  }
  model.train(was_training);
  return out;
}

Table entropy_table(const std::vector<EntropyRecord>& rows) {
  Table t{{"length", "layer", "head", "entropy_last", "entropy_mean", "log_n"}, {}};
  for (const auto& r : rows)
    t.rows.push_back({std::to_string(r.length), std::to_string(r.layer), std::to_string(r.head),
                      num(r.entropy_last), num(r.entropy_mean), num(r.log_n)});
  return t;
}

// ---- unargmaxable ----

namespace {

// z = W x + b; returns the index of the largest logit and the margin of k over the rest.
int64_t top(const std::vector<double>& W, const std::vector<double>& b, int64_t V, int64_t d,
            const std::vector<double>& x, int64_t k, double* margin) {
  int64_t best = 0;
  double best_z = -INFINITY, zk = 0, other = -INFINITY;
  for (int64_t i = 0; i < V; ++i) {
    double z = b.empty() ? 0.0 : b[i];
    for (int64_t j = 0; j < d; ++j) z += W[i * d + j] * x[j];
    if (z > best_z) best_z = z, best = i;
    if (i == k)
      zk = z;
    else
      other = std::max(other, z);
  }
  if (margin) *margin = zk - other;
  return best;
}

}  // namespace

ArgmaxResult argmaxable(const std::vector<double>& W, const std::vector<double>& b, int64_t V,
                        int64_t d, int64_t k, const UnargmaxOptions& o) {
  TLM_CHECK(
      static_cast<int64_t>(W.size()) == V * d && (b.empty() || static_cast<int64_t>(b.size()) == V),
      "unargmaxable: W has {} entries, b {}; expected V x d = {} x {} and V or none", W.size(),
      b.size(), V, d);
  TLM_CHECK(k >= 0 && k < V, "unargmaxable: token {} is not in [0, {})", k, V);
  ArgmaxResult r;
  r.token = k;
  auto bias = [&](int64_t i) { return b.empty() ? 0.0 : b[i]; };
  if (V == 1) {
    r.status = "argmaxable", r.method = "braid_reflect", r.witness.assign(d, 0.0),
    r.margin = INFINITY;
    return r;
  }
  // 1. Braid-Reflect.
  std::vector<double> x(W.begin() + k * d, W.begin() + (k + 1) * d);
  const int64_t patience = o.patience > 0 ? o.patience : 2 * V;
  for (int64_t it = 0; it <= patience; ++it) {
    double margin = 0;
    const int64_t j = top(W, b, V, d, x, k, &margin);
    if (j == k && margin > 0) {
      r.status = "argmaxable", r.method = "braid_reflect", r.iterations = it, r.margin = margin;
      r.witness = x;
      return r;
    }
    if (j == k) break;  // a tie: reflection cannot help
    double aa = 0, ax = bias(k) - bias(j);
    for (int64_t t = 0; t < d; ++t) {
      const double a = W[k * d + t] - W[j * d + t];
      aa += a * a;
      ax += a * x[t];
    }
    if (aa == 0) break;  // w_k = w_j: no hyperplane to reflect across
    for (int64_t t = 0; t < d; ++t) x[t] -= 2.0 * ax / aa * (W[k * d + t] - W[j * d + t]);
  }
  // 2. Min-norm point of the lifted hull, pairwise Frank-Wolfe. Vertices c_i (i != k) and
  // e = (0, .., 0, 1), in dimension d + 1.
  const int64_t D = d + 1;
  std::vector<std::vector<double>> c;
  for (int64_t i = 0; i < V; ++i) {
    if (i == k) continue;
    std::vector<double> v(D);
    for (int64_t t = 0; t < d; ++t) v[t] = W[k * d + t] - W[i * d + t];
    v[d] = bias(k) - bias(i);
    c.push_back(std::move(v));
  }
  std::vector<double> e(D, 0.0);
  e[d] = 1.0;
  c.push_back(e);
  const int64_t M = static_cast<int64_t>(c.size());
  double scale = 0;
  for (const auto& v : c) {
    double s = 0;
    for (double a : v) s += a * a;
    scale = std::max(scale, std::sqrt(s));
  }
  std::vector<double> lambda(M, 0.0), p = e;
  lambda[M - 1] = 1.0;
  auto dot = [&](const std::vector<double>& a, const std::vector<double>& bb) {
    double s = 0;
    for (int64_t t = 0; t < D; ++t) s += a[t] * bb[t];
    return s;
  };
  r.method = "frank_wolfe";
  r.status = "undecided";
  for (int64_t it = 0; it < o.max_iters; ++it) {
    r.iterations = it;
    double pn = std::sqrt(dot(p, p));
    r.min_norm = pn;
    if (pn <= o.tol * scale) {
      r.status = "unargmaxable";
      return r;
    }
    int64_t s = 0, v = -1;
    double smin = INFINITY, vmax = -INFINITY;
    for (int64_t i = 0; i < M; ++i) {
      const double g = dot(p, c[i]);
      if (g < smin) smin = g, s = i;
      if (lambda[i] > 0 && g > vmax) vmax = g, v = i;
    }
    if (smin > 0) {  // a strictly separating direction: the certificate
      std::vector<double> w(p.begin(), p.begin() + d);
      for (double& a : w) a /= p[d];
      double margin = 0;
      if (top(W, b, V, d, w, k, &margin) == k && margin > 0) {
        r.status = "argmaxable", r.margin = margin, r.witness = w;
        return r;
      }
    }
    // Pairwise step: move weight from the worst active vertex v to the best vertex s.
    std::vector<double> dir(D);
    for (int64_t t = 0; t < D; ++t) dir[t] = c[s][t] - c[v][t];
    const double dd = dot(dir, dir);
    if (dd == 0) break;
    const double gamma = std::clamp(-dot(p, dir) / dd, 0.0, lambda[v]);
    if (gamma == 0) break;
    lambda[s] += gamma;
    lambda[v] -= gamma;
    for (int64_t t = 0; t < D; ++t) p[t] += gamma * dir[t];
  }
  if (r.min_norm <= 1e3 * o.tol * scale) r.status = "unargmaxable";
  return r;
}

std::vector<ArgmaxResult> unargmaxable(const std::vector<double>& W, const std::vector<double>& b,
                                       int64_t V, int64_t d, const UnargmaxOptions& o) {
  std::vector<ArgmaxResult> out;
  for (int64_t k = 0; k < V; ++k) out.push_back(argmaxable(W, b, V, d, k, o));
  return out;
}

Table unargmax_table(const std::vector<ArgmaxResult>& rows, const std::vector<std::string>& text) {
  Table t{{"token", "text", "status", "method", "iterations", "margin", "min_norm"}, {}};
  for (const auto& r : rows)
    t.rows.push_back(
        {std::to_string(r.token),
         csv_escape(printable(r.token < static_cast<int64_t>(text.size()) ? text[r.token] : "")),
         r.status, r.method, std::to_string(r.iterations), num(r.margin), num(r.min_norm)});
  return t;
}

}  // namespace tlm::train::diag
