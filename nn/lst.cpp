#include "nn/lst.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/grad_mode.h"
#include "nn/generate.h"
#include "nn/loss/cross_entropy.h"

namespace tlm::nn {

namespace {

// Layer `layer`'s side block: the backbone's block options (nn/gpt.h) at width C/r.
BlockOptions side_block_options(const GPTConfig& c, int64_t layer, int64_t width, int64_t hidden) {
  BlockOptions o = block_options(c, layer);
  o.attn.n_embd = width;
  o.mlp_hidden = hidden;
  return o;
}

// Backbone block i as a Transformer block: the pruning rules below read its heads and MLP
// units (checked() refuses other block types first).
const TransformerBlock& transformer_at(const GPT& g, size_t i) {
  return static_cast<const TransformerBlock&>(*g.h[i]);
}

// The backbone must be prunable by r; every error names lst_reduction and the size.
const GPT& checked(const GPT& g, const LSTOptions& o) {
  const GPTConfig& c = g.config();
  for (const auto& b : g.h)
    TLM_CHECK(dynamic_cast<const TransformerBlock*>(b.get()) != nullptr, "lst: block = {} is "
              "not supported: the side network is pruned from attention heads (q/k and v dims) "
              "and MLP units, which only block = transformer has", c.block);
  TLM_CHECK(o.reduction >= 1, "lst_reduction: must be >= 1, got {}", o.reduction);
  TLM_CHECK(std::isfinite(o.gate_temperature) && o.gate_temperature > 0,
            "lst_gate_temperature: must be > 0, got {}", o.gate_temperature);
  const int64_t r = o.reduction, C = c.n_embd, D = C / c.n_head;
  TLM_CHECK(C % r == 0, "lst_reduction: {} does not divide the backbone width n_embd = {} (the "
            "side width is n_embd / lst_reduction)", r, C);
  TLM_CHECK(D % r == 0, "lst_reduction: {} does not divide the backbone head size n_embd / "
            "n_head = {} / {} = {} (every head is kept with head size {} / lst_reduction)", r, C,
            c.n_head, D, D);
  const int64_t hidden = transformer_at(g, 0).mlp.hidden();
  TLM_CHECK(hidden % r == 0, "lst_reduction: {} does not divide the backbone MLP hidden size {}",
            r, hidden);
  TLM_CHECK(!rotates_pairs(c.pos) || (D / r) % 2 == 0, "lst_reduction: {} gives the side heads an odd "
            "size {} / {} = {}, but pos = {} needs an even head size", r, D, r, D / r, name_of(c.pos));
  return g;
}

// Indices of the k largest scores, in ascending index order (ties: the lower index).
std::vector<int64_t> top_k(const std::vector<double>& score, int64_t k) {
  std::vector<int64_t> idx(score.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return score[a] > score[b]; });
  idx.resize(static_cast<size_t>(k));
  std::sort(idx.begin(), idx.end());
  return idx;
}

// L1 norms of the rows (axis = 1 summed) or columns (axis = 0 summed) of a 2-D tensor.
std::vector<double> l1(const Tensor& w, int axis) {
  const int64_t R = w.shape()[0], Cc = w.shape()[1];
  const std::vector<double> v = w.contiguous().to_vector<double>();
  std::vector<double> out(static_cast<size_t>(axis == 1 ? R : Cc), 0.0);
  for (int64_t i = 0; i < R; ++i)
    for (int64_t j = 0; j < Cc; ++j) out[static_cast<size_t>(axis == 1 ? i : j)] += std::abs(v[i * Cc + j]);
  return out;
}

void accumulate(std::vector<double>& acc, const std::vector<double>& add) {
  for (size_t i = 0; i < acc.size(); ++i) acc[i] += add[i];
}

// w[rows] (1-D) or w[rows][:, cols] (2-D, cols non-null), in w's dtype.
Tensor take(const Tensor& w, const std::vector<int64_t>& rows, const std::vector<int64_t>* cols) {
  const std::vector<double> v = w.contiguous().to_vector<double>();
  std::vector<double> out;
  if (w.dim() == 1) {
    for (int64_t i : rows) out.push_back(v[static_cast<size_t>(i)]);
    return Tensor::from_vector(out, {static_cast<int64_t>(rows.size())}).to(w.dtype());
  }
  TLM_CHECK(w.dim() == 2 && cols, "lst: cannot prune a tensor of shape {}", shape_str(w.shape()));
  const int64_t Cc = w.shape()[1];
  for (int64_t i : rows)
    for (int64_t j : *cols) out.push_back(v[static_cast<size_t>(i * Cc + j)]);
  return Tensor::from_vector(out, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(cols->size())})
      .to(w.dtype());
}

}  // namespace

