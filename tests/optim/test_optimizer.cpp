// The Optimizer base: parameter groups, skipping, zero_grad, state_bytes, the state dict.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "nn/module.h"
#include "optim/adamw.h"
#include "optim/lion.h"
#include "optim/registry.h"
#include "optim/sgd.h"
#include "tests/common/expect_error.h"

namespace tlm::optim {
namespace {


class Tiny : public nn::Module {
 public:
  explicit Tiny(Rng& rng) {
    register_parameter("weight", weight, Tensor::randn({3, 2}, rng, 0.5));
    register_parameter("bias", bias, Tensor::randn({3}, rng, 0.1));
    register_parameter("gain", gain, Tensor::ones({3}));
    register_parameter("emb", emb, Tensor::randn({4, 2}, rng));
  }
  // x [N, 2] -> [N, 3]; emb is not used (it gets no gradient).
  Tensor forward(const Tensor& x) { return (matmul(x, transpose(weight)) + bias) * gain; }
  Tensor weight;  // [3, 2]
  Tensor bias;    // [3]
  Tensor gain;    // [3]
  Tensor emb;     // [4, 2]
};

std::vector<std::string> names(const ParamGroup& g) {
  std::vector<std::string> out;
  for (const auto& [n, t] : g.params) out.push_back(n);
  return out;
}

TEST(Optimizer, DefaultParamGroupsDecayOnlyMatrices) {
  Rng rng(1);
  Tiny m(rng);
  auto groups = default_param_groups(m.named_parameters(), 0.1);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(names(groups[0]), (std::vector<std::string>{"weight", "emb"}));
  EXPECT_EQ(groups[0].weight_decay, 0.1);
  EXPECT_EQ(names(groups[1]), (std::vector<std::string>{"bias", "gain"}));
  EXPECT_EQ(groups[1].weight_decay, 0.0);
  EXPECT_EQ(groups[0].lr_scale, 1.0);
  // Frozen parameters get no group, hence no state.
  m.gain.set_requires_grad(false);
  EXPECT_EQ(names(default_param_groups(m.named_parameters(), 0.1)[1]),
            (std::vector<std::string>{"bias"}));
  EXPECT_TLM_ERROR(default_param_groups(m.named_parameters(), -1), "weight_decay");
}

TEST(Optimizer, StepUpdatesParametersWithGradientsAndSkipsTheRest) {
  Rng rng(2);
  Tiny m(rng);
  AdamW opt(default_param_groups(m.named_parameters(), 0.1), 1e-2);
  const auto before = m.emb.to_vector<float>();
  const auto w_before = m.weight.to_vector<float>();
  Tensor x = Tensor::randn({5, 2}, rng);
  sum(square(m.forward(x))).backward();
  EXPECT_FALSE(m.emb.grad().defined());
  opt.step();
  EXPECT_EQ(m.emb.to_vector<float>(), before);  // no gradient: not even decayed
  EXPECT_NE(m.weight.to_vector<float>(), w_before);
  OptimizerState st = opt.state_dict();
  EXPECT_EQ(st.scalars.at("step"), 1);
  EXPECT_EQ(st.scalars.at("weight.step"), 1);
  EXPECT_EQ(st.scalars.at("emb.step"), 0);
  EXPECT_EQ(st.tensors.at("emb.exp_avg").to_vector<float>(), std::vector<float>(8, 0.0f));
  // zero_grad drops the gradients (set_to_none), so the next step sees "no gradient".
  opt.zero_grad();
  for (const Tensor& p : opt.parameters()) EXPECT_FALSE(p.grad().defined());
  const auto w_after = m.weight.to_vector<float>();
  opt.step();
  EXPECT_EQ(m.weight.to_vector<float>(), w_after);
  EXPECT_EQ(opt.step_count(), 2);
}

// Each parameter counts its own steps (as torch.optim does): a parameter first updated at the
// optimizer's 3rd step still gets the first-step bias correction, |Δθ| = lr |g|/(|g| + eps).
TEST(Optimizer, AdamWBiasCorrectionCountsPerParameter) {
  Tensor a = Tensor::zeros({2}, DType::F64).set_requires_grad(true);
  Tensor b = Tensor::zeros({2}, DType::F64).set_requires_grad(true);
  AdamW opt({{{{"a", a}, {"b", b}}, 0.0, 1.0}}, 0.1, 0.9, 0.999, 1e-8);
  auto g = Tensor::from_vector(std::vector<double>{0.5, -2.0}, {2});
  for (int s = 0; s < 2; ++s) {
    a.set_grad(g.clone());
    opt.step();
  }
  a.set_grad(g.clone());
  b.set_grad(g.clone());
  opt.step();
  auto bv = b.to_vector<double>();
  EXPECT_NEAR(bv[0], -0.1 * 0.5 / (0.5 + 1e-8), 1e-15);
  EXPECT_NEAR(bv[1], 0.1 * 2.0 / (2.0 + 1e-8), 1e-15);
  EXPECT_EQ(opt.state_dict().scalars.at("b.step"), 1);
  EXPECT_EQ(opt.state_dict().scalars.at("a.step"), 3);
}

TEST(Optimizer, LrScalePerGroup) {
  Tensor a = Tensor::ones({2}).set_requires_grad(true);
  Tensor b = Tensor::ones({2}).set_requires_grad(true);
  Sgd opt({{{{"a", a}}, 0.0, 1.0}, {{{"b", b}}, 0.0, 0.25}}, 0.5);
  a.set_grad(Tensor::ones({2}));
  b.set_grad(Tensor::ones({2}));
  opt.step();
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{0.5f, 0.5f}));
  EXPECT_EQ(b.to_vector<float>(), (std::vector<float>{0.875f, 0.875f}));
  opt.set_lr(0.0);
  EXPECT_EQ(opt.lr(), 0.0);
  opt.step();
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{0.5f, 0.5f}));
  EXPECT_TLM_ERROR(opt.set_lr(-1e-3), "lr", ">= 0");
}

