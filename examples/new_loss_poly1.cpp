// Worked extension 2 (docs/extending.md): a new language-model loss, selectable by name.
//
//   Poly-1 (Leng et al. 2022, arXiv:2204.12511):  L = CE + eps (1 - p_t),  p_t = softmax(z)_t
//
// In the library it is one file pair nn/loss/poly1.{h,cpp}, one test, and one line in the
// table of nn/loss/registry.cpp:
//
//       {"poly1", &poly1},
//
// after which `lm_loss("poly1", ...)` (and the trainer's loss key) selects it. The function
// below already has the registry's signature (nn::LmLossFn), so that line is all that is left.
// This example is built and run by ctest (example_new_loss_poly1): it gradchecks the loss in
// float64, checks that eps = 0 reproduces the registered "ce", and trains a tiny GPT with it.
#include <fmt/format.h>

#include "autograd/gradcheck.h"
#include "nn/gpt.h"
#include "nn/loss/registry.h"
#include "optim/registry.h"

namespace tlm {

// logits [N,V], targets [N] int32; mean over the N rows. Composed from ops: autograd derives
// the backward, so there is no Node to write (STYLE §3: fuse only when a benchmark says so).
// For brevity this sketch has no ignore_index; a library loss would honour o.ignore_index.
Tensor poly1(const Tensor& z, const Tensor& y, const nn::LossOptions& o) {
  const double eps = o.label_smoothing;  // a real loss would add LossOptions::poly1_eps
  Tensor logp = log_softmax(z, -1);      // [N,V]
  Tensor logp_t = gather(logp, 1, reshape(y, {-1, 1}));                 // [N,1]
  Tensor per_row = add(neg(logp_t), mul(rsub(exp(logp_t), 1.0), eps));  // [N,1]
  return mean(per_row);
}
static_assert(std::is_same_v<decltype(&poly1), nn::LmLossFn>, "the registry's signature");

}  // namespace tlm

int main() {
  using namespace tlm;
  bool ok = true;
  Rng rng(3);
  const int64_t N = 6, V = 5;
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < N; ++i) ids.push_back(static_cast<int32_t>((i * 3) % V));
  const Tensor targets = Tensor::from_vector(ids, {N});
  nn::LossOptions o;
  o.label_smoothing = 1.0;  // eps = 1, the paper's default for ImageNet

  // 1. The gradient, against central differences in float64.
  GradcheckResult r =
      gradcheck([&](const std::vector<Tensor>& in) { return poly1(in[0], targets, o); },
                {Tensor::randn({N, V}, rng, 1.0, DType::F64)});
  fmt::print("poly1 gradcheck: {} (max abs error {:.2e})\n", r.ok ? "ok" : "FAILED",
             r.max_abs_error);
  ok = ok && r.ok;

  // 2. eps = 0 is plain cross-entropy, as registered under "ce".
  const Tensor z = Tensor::randn({N, V}, rng, 1.0, DType::F64);
  nn::LossOptions zero = o;
  zero.label_smoothing = 0.0;
  const double a = poly1(z, targets, zero).item(), b = nn::lm_loss("ce", z, targets).item();
  fmt::print("poly1(eps=0) = {:.12f}, lm_loss(\"ce\") = {:.12f}\n", a, b);
  ok = ok && std::abs(a - b) < 1e-12;

  // 3. It trains: 30 AdamW steps of a tiny GPT on a repeating sequence lower the loss.
  nn::GPTConfig c;
  c.vocab_size = 8, c.block_size = 8, c.n_layer = 1, c.n_head = 2, c.n_embd = 16;
  nn::GPT model(c, rng);
  auto opt = optim::make_optimizer(
      "adamw", optim::default_param_groups(model.named_parameters(), 0.0), {.lr = 1e-2});
  std::vector<int32_t> x, t;
  for (int i = 0; i < 16; ++i) x.push_back(i % 8), t.push_back((i + 1) % 8);
  const Tensor xs = Tensor::from_vector(x, {2, 8}), ts = Tensor::from_vector(t, {16});
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    opt->zero_grad();
    Tensor loss = poly1(reshape(model.forward(xs, rng), {16, 8}), ts, o);
    (step == 0 ? first : last) = loss.item();
    loss.backward();
    opt->step();
  }
  fmt::print("tiny GPT trained with poly1: loss {:.4f} -> {:.4f}\n", first, last);
  ok = ok && last < 0.5 * first;
  fmt::print("{}\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