LadderSide::LadderSide(GPT& backbone, const LSTOptions& options, Rng& rng)
    : backbone_(&backbone), opt_(options),
      width_(checked(backbone, options).config().n_embd / options.reduction) {
  const GPTConfig& c = backbone.config();
  const int64_t C = c.n_embd, L = c.n_layer;
  const int64_t hidden = transformer_at(backbone, 0).mlp.hidden() / opt_.reduction;
  backbone.set_requires_grad(false);
  for (int64_t i = 0; i <= L; ++i) {
    down.push_back(std::make_unique<Linear>(C, width_, /*bias=*/true, rng));
    register_module("down." + std::to_string(i), *down.back());
  }
  register_parameter("gate", gate, Tensor::zeros({L}));
  for (int64_t i = 0; i < L; ++i) {
    blocks.push_back(std::make_unique<TransformerBlock>(side_block_options(c, i, width_, hidden), rng));
    register_module("blocks." + std::to_string(i), *blocks.back());
  }
  ln_f = make_norm(c.norm_type, width_, c.bias, c.key_values().number("norm_eps"));
  register_module("ln_f", *ln_f);
  up = std::make_unique<Linear>(width_, C, /*bias=*/false, rng);
  register_module("up", *up);
  prune_from_backbone_();
}

void LadderSide::prune_from_backbone_() {
  NoGradGuard no_grad;
  const GPT& g = *backbone_;
  const GPTConfig& c = g.config();
  const int64_t C = c.n_embd, H = c.n_head, D = C / H, d = D / opt_.reduction;
  // The importance of each backbone weight: opt_.importance[name] (empirical Fisher), else |W|
  // (l1 takes |.|, a no-op on a non-negative importance).
  std::map<const TensorImpl*, Tensor> score_of;
  for (const auto& [name, p] : g.named_parameters()) {
    auto it = opt_.importance.find(name);
    if (it == opt_.importance.end()) continue;
    TLM_CHECK(it->second.shape() == p.shape(), "lst: importance of '{}' has shape {}, the "
              "parameter {}", name, shape_str(it->second.shape()), shape_str(p.shape()));
    score_of[p.impl().get()] = it->second;
  }
  for (const auto& [name, t] : opt_.importance) {
    bool known = false;
    for (const auto& [pname, p] : g.named_parameters()) known = known || pname == name;
    TLM_CHECK(known, "lst: importance given for '{}', which is not a backbone parameter", name);
  }
  auto l1s = [&](const Tensor& w, int axis) {
    auto it = score_of.find(w.impl().get());
    return l1(it == score_of.end() ? w : it->second, axis);
  };
  // Residual dims: L1 mass of every weight that reads or writes the residual stream.
  std::vector<double> res = l1s(g.wte.weight, 0);
  if (g.wpe) accumulate(res, l1s(g.wpe->weight, 0));
  for (size_t i = 0; i < g.h.size(); ++i) {
    const TransformerBlock& b = transformer_at(g, i);
    accumulate(res, l1s(b.attn.c_attn.weight, 0));
    accumulate(res, l1s(b.attn.c_proj.weight, 1));
    accumulate(res, l1s(b.mlp.c_fc.weight, 0));
    accumulate(res, l1s(b.mlp.c_proj.weight, 1));
  }
  const std::vector<int64_t> S = top_k(res, width_);

  for (size_t layer = 0; layer < g.h.size(); ++layer) {
    const TransformerBlock& b = transformer_at(g, layer);
    // Heads: every head kept, its q/k dims (jointly) and v dims pruned to D / r.
    const std::vector<double> qkv = l1s(b.attn.c_attn.weight, 1);  // [3C]
    const std::vector<double> out_cols = l1s(b.attn.c_proj.weight, 0);  // [C]
    std::vector<int64_t> q_rows, v_rows;
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> qk(static_cast<size_t>(D)), v(static_cast<size_t>(D));
      for (int64_t t = 0; t < D; ++t) {
        qk[t] = qkv[h * D + t] + qkv[C + h * D + t];
        v[t] = qkv[2 * C + h * D + t] + out_cols[h * D + t];
      }
      for (int64_t t : top_k(qk, d)) q_rows.push_back(h * D + t);
      for (int64_t t : top_k(v, d)) v_rows.push_back(h * D + t);
    }
    std::vector<int64_t> attn_rows;
    for (int64_t i : q_rows) attn_rows.push_back(i);
    for (int64_t i : q_rows) attn_rows.push_back(C + i);
    for (int64_t i : v_rows) attn_rows.push_back(2 * C + i);
    // MLP units: L1 of the c_fc row(s) (gate and value for a GLU) and the c_proj column.
    const int64_t Hd = b.mlp.hidden();
    const std::vector<double> fc = l1s(b.mlp.c_fc.weight, 1), pc = l1s(b.mlp.c_proj.weight, 0);
    std::vector<double> unit(static_cast<size_t>(Hd));
    for (int64_t u = 0; u < Hd; ++u) unit[u] = fc[u] + (b.mlp.gated() ? fc[Hd + u] : 0.0) + pc[u];
    const std::vector<int64_t> units = top_k(unit, Hd / opt_.reduction);
    std::vector<int64_t> fc_rows = units;
    if (b.mlp.gated())
      for (int64_t u : units) fc_rows.push_back(Hd + u);

    const auto src = b.state_dict();
    for (auto& [name, p] : blocks[layer]->named_parameters()) {
      const Tensor& w = src.at(name);
      auto starts = [&name = name](const char* prefix) { return name.rfind(prefix, 0) == 0; };
      const bool weight = name.size() >= 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
      Tensor v;
      if (starts("ln_1.") || starts("ln_2.")) v = take(w, S, nullptr);
      else if (starts("attn.c_attn.")) v = weight ? take(w, attn_rows, &S) : take(w, attn_rows, nullptr);
      else if (starts("attn.c_proj.")) v = weight ? take(w, S, &v_rows) : take(w, S, nullptr);
      else if (starts("mlp.c_fc.")) v = weight ? take(w, fc_rows, &S) : take(w, fc_rows, nullptr);
      else if (starts("mlp.c_proj.")) v = weight ? take(w, S, &units) : take(w, S, nullptr);
      else TLM_FAIL("lst: no pruning rule for side parameter '{}'", name);
      Tensor(p).copy_from(v);
    }
  }
  // Ladders select S; the up-projection scatters back; the side norm is ln_f at S.
  for (auto& dn : down) {
    std::vector<double> w(static_cast<size_t>(width_ * C), 0.0);
    for (int64_t k = 0; k < width_; ++k) w[static_cast<size_t>(k * C + S[k])] = 1.0;
    dn->weight.copy_from(Tensor::from_vector(w, {width_, C}).to(dn->weight.dtype()));
    dn->bias.copy_from(Tensor::zeros({width_}, dn->bias.dtype()));
  }
  {
    std::vector<double> w(static_cast<size_t>(C * width_), 0.0);
    for (int64_t k = 0; k < width_; ++k) w[static_cast<size_t>(S[k] * width_ + k)] = 1.0;
    up->weight.copy_from(Tensor::from_vector(w, {C, width_}).to(up->weight.dtype()));
  }
  if (opt_.output == LstOutput::Residual) up->weight.copy_from(Tensor::zeros({C, width_}, up->weight.dtype()));
  if (g.ln_f) {
    const auto src = g.ln_f->state_dict();
    for (auto& [name, p] : ln_f->named_parameters()) Tensor(p).copy_from(take(src.at(name), S, nullptr));
  }
}