TEST(Optimizer, StateBytes) {
  Rng rng(3);
  Tiny m(rng);
  const int64_t n = m.num_parameters();  // 6 + 3 + 3 + 8 = 20
  ASSERT_EQ(n, 20);
  auto groups = [&] { return default_param_groups(m.named_parameters(), 0.1); };
  EXPECT_EQ(AdamW(groups(), 1e-3).state_bytes(), 2 * 4 * n);
  EXPECT_EQ(Lion(groups(), 1e-4).state_bytes(), 1 * 4 * n);
  EXPECT_EQ(Sgd(groups(), 0.1, 0.9).state_bytes(), 1 * 4 * n);
  EXPECT_EQ(Sgd(groups(), 0.1).state_bytes(), 0);
  EXPECT_EQ(AdamW(groups(), 1e-3).num_parameters(), n);
  m.to(DType::F64);
  EXPECT_EQ(AdamW(groups(), 1e-3).state_bytes(), 2 * 8 * n);
  // Known before the first step, and constant afterwards.
  AdamW opt(groups(), 1e-3);
  for (Tensor p : opt.parameters()) p.set_grad(Tensor::ones(p.shape(), DType::F64));
  opt.step();
  EXPECT_EQ(opt.state_bytes(), 2 * 8 * n);
}

// ---- state dict: run 3 steps, save, 3 more; vs a fresh optimizer that loads the state ----

struct OptRun {
  std::vector<Tensor> params;
  std::unique_ptr<Optimizer> opt;
};

std::vector<Tensor> fresh_params(const std::vector<Tensor>* copy_from) {
  Rng rng(7);
  std::vector<Shape> shapes = {{4, 3}, {3}, {50, 7}};
  std::vector<Tensor> out;
  for (size_t i = 0; i < shapes.size(); ++i) {
    Tensor p = copy_from ? (*copy_from)[i].clone() : Tensor::randn(shapes[i], rng);
    out.push_back(p.set_requires_grad(true));
  }
  return out;
}

