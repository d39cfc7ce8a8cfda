// The BLAS kernel decision: upgrade only a generic fallback, never over the user's choice.
#include <gtest/gtest.h>

#include "train/sys/blas_select.h"

namespace tlm::train {
namespace {

CpuFeatures avx512() {
  CpuFeatures f;
  f.sse3 = f.avx = f.avx2 = f.fma = f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = true;
  return f;
}

TEST(BlasSelect, GenericFallbackOnAnAvx512CpuIsUpgraded) {
  EXPECT_EQ(better_blas_kernel("Prescott", avx512(), ""), "SkylakeX");
  EXPECT_EQ(better_blas_kernel("Sandybridge", avx512(), ""), "SkylakeX");
  CpuFeatures avx2;
  avx2.sse3 = avx2.avx = avx2.avx2 = avx2.fma = true;
  EXPECT_EQ(better_blas_kernel("Prescott", avx2, ""), "Haswell");
}

TEST(BlasSelect, AGoodChoiceOrTheUsersChoiceIsKept) {
  EXPECT_EQ(better_blas_kernel("SkylakeX", avx512(), ""), "");
  EXPECT_EQ(better_blas_kernel("Cooperlake", avx512(), ""), "");
  EXPECT_EQ(better_blas_kernel("Haswell", avx512(), "Haswell"), "");  // set by the user
  EXPECT_EQ(better_blas_kernel("Prescott", avx512(), "Prescott"), "");
  CpuFeatures old;
  old.sse3 = true;
  EXPECT_EQ(better_blas_kernel("Prescott", old, ""), "");  // nothing better exists
}

// A user's slower choice is kept but not silently: the banner names it and the faster one.
TEST(BlasSelect, AUsersSlowerKernelIsKeptWithANote) {
  const std::string note = slower_user_kernel_note("Haswell", avx512(), "Haswell");
  EXPECT_NE(note.find("OPENBLAS_CORETYPE=Haswell"), std::string::npos) << note;
  EXPECT_NE(note.find("SkylakeX"), std::string::npos) << note;
  EXPECT_EQ(slower_user_kernel_note("SkylakeX", avx512(), "SkylakeX"), "");
  EXPECT_EQ(slower_user_kernel_note("Cooperlake", avx512(), "Cooperlake"), "");
  EXPECT_EQ(slower_user_kernel_note("Haswell", avx512(), ""), "");  // not the user's choice
  CpuFeatures avx2;
  avx2.sse3 = avx2.avx = avx2.avx2 = avx2.fma = true;
  EXPECT_EQ(slower_user_kernel_note("Haswell", avx2, "Haswell"), "");  // the best it has
  EXPECT_NE(slower_user_kernel_note("Prescott", avx2, "Prescott").find("Haswell"), std::string::npos);
}

TEST(BlasSelect, TheProbePassesOnTheKernelInUse) { EXPECT_TRUE(blas_probe_ok()); }

}  // namespace
}  // namespace tlm::train