std::vector<Tensor> LadderSide::backbone_states(const Tensor& ids, Rng& rng) {
  TLM_CHECK(ids.dim() == 2 && ids.dtype() == DType::I32, "lst: ids must be int32 [B,T], got {}",
            ids.str());
  GPT& g = *backbone_;
  const int64_t T = ids.shape()[1];
  TLM_CHECK(T <= g.config().block_size || !g.wpe, "lst: {} tokens exceed block_size = {}", T,
            g.config().block_size);
  NoGradGuard no_grad;  // nothing of the backbone is recorded: its activations die as it goes
  g.train(training());
  std::vector<Tensor> states;
  Tensor x = g.embed(ids, 0, rng);  // [B,T,C]
  states.push_back(x);
  for (auto& b : g.h) {
    x = b->forward(x, rng);
    states.push_back(x);
  }
  if (opt_.output == LstOutput::Residual) states.push_back(g.ln_f ? g.ln_f->forward(x) : x);
  return states;
}

std::vector<double> LadderSide::gates() const {
  std::vector<double> a = gate.to_vector<double>();
  for (double& v : a) v = 1.0 / (1.0 + std::exp(-v / opt_.gate_temperature));
  return a;
}

Tensor LadderSide::forward(const Tensor& ids, Rng& rng) {
  const std::vector<Tensor> hb = backbone_states(ids, rng);  // [B,T,C] each, constants
  Tensor s = down[0]->forward(hb[0]);                         // [B,T,C/r]
  for (size_t i = 0; i < blocks.size(); ++i) {
    Tensor mu = sigmoid(mul(narrow(gate, 0, static_cast<int64_t>(i), 1), 1.0 / opt_.gate_temperature));  // [1]
    s = add(mul(s, mu), mul(down[i + 1]->forward(hb[i + 1]), rsub(mu, 1.0)));
    s = blocks[i]->forward(s, rng);
  }
  s = up->forward(ln_f->forward(s));                                        // [B,T,C]
  if (opt_.output == LstOutput::Residual) s = add(hb.back(), s);
  return matmul(s, transpose(backbone_->lm_head_weight(), 0, 1));           // [B,T,V]
}

