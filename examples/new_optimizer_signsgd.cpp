// Worked extension 3 (docs/extending.md): a new optimizer.
//
//   signSGD with decoupled weight decay (Bernstein et al. 2018, arXiv:1802.04434):
//     θ ← θ (1 − η λ) − η sign(g)
//   (Lion with β1 = β2 = 0: optim/lion.cpp is the fused, momentum-carrying relative.)
//
// In the library it is optim/signsgd.{h,cpp} (the class below and its registry entry, an
// optim::OptimizerType with the config keys it reads -- none here), a test in
// tests/optim/test_update_rules.cpp, and one line in the list of optim/registry.cpp:
//
//       r.add(signsgd_type());
//
// after which `optimizer = signsgd` in a config selects it: the config's choices and keys come
// from the registry. This program registers it from its own file (always linked) with one
// constant, optim::RegisterOptimizer. It is built and run by ctest
// (example_new_optimizer_signsgd): it checks one update by hand, that the state round-trips,
// that the config lists it, and trains a tiny GPT with it.
#include <fmt/format.h>

#include <algorithm>

#include "nn/gpt.h"
#include "optim/optimizer.h"
#include "optim/registry.h"
#include "train/io/config.h"

namespace tlm {

class SignSgd : public optim::Optimizer {
 public:
  // The base class owns the groups, the lr and the per-parameter state; {} = no buffers.
  SignSgd(std::vector<optim::ParamGroup> groups, double lr)
      : Optimizer("signsgd", std::move(groups), lr, {}) {
    optim::detail::check_lr("signsgd", lr);
  }

 protected:
  // Called once per parameter that has a gradient, with this group's lr and weight decay.
  void update(Tensor& param, const Tensor& grad, ParamState&, double lr,
              double weight_decay) override {
    // A plain loop, for reading; the library version would be one fused pass in
    // tensor/kernels/optim_step.cpp, as kernels::lion_step_ is for Lion.
    std::vector<double> w = param.to_vector<double>();
    const std::vector<double> g = grad.to_vector<double>();
    for (size_t i = 0; i < w.size(); ++i) {
      const double sign = static_cast<double>((g[i] > 0) - (g[i] < 0));  // sign(0) = 0
      w[i] = w[i] * (1.0 - lr * weight_decay) - lr * sign;
    }
    // In place: copy_from bumps the storage version, and the optimizer's handles stay valid.
    param.copy_from(Tensor::from_vector(w, param.shape()).to(param.dtype()));
  }
};

// The registry entry: name, help, its config keys (none: lr and weight decay are every
// optimizer's), the factory.
optim::OptimizerType signsgd_type() {
  return {"signsgd", "signSGD with decoupled weight decay (arXiv:1802.04434)", {},
          [](std::vector<optim::ParamGroup> groups, double lr, const nn::KeyValues&) {
            return std::make_unique<SignSgd>(std::move(groups), lr);
          }};
}
static const optim::RegisterOptimizer kSignSgd(signsgd_type());

}  // namespace tlm

int main() {
  using namespace tlm;
  bool ok = true;
  // 1. One update by hand: θ = [1, -2, 3], g = [0.5, -4, 0], lr 0.1, decay 0.5.
  Tensor p = Tensor::from_vector(std::vector<double>{1, -2, 3}, {3});
  p.set_requires_grad(true);
  optim::ParamGroup group{{{"p", p}}, /*weight_decay=*/0.5};
  SignSgd opt({group}, 0.1);
  sum(mul(p, Tensor::from_vector(std::vector<double>{0.5, -4, 0}, {3}))).backward();
  opt.step();
  const auto v = p.to_vector<double>();
  const std::vector<double> want = {1 * 0.95 - 0.1, -2 * 0.95 + 0.1, 3 * 0.95};
  for (int i = 0; i < 3; ++i) ok = ok && std::abs(v[i] - want[i]) < 1e-15;
  fmt::print("one step: [{:.3f}, {:.3f}, {:.3f}] (want [{:.3f}, {:.3f}, {:.3f}])\n", v[0], v[1],
             v[2], want[0], want[1], want[2]);
  // 2. The base class gives state_dict / state_bytes for free (no buffers: 0 bytes).
  ok = ok && opt.state_bytes() == 0 && opt.state_dict().scalars.at("step") == 1;

  // 3. It trains a tiny GPT on a repeating sequence.
  Rng rng(5);
  nn::GPTConfig c;
  c.vocab_size = 8, c.block_size = 8, c.n_layer = 1, c.n_head = 2, c.n_embd = 16;
  nn::GPT model(c, rng);
  SignSgd sgd(optim::default_param_groups(model.named_parameters(), 0.0), 3e-3);
  std::vector<int32_t> x, t;
  for (int i = 0; i < 16; ++i) x.push_back(i % 8), t.push_back((i + 1) % 8);
  const Tensor xs = Tensor::from_vector(x, {2, 8}), ts = Tensor::from_vector(t, {16, 1});
  double first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    sgd.zero_grad();
    Tensor logp = log_softmax(reshape(model.forward(xs, rng), {16, 8}), -1);
    Tensor loss = neg(mean(gather(logp, 1, ts)));
    (step == 0 ? first : last) = loss.item();
    loss.backward();
    sgd.step();
  }
  fmt::print("tiny GPT trained with signsgd: loss {:.4f} -> {:.4f}\n", first, last);
  ok = ok && last < 0.5 * first;
  // Selectable by name, from code and from the config (`--set optimizer=signsgd`).
  const auto* key = train::find_config_key("optimizer");
  const bool listed = std::find(key->choices.begin(), key->choices.end(), "signsgd") != key->choices.end();
  train::TrainConfig cfg;
  cfg.apply_overrides({"optimizer=signsgd"});
  Tensor w = Tensor::zeros({2}).set_requires_grad(true);
  const bool built =
      std::string(optim::make_optimizer("signsgd", {{{{"w", w}}, 0.0, 1.0}}, 1e-3, {})->name()) == "signsgd";
  fmt::print("optimizer = signsgd: in the config's choices {}, built by name {}\n", listed, built);
  ok = ok && listed && built;
  fmt::print("{}\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
