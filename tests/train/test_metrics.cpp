// train/metrics: every number checked against a hand computation.
#include <gtest/gtest.h>

#include <cmath>

#include "tensor/error.h"
#include "train/diag/metrics.h"

namespace tlm::train {
namespace {

TEST(Metrics, EceAccuracyAndNllByHand) {
  // 4 predictions, 2 bins (0, .5], (.5, 1]:
  //   conf .9 right, .8 wrong  -> bin 1: acc 1/2, conf .85 -> |.5 - .85| = .35, weight 2/4
  //   conf .4 right, .3 right  -> bin 0: acc 1,   conf .35 -> |1 - .35| = .65, weight 2/4
  // ECE = .5 * .35 + .5 * .65 = .5
  TokenMetrics m(2);
  m.add_one(0.9, true, 0.1);
  m.add_one(0.8, false, 2.0);
  m.add_one(0.4, true, 0.9);
  m.add_one(0.3, true, 1.2);
  EXPECT_NEAR(m.ece(), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(m.accuracy(), 0.75);
  EXPECT_NEAR(m.nll(), (0.1 + 2.0 + 0.9 + 1.2) / 4, 1e-12);
  EXPECT_EQ(m.bin_counts(), (std::vector<int64_t>{2, 2}));
  // Reliability: bin 0 conf .35 acc 1, bin 1 conf .85 acc .5; mean confidence (.9+.8+.4+.3)/4.
  EXPECT_NEAR(m.bin_confidence()[0], 0.35, 1e-12);
  EXPECT_NEAR(m.bin_confidence()[1], 0.85, 1e-12);
  EXPECT_DOUBLE_EQ(m.bin_accuracy()[0], 1.0);
  EXPECT_DOUBLE_EQ(m.bin_accuracy()[1], 0.5);
  EXPECT_NEAR(m.mean_confidence(), 0.6, 1e-12);  // - accuracy .75: under-confident by .15
  // A bin's upper edge belongs to it: 0.5 goes to bin 0, 1.0 to the last bin, 0 to bin 0.
  TokenMetrics e(2);
  e.add_one(0.5, true, 0);
  e.add_one(1.0, true, 0);
  e.add_one(0.0, false, 0);
  EXPECT_EQ(e.bin_counts(), (std::vector<int64_t>{2, 1}));
  TokenMetrics empty(3);
  EXPECT_TRUE(std::isnan(empty.mean_confidence()));
  EXPECT_TRUE(std::isnan(empty.bin_accuracy()[1]) && std::isnan(empty.bin_confidence()[2]));
}

TEST(Metrics, TokenMetricsFromLogProbs) {
  // Row 0: p = (.7, .2, .1), target 0 -> right, conf .7; row 1: p = (.25, .25, .5), target 1
  // -> wrong (argmax 2), conf .5. 15 bins: .7 -> bin ceil(10.5)-1 = 10, .5 -> bin 7.
  // ECE = .5 |1 - .7| + .5 |0 - .5| = .4; accuracy .5; nll = (-log .7 - log .25) / 2.
  std::vector<double> p = {0.7, 0.2, 0.1, 0.25, 0.25, 0.5};
  for (double& v : p) v = std::log(v);
  TokenMetrics m;
  m.add(Tensor::from_vector(p, {2, 3}), Tensor::from_vector(std::vector<int32_t>{0, 1}, {2}));
  EXPECT_NEAR(m.ece(), 0.4, 1e-12);
  EXPECT_DOUBLE_EQ(m.accuracy(), 0.5);
  EXPECT_NEAR(m.nll(), (-std::log(0.7) - std::log(0.25)) / 2, 1e-12);
  EXPECT_THROW(m.add(Tensor::from_vector(p, {2, 3}), Tensor::from_vector(std::vector<int32_t>{0, 3}, {2})),
               tlm::Error);
  EXPECT_THROW(m.add(Tensor::from_vector(p, {2, 3}), Tensor::from_vector(std::vector<int32_t>{0}, {1})),
               tlm::Error);
  EXPECT_TRUE(std::isnan(TokenMetrics().ece()));
}

TEST(Metrics, MultiLabelF1ByHand) {
  // scores > 0 predicted. Label 0: pred {1,0,1}, gold {1,1,0} -> tp 1 fp 1 fn 1, F1 .5
  // Label 1: pred {0,0,0}, gold {0,0,0} -> F1 1 (nothing to find); label 2: pred {1,1,0},
  // gold {1,1,0} -> tp 2, F1 1. Micro: tp 3, fp 1, fn 1 -> 6/8 = .75; macro (0.5+1+1)/3.
  // Exact match: row 0 {1,0,1} vs {1,0,1} yes; row 1 {0,0,1} vs {1,0,1} no; row 2 {1,0,0} vs
  // {0,0,0} no -> 1/3.
  std::vector<double> s = {2, -1, 3, -0.5, -2, 0.1, 0.7, -3, 0.0};
  std::vector<int32_t> y = {1, 0, 1, 1, 0, 1, 0, 0, 0};
  MultiLabelCounts c = multilabel_counts(Tensor::from_vector(s, {3, 3}), Tensor::from_vector(y, {3, 3}));
  EXPECT_DOUBLE_EQ(c.micro_f1(), 0.75);
  EXPECT_NEAR(c.macro_f1(), 2.5 / 3, 1e-12);
  EXPECT_NEAR(c.exact_match, 1.0 / 3, 1e-12);
  std::vector<int32_t> bad = {1, 0, 2, 1, 0, 1, 0, 0, 0};
  EXPECT_THROW(multilabel_counts(Tensor::from_vector(s, {3, 3}), Tensor::from_vector(bad, {3, 3})),
               tlm::Error);
  EXPECT_THROW(multilabel_counts(Tensor::from_vector(s, {3, 3}), Tensor::from_vector(y, {1, 9})),
               tlm::Error);
}

TEST(Metrics, SpearmanWithTiesByHand) {
  EXPECT_EQ(average_ranks({10, 20, 20, 5}), (std::vector<double>{2, 3.5, 3.5, 1}));
  // x ranks (1,2,3,4), y = (1, 3, 2, 4) ranks (1,3,2,4): rho = 1 - 6 sum d^2 / (n(n^2-1))
  // = 1 - 6*2/60 = 0.8.
  EXPECT_NEAR(spearman({0.1, 0.2, 0.3, 0.4}, {1, 3, 2, 4}), 0.8, 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3}, {30, 20, 10}), -1.0, 1e-12);
  // Ties: x ranks (1, 2.5, 2.5, 4), y ranks (1,2,3,4): Pearson of the ranks.
  // mean 2.5 each; dx = (-1.5, 0, 0, 1.5), dy = (-1.5, -.5, .5, 1.5);
  // sxy = 4.5, sxx = 4.5, syy = 5 -> rho = 4.5 / sqrt(22.5).
  EXPECT_NEAR(spearman({1, 2, 2, 3}, {1, 2, 3, 4}), 4.5 / std::sqrt(22.5), 1e-12);
  EXPECT_DOUBLE_EQ(spearman({1, 1, 1}, {1, 2, 3}), 0.0);  // a constant side
  EXPECT_THROW(spearman({1, 2}, {1}), tlm::Error);
}

}  // namespace
}  // namespace tlm::train