Tensor LadderSide::generate(const Tensor& prompt, int64_t max_new_tokens, double temperature,
                            int64_t top_k_, double top_p, Rng& rng) {
  const bool was_training = training(), backbone_training = backbone_->training();
  eval();
  auto restore = [&] {
    train(was_training);
    backbone_->train(backbone_training);
  };
  Tensor out;
  try {  // no KV cache: each token from a full forward over the last block_size tokens
    out = nn::generate(prompt, max_new_tokens, {temperature, top_k_, top_p},
                       backbone_->config().block_size,
                       [&](const Tensor& ids, KVCache*) { return forward(ids, rng); },
                       /*cache=*/nullptr, rng);
  } catch (...) {
    restore();
    throw;
  }
  restore();
  return out;
}

// Empirical Fisher (nn/lst.h): I(W) = sum_n (dL_n/dW)^2 with L_n the mean cross-entropy of
// sample n at batch 1 -- the importance the LST paper prunes by (docs/methods.md, "Ladder
// Side-Tuning"). float64 sums.
std::map<std::string, Tensor> empirical_fisher(GPT& model,
                                               const std::function<FisherSample(int64_t)>& sample,
                                               int64_t n_samples) {
  TLM_CHECK(n_samples >= 1, "lst_fisher_samples: empirical_fisher needs at least 1 sample, got {}",
            n_samples);
  const std::vector<std::pair<std::string, Tensor>> params = model.named_parameters();
  std::vector<std::vector<double>> acc(params.size());
  for (size_t i = 0; i < params.size(); ++i) acc[i].assign(static_cast<size_t>(params[i].second.numel()), 0.0);
  // However this ends (an error included): the mode restored, the backbone frozen, no grads.
  struct Restore {
    GPT& m;
    bool was_training;
    ~Restore() {
      m.set_requires_grad(false);
      m.zero_grad();
      m.train(was_training);
    }
  } restore{model, model.training()};
  model.eval();  // no dropout: the gradients of the model as it is
  EnableGradGuard grad_on;
  model.set_requires_grad(true);
  Rng unused(0);  // dropout is off in eval mode
  const int64_t V = model.config().vocab_size;
  for (int64_t n = 0; n < n_samples; ++n) {
    const auto [ids, targets] = sample(n);
    TLM_CHECK(ids.dim() == 2 && ids.shape()[0] == 1 && ids.dtype() == DType::I32 &&
                  targets.shape() == ids.shape() && targets.dtype() == DType::I32,
              "empirical_fisher: sample {} must be int32 ids and targets [1,T], got {} and {}", n,
              ids.str(), targets.str());
    model.zero_grad();
    {
      Tensor logits = model.forward(ids, unused);  // [1,T,V]
      Tensor loss = cross_entropy(reshape(logits, {-1, V}), reshape(targets, {-1}));
      loss.backward();
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor g = params[i].second.grad();
      if (!g.defined()) continue;  // not on the path of this loss
      const std::vector<double> v = g.contiguous().to_vector<double>();
      for (size_t k = 0; k < v.size(); ++k) acc[i][k] += v[k] * v[k];
    }
  }
  std::map<std::string, Tensor> out;
  for (size_t i = 0; i < params.size(); ++i)
    out[params[i].first] = Tensor::from_vector(acc[i], params[i].second.shape()).to(params[i].second.dtype());
  return out;
}

}  // namespace tlm::nn