OptRun make_run(const std::string& name, const std::vector<Tensor>* copy_from) {
  OptRun r;
  r.params = fresh_params(copy_from);
  std::vector<ParamGroup> groups = {{{{"w", r.params[0]}, {"emb", r.params[2]}}, 0.1, 1.0},
                                    {{{"b", r.params[1]}}, 0.0, 0.5}};
  r.opt = make_optimizer(name, groups,
                         {.lr = 1e-2,
                          .beta1 = 0.9,
                          .beta2 = 0.99,
                          .eps = 1e-8,
                          .momentum = 0.9,
                          .nesterov = name == "sgd"});
  return r;
}

// Deterministic gradients for step `it`; "b" gets none at step 4.
void set_grads(OptRun& r, int it) {
  Rng rng(100 + it);
  for (size_t i = 0; i < r.params.size(); ++i) {
    if (i == 1 && it == 4) continue;
    r.params[i].set_grad(Tensor::randn(r.params[i].shape(), rng));
  }
}

void train(OptRun& r, int from, int to) {
  for (int it = from; it < to; ++it) {
    r.opt->set_lr(1e-2 * (it + 1) / 7.0);
    r.opt->zero_grad();
    set_grads(r, it);
    r.opt->step();
  }
}

void expect_bit_identical(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    auto va = a[i].to_vector<float>(), vb = b[i].to_vector<float>();
    ASSERT_EQ(va.size(), vb.size());
    EXPECT_EQ(std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)), 0) << "param " << i;
  }
}

class StateDict : public ::testing::TestWithParam<std::string> {};

TEST_P(StateDict, RoundTripGivesBitIdenticalUpdates) {
  OptRun a = make_run(GetParam(), nullptr);
  train(a, 0, 3);
  std::vector<Tensor> saved_params;
  for (const Tensor& p : a.params) saved_params.push_back(p.clone());
  const OptimizerState saved = a.opt->state_dict();
  train(a, 3, 6);

  OptRun b = make_run(GetParam(), &saved_params);
  b.opt->load_state_dict(saved);
  EXPECT_EQ(b.opt->step_count(), 3);
  train(b, 3, 6);
  expect_bit_identical(a.params, b.params);

  // The state matters (so the test can fail): without it the result differs...
  OptRun c = make_run(GetParam(), &saved_params);
  train(c, 3, 6);
  // (Lion's sign is mostly decided by g, so look at all 377 elements.)
  bool differs = false;
  for (size_t i = 0; i < a.params.size(); ++i)
    differs |= c.params[i].to_vector<float>() != a.params[i].to_vector<float>();
  EXPECT_TRUE(differs);
  // ...and state_dict() is a snapshot, not a view of the live buffers.
  const OptimizerState again = b.opt->state_dict();
  for (const auto& [key, t] : saved.tensors)
    EXPECT_NE(t.to_vector<float>(), again.tensors.at(key).to_vector<float>()) << key;
}

TEST_P(StateDict, StateViewHasTheSameContentsAndFollowsTheLiveBuffers) {
  OptRun a = make_run(GetParam(), nullptr);
  train(a, 0, 3);
  const OptimizerState snapshot = a.opt->state_dict();
  const OptimizerState view = a.opt->state_view();
  EXPECT_EQ(view.scalars, snapshot.scalars);
  ASSERT_EQ(view.tensors.size(), snapshot.tensors.size());
  for (const auto& [key, t] : snapshot.tensors)
    EXPECT_EQ(view.tensors.at(key).to_vector<float>(), t.to_vector<float>()) << key;
  // Loading the view restores the same optimizer as loading the snapshot.
  OptRun b = make_run(GetParam(), nullptr);
  b.opt->load_state_dict(view);
  for (const auto& [key, t] : b.opt->state_dict().tensors)
    EXPECT_EQ(t.to_vector<float>(), snapshot.tensors.at(key).to_vector<float>()) << key;
  // No copy: after more steps the view shows the new state, the snapshot keeps the old.
  train(a, 3, 5);
  const OptimizerState later = a.opt->state_dict();
  for (const auto& [key, t] : view.tensors) {
    EXPECT_EQ(t.to_vector<float>(), later.tensors.at(key).to_vector<float>()) << key;
    EXPECT_NE(t.to_vector<float>(), snapshot.tensors.at(key).to_vector<float>()) << key;
  }
}

