// The fp16 loss scaler (optim/loss_scaler.h; docs/methods.md, "Loss scaling"): PyTorch
// GradScaler's rules of growth and backoff, skipped steps, the static option, the stop at the
// minimum, the unscale, its saved state, and bad options refused naming the config key.
#include <gtest/gtest.h>

#include <cmath>

#include "optim/loss_scaler.h"
#include "tests/common/expect_error.h"

namespace tlm::optim {
namespace {

TEST(LossScaler, GrowsAfterIntervalGoodStepsAndBacksOffOnOverflow) {
  LossScaler s({.dynamic = true, .init_scale = 1024, .growth_factor = 2, .growth_interval = 3,
                .backoff_factor = 0.5, .min_scale = 1});
  EXPECT_EQ(s.scale(), 1024);
  EXPECT_TRUE(s.update(false, 0));
  EXPECT_TRUE(s.update(false, 1));
  EXPECT_EQ(s.scale(), 1024);
  EXPECT_TRUE(s.update(false, 2));  // the third good step: grow
  EXPECT_EQ(s.scale(), 2048);
  EXPECT_EQ(s.good_steps(), 0);
  EXPECT_TRUE(s.update(false, 3));
  EXPECT_TRUE(s.update(false, 4));
  EXPECT_FALSE(s.update(true, 5));  // inf/NaN: skip, back off, the counter restarts
  EXPECT_EQ(s.scale(), 1024);
  EXPECT_EQ(s.skipped_steps(), 1);
  EXPECT_EQ(s.good_steps(), 0);
  EXPECT_TRUE(s.update(false, 6));
  EXPECT_TRUE(s.update(false, 7));
  EXPECT_EQ(s.scale(), 1024);  // two good steps since the backoff are not yet three
  EXPECT_TRUE(s.update(false, 8));
  EXPECT_EQ(s.scale(), 2048);
}

TEST(LossScaler, StaticScaleSkipsOverflowingStepsWithoutChanging) {
  LossScaler s({.dynamic = false, .init_scale = 128, .growth_interval = 1});
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(s.update(false, i));
  EXPECT_EQ(s.scale(), 128);
  EXPECT_FALSE(s.update(true, 5));
  EXPECT_FALSE(s.update(true, 6));
  EXPECT_EQ(s.scale(), 128);
  EXPECT_EQ(s.skipped_steps(), 2);
}

TEST(LossScaler, OverflowAtTheMinimumStopsNamingTheStep) {
  LossScaler s({.dynamic = true, .init_scale = 8, .backoff_factor = 0.5, .min_scale = 2});
  EXPECT_FALSE(s.update(true, 10));  // 8 -> 4
  EXPECT_FALSE(s.update(true, 11));  // 4 -> 2 (the floor)
  EXPECT_EQ(s.scale(), 2);
  EXPECT_TLM_ERROR(s.update(true, 12), "step 12");
  LossScaler t({.dynamic = true, .init_scale = 3, .backoff_factor = 0.5, .min_scale = 2});
  EXPECT_FALSE(t.update(true, 0));  // 3 -> max(1.5, 2) = 2: clamped, not below
  EXPECT_EQ(t.scale(), 2);
  EXPECT_TLM_ERROR(t.update(true, 1), "loss_scale_min = 2");
}

TEST(LossScaler, UnscaleDividesEveryGradientInFp32) {
  Tensor p = Tensor::zeros({3}).set_requires_grad(true);
  p.set_grad(Tensor::from_vector(std::vector<float>{65536.0f, 3.0f, -1.0f}, {3}));
  Tensor q = Tensor::zeros({2}).set_requires_grad(true);  // no gradient: left alone
  LossScaler s({.dynamic = true, .init_scale = 65536});
  s.unscale({p, q});
  EXPECT_EQ(p.grad().to_vector<float>(), (std::vector<float>{1.0f, 3.0f / 65536, -1.0f / 65536}));
  EXPECT_FALSE(q.grad().defined());
}

TEST(LossScaler, StateRoundTrips) {
  LossScaler a({.dynamic = true, .init_scale = 64, .growth_interval = 5});
  a.update(false, 0);
  a.update(false, 1);
  a.update(true, 2);
  a.update(false, 3);
  LossScaler b({.dynamic = true, .init_scale = 64, .growth_interval = 5});
  b.load_state_dict(a.state_dict());
  EXPECT_EQ(b.scale(), 32);
  EXPECT_EQ(b.good_steps(), 1);
  EXPECT_EQ(b.skipped_steps(), 1);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(a.update(false, 4 + i), b.update(false, 4 + i));
  EXPECT_EQ(a.scale(), b.scale());
  EXPECT_EQ(b.scale(), 64);
  EXPECT_TLM_ERROR(b.load_state_dict({{"scale", 1.0}}), "good_steps");
  EXPECT_TLM_ERROR(b.load_state_dict({{"scale", -1.0}, {"good_steps", 0}, {"skipped_steps", 0}}),
                        "positive finite");
}

TEST(LossScaler, BadOptionsAreRefusedNamingTheKey) {
  EXPECT_TLM_ERROR(LossScaler({.dynamic = true, .init_scale = 0}), "loss_scale_init");
  EXPECT_TLM_ERROR(LossScaler({.dynamic = false, .init_scale = -4}), "loss_scale = -4");
  EXPECT_TLM_ERROR(LossScaler({.dynamic = true, .init_scale = INFINITY}), "loss_scale_init");
  EXPECT_TLM_ERROR(LossScaler({.dynamic = true, .init_scale = NAN}), "positive finite");
  EXPECT_TLM_ERROR(LossScaler({.growth_factor = 1.0}), "loss_scale_growth");
  EXPECT_TLM_ERROR(LossScaler({.growth_interval = 0}), "loss_scale_interval");
  EXPECT_TLM_ERROR(LossScaler({.backoff_factor = 1.0}), "loss_scale_backoff");
  EXPECT_TLM_ERROR(LossScaler({.backoff_factor = 0.0}), "loss_scale_backoff");
  EXPECT_TLM_ERROR(LossScaler({.min_scale = 0.0}), "loss_scale_min");
  EXPECT_TLM_ERROR(LossScaler({.init_scale = 4, .min_scale = 8}), "loss_scale_min = 8");
}

}  // namespace
}  // namespace tlm::optim
