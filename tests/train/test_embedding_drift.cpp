// diag::embedding_drift (docs/methods.md, "Embedding drift": Lion's side effect): per-row
// statistics checked against values computed by hand, and a Lion-drifted row told apart from a
// Gaussian one.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/train/test_util.h"
#include "train/diag/embedding_drift.h"

namespace tlm::train {
namespace {

TEST(EmbeddingDrift, RowStatisticsByHand) {
  // Row 0: |w| = 1, 2, 3, 4; row 1: all zero; row 2: a "drifted" row, every |w| = 0.5.
  Tensor w = Tensor::from_vector(std::vector<double>{1, -2, 3, -4, 0, 0, 0, 0, 0.5, -0.5, 0.5, 0.5},
                                 {3, 4})
                 .to(DType::F32);
  auto rows = diag::embedding_drift(w, {10, 0, 3}, 0.5);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].count, 10);
  EXPECT_DOUBLE_EQ(rows[0].mean_abs, 2.5);
  EXPECT_DOUBLE_EQ(rows[0].max_abs, 4.0);
  EXPECT_DOUBLE_EQ(rows[0].rms, std::sqrt(30.0 / 4));
  EXPECT_DOUBLE_EQ(rows[0].frac_fixed, 1.25);  // 2.5 · λ
  EXPECT_NEAR(rows[0].abs_cv, std::sqrt(7.5 - 6.25) / 2.5, 1e-15);  // std(1,2,3,4) / mean
  EXPECT_EQ(rows[1].mean_abs, 0.0);
  EXPECT_EQ(rows[1].abs_cv, 0.0);  // a zero row, defined as 0
  EXPECT_DOUBLE_EQ(rows[2].mean_abs, 0.5);
  EXPECT_DOUBLE_EQ(rows[2].frac_fixed, 0.25);  // a quarter of the way to 1/λ = 2
  EXPECT_EQ(rows[2].abs_cv, 0.0);
  EXPECT_EQ(diag::embedding_drift(w, {1, 2, 3}, 0.0)[0].frac_fixed, 0.0);

  const std::string csv = diag::embedding_drift_table(rows, {"a", ",", "\n"}).to_csv();
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "token,text,count,mean_abs,max_abs,rms,frac_fixed,abs_cv");
  EXPECT_NE(csv.find("\n1,\",\",0,0,0,0,0,0\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n2,\\x0a,3,0.5,"), std::string::npos) << csv;
}

// |w| of a Gaussian row (init; AdamW keeps rows roughly so) is half-normal: std/mean =
// sqrt(π/2 − 1) ≈ 0.756. A row moved by the same η·k = 0.3 in every coordinate from a 0.02-std
// init (Lion with stale momentum) has std/mean ≈ 0.02 / 0.3.
TEST(EmbeddingDrift, AbsCvSeparatesDriftedFromGaussianRows) {
  Rng rng(3);
  Tensor g = Tensor::randn({2, 4096}, rng);
  std::vector<double> v = g.to_vector<double>();
  for (int j = 0; j < 4096; ++j) v[4096 + j] = 0.02 * v[4096 + j] + (v[j] > 0 ? 0.3 : -0.3);
  auto rows = diag::embedding_drift(Tensor::from_vector(v, {2, 4096}), {5, 5}, 1.0);
  EXPECT_NEAR(rows[0].abs_cv, std::sqrt(M_PI / 2 - 1), 0.03);
  EXPECT_NEAR(rows[1].abs_cv, 0.02 / 0.3, 0.01);
  EXPECT_NEAR(rows[1].mean_abs, 0.3, 0.01);
}

TEST(EmbeddingDrift, BadInputNamesBothSizes) {
  Tensor w = Tensor::zeros({3, 4});
  EXPECT_TLM_ERROR(diag::embedding_drift(w, {1, 2}, 0.1), "2 token counts", "3 rows", "[3,4]");
  EXPECT_TLM_ERROR(diag::embedding_drift(Tensor::zeros({12}), {1}, 0.1), "[V,C]", "[12]");
  EXPECT_TLM_ERROR(diag::embedding_drift(w, {1, 2, 3}, -1), "weight_decay = -1", ">= 0");
  EXPECT_TLM_ERROR(diag::embedding_drift(w, {1, 2, 3}, NAN), "weight_decay = nan");
}

}  // namespace
}  // namespace tlm::train