INSTANTIATE_TEST_SUITE_P(Optim, StateDict, ::testing::Values("sgd", "adamw", "lion"));

TEST(Optimizer, LoadStateDictRefusesMismatches) {
  OptRun adamw = make_run("adamw", nullptr);
  train(adamw, 0, 2);
  const OptimizerState st = adamw.opt->state_dict();
  OptRun lion = make_run("lion", nullptr);
  EXPECT_TLM_ERROR(lion.opt->load_state_dict(st), "unexpected state tensor", "exp_avg_sq");

  OptRun other = make_run("adamw", nullptr);
  const OptimizerState before = other.opt->state_dict();
  OptimizerState bad = st;
  bad.tensors["w.exp_avg"] = Tensor::zeros({3, 4});
  EXPECT_TLM_ERROR(other.opt->load_state_dict(bad), "w.exp_avg", "[3,4]", "[4,3]");
  bad = st;
  bad.tensors.erase("emb.exp_avg_sq");
  EXPECT_TLM_ERROR(other.opt->load_state_dict(bad), "emb.exp_avg_sq", "missing");
  bad = st;
  bad.scalars.erase("b.step");
  EXPECT_TLM_ERROR(other.opt->load_state_dict(bad), "b.step", "missing");
  bad = st;
  bad.scalars["w.step"] = 1.5;
  EXPECT_TLM_ERROR(other.opt->load_state_dict(bad), "w.step", "step count");
  bad = st;
  bad.scalars["lr"] = -1;
  EXPECT_TLM_ERROR(other.opt->load_state_dict(bad), "lr");
  // A refused state leaves the optimizer as it was.
  EXPECT_EQ(other.opt->step_count(), 0);
  EXPECT_EQ(other.opt->state_dict().scalars, before.scalars);
}

TEST(Optimizer, ConstructionChecks) {
  Tensor w = Tensor::zeros({2, 3}).set_requires_grad(true);
  Tensor b = Tensor::zeros({3}).set_requires_grad(true);
  EXPECT_TLM_ERROR(AdamW({{{{"w", w}, {"w", b}}, 0.0, 1.0}}, 1e-3), "'w'", "twice");
  EXPECT_TLM_ERROR(AdamW({{{{"w", w}}, 0.0, 1.0}, {{{"tied", w}}, 0.0, 1.0}}, 1e-3), "tied", "same tensor");
  EXPECT_TLM_ERROR(AdamW({{{{"wt", transpose(w)}}, 0.0, 1.0}}, 1e-3), "wt", "contiguous");
  EXPECT_TLM_ERROR(AdamW({{{{"ids", Tensor::zeros({2}, DType::I32)}}, 0.0, 1.0}}, 1e-3), "ids", "int32");
  EXPECT_TLM_ERROR(AdamW({{{{"w", w}}, -0.1, 1.0}}, 1e-3), "param group 0", "weight_decay", "-0.1");
  EXPECT_TLM_ERROR(Lion({{{{"w", w}}, 0.0, NAN}}, 1e-3), "lr_scale", "nan");
  AdamW empty({}, 1e-3);  // no parameters is allowed (a fully frozen model)
  empty.step();
  EXPECT_EQ(empty.state_bytes(), 0);
}

}  // namespace
}  // namespace tlm::optim
