#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "optim/schedule.h"
#include "tests/common/expect_error.h"

namespace tlm::optim {
namespace {

TEST(Schedule, ConstantIsConstant) {
  ConstantSchedule s(3e-4);
  EXPECT_EQ(s.lr_at(0), 3e-4);
  EXPECT_EQ(s.lr_at(123456), 3e-4);
}

// nanoGPT's train_shakespeare_char values: lr 1e-3, min 1e-4, warmup 100, decay to 5000.
TEST(Schedule, WarmupCosineClosedForm) {
  WarmupCosineSchedule s(1e-3, 1e-4, 100, 5000);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 1e-3 / 101);  // (it+1)/(warmup+1): never exactly 0
  EXPECT_DOUBLE_EQ(s.lr_at(49), 1e-3 * 50 / 101);
  EXPECT_DOUBLE_EQ(s.lr_at(99), 1e-3 * 100 / 101);
  EXPECT_DOUBLE_EQ(s.lr_at(100), 1e-3);                  // ratio 0: cos 0 = 1
  EXPECT_DOUBLE_EQ(s.lr_at(2550), 0.5 * (1e-3 + 1e-4));  // ratio 1/2: halfway
  const double r = (1000.0 - 100) / 4900;
  EXPECT_DOUBLE_EQ(s.lr_at(1000), 1e-4 + 0.5 * (1 + std::cos(std::numbers::pi * r)) * 9e-4);
  EXPECT_NEAR(s.lr_at(5000), 1e-4, 1e-19);  // ratio 1: cos pi = -1
  EXPECT_EQ(s.lr_at(5001), 1e-4);
  EXPECT_EQ(s.lr_at(1000000), 1e-4);
  // Monotone: up during warmup, down afterwards.
  for (int64_t it = 1; it < 100; ++it) EXPECT_GT(s.lr_at(it), s.lr_at(it - 1));
  for (int64_t it = 101; it <= 5000; ++it) EXPECT_LE(s.lr_at(it), s.lr_at(it - 1));
}

TEST(Schedule, NoWarmupAndZeroLengthDecay) {
  WarmupCosineSchedule no_warmup(1.0, 0.0, 0, 10);
  EXPECT_DOUBLE_EQ(no_warmup.lr_at(0), 1.0);
  EXPECT_DOUBLE_EQ(no_warmup.lr_at(5), 0.5);
  // lr_decay_iters == warmup_iters: the max(1, ...) guard, then min_lr.
  WarmupCosineSchedule step(1.0, 0.1, 4, 4);
  EXPECT_DOUBLE_EQ(step.lr_at(3), 0.8);
  EXPECT_DOUBLE_EQ(step.lr_at(4), 1.0);
  EXPECT_EQ(step.lr_at(5), 0.1);
}

TEST(Schedule, SelectableByName) {
  ScheduleConfig cfg{.lr = 2e-3, .min_lr = 2e-4, .warmup_iters = 10, .lr_decay_iters = 100};
  EXPECT_EQ(make_schedule("constant", cfg)->lr_at(0), 2e-3);
  EXPECT_DOUBLE_EQ(make_schedule("cosine", cfg)->lr_at(0), 2e-3 / 11);
  EXPECT_EQ(schedule_names(), (std::vector<std::string>{"cosine", "constant"}));
}


TEST(Schedule, BadValuesAreRefused) {
  EXPECT_TLM_ERROR(make_schedule("cosine_annealing", {}), "cosine_annealing", "cosine, constant");
  EXPECT_TLM_ERROR(WarmupCosineSchedule(1e-3, 2e-3, 10, 100), "min_lr", "[0, lr");
  EXPECT_TLM_ERROR(WarmupCosineSchedule(1e-3, 1e-4, -1, 100), "warmup_iters");
  EXPECT_TLM_ERROR(WarmupCosineSchedule(1e-3, 1e-4, 10, 5), "lr_decay_iters");
  EXPECT_TLM_ERROR(ConstantSchedule(-1.0), "lr");
  EXPECT_TLM_ERROR(ConstantSchedule(NAN), "lr");
}

}  // namespace
}  // namespace tlm::optim
