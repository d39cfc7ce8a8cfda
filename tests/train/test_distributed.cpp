// Data-parallel pieces that run in one process (the mpirun checks are tests/mpi/test_mpi.py):
// a world of one changes nothing, the thread split never oversubscribes, and the gradient
// buckets cover every parameter once, last first, within their size.
#include <gtest/gtest.h>

#include <cstdio>
#include <numeric>
#include <set>
#include <string>

#include "tests/train/test_util.h"
#include "train/dist/distributed.h"
#include "train/dist/grad_buckets.h"
#include "train/run/progress.h"
#include "train/run/trainer.h"

namespace tlm::train {
namespace {

using testing::TempDir;

TEST(Distributed, ThreadsPerRankShareTheCores) {
  EXPECT_EQ(threads_per_rank(0, 8, 2), 4);
  EXPECT_EQ(threads_per_rank(0, 7, 2), 3);   // rounded down: 2 x 3 <= 7
  EXPECT_EQ(threads_per_rank(0, 2, 2), 1);
  EXPECT_EQ(threads_per_rank(0, 2, 4), 1);   // at least one
  EXPECT_EQ(threads_per_rank(0, 16, 1), 16);
  EXPECT_EQ(threads_per_rank(3, 8, 2), 3);   // an explicit count is kept
  for (int cores = 1; cores <= 64; ++cores)
    for (int ranks = 1; ranks <= cores; ++ranks)
      EXPECT_LE(threads_per_rank(0, cores, ranks) * ranks, cores) << cores << " " << ranks;
  EXPECT_GE(available_cores(), 1);
}

TEST(Distributed, ABuildWithoutMpiRefusesSeveralRanks) {
  check_mpi_launch(false, 1);
  check_mpi_launch(true, 4);
  try {
    check_mpi_launch(false, 2);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("started as one of 2 ranks by mpirun, but this tlm was "
                                         "built without MPI"), std::string::npos) << e.what();
  }
}

TEST(Distributed, WorldOfOneIsTheIdentity) {
  Distributed world;
  EXPECT_EQ(world.rank(), 0);
  EXPECT_EQ(world.size(), 1);
  EXPECT_TRUE(world.is_root());
  EXPECT_FALSE(world.active());
  double d[2] = {1.5, -2};
  world.allreduce_sum(d, 2);
  EXPECT_EQ(d[0], 1.5);
  EXPECT_EQ(d[1], -2);
  float f[3] = {1, 2, 3};
  world.allreduce_sum(f, 3);
  EXPECT_EQ(f[2], 3);
  EXPECT_EQ(world.broadcast("abc"), "abc");
  EXPECT_EQ(world.allgather("xy"), std::vector<std::string>{"xy"});
  // Not started by mpirun (ctest's environment): no MPI, one rank.
  if (!launched_by_mpi_launcher()) {
    auto w = Distributed::from_launcher();
    EXPECT_EQ(w->size(), 1);
  }
}

std::vector<Tensor> params_of_sizes(const std::vector<int64_t>& sizes) {
  std::vector<Tensor> ps;
  for (int64_t n : sizes) ps.push_back(Tensor::zeros({n}).set_requires_grad(true));
  return ps;
}

TEST(GradientBuckets, EveryParameterOnceLastFirstWithinTheSize) {
  const std::vector<int64_t> sizes = {10, 300, 5, 1000, 40, 40, 7};
  auto ps = params_of_sizes(sizes);
  GradientBuckets b(ps, 100 * sizeof(float));
  std::vector<size_t> order;
  for (const auto& bucket : b.buckets()) {
    size_t n = 0;
    for (size_t k : bucket.params) n += static_cast<size_t>(sizes[k]), order.push_back(k);
    EXPECT_EQ(n, bucket.numel);
    EXPECT_TRUE(bucket.numel <= 100 || bucket.params.size() == 1) << bucket.numel;
  }
  std::vector<size_t> reversed(sizes.size());
  std::iota(reversed.rbegin(), reversed.rend(), 0);
  EXPECT_EQ(order, reversed);
  // 7+40+40 | 1000 | 5 | 300 | 10: greedy, a big tensor alone.
  ASSERT_EQ(b.buckets().size(), 5u);
  EXPECT_EQ(b.buckets()[0].numel, 87u);
  EXPECT_EQ(b.buckets()[1].numel, 1000u);
  // 0 bytes: one tensor per bucket (the plain path).
  EXPECT_EQ(GradientBuckets(ps, 0).buckets().size(), sizes.size());
  EXPECT_EQ(GradientBuckets(ps, 1 << 20).buckets().size(), 1u);
}

TEST(GradientBuckets, AveragingOverOneRankLeavesGradientsAlone) {
  auto ps = params_of_sizes({3, 4});
  ps[0].set_grad(Tensor::from_vector(std::vector<float>{1, 2, 3}, {3}));
  Tensor g0 = ps[0].grad();
  Distributed world;
  GradientBuckets(ps, 8).average(world);
  EXPECT_TRUE(ps[0].grad().same_storage(g0));
  EXPECT_EQ(ps[0].grad().to_vector<float>(), (std::vector<float>{1, 2, 3}));
  EXPECT_FALSE(ps[1].grad().defined());
}

TEST(GradientBuckets, RefusesNonFloat32Parameters) {
  std::vector<Tensor> ps = {Tensor::zeros({2}, DType::F64)};
  EXPECT_THROW(GradientBuckets(ps, 64), Error);
}

// The same calls print their lines to a file, and nothing at all (stdout and stderr included)
// without one: the silent ranks of a data-parallel run.
TEST(Progress, ANullFileShowsNothing) {
  auto drive = [](std::FILE* out) {
    Progress p(10, 0, out, 1);
    p.update(0, 1.0, 1e-3, 100);
    p.message("a message that must stay");
    p.finish();
  };
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  drive(file);
  std::rewind(file);
  std::string shown;
  for (int c; (c = std::fgetc(file)) != EOF;) shown += static_cast<char>(c);
  std::fclose(file);
  EXPECT_NE(shown.find("step 1/10 loss 1.0000"), std::string::npos) << shown;
  EXPECT_NE(shown.find("a message that must stay"), std::string::npos) << shown;

  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  drive(nullptr);
  const std::string out = ::testing::internal::GetCapturedStdout();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "");
}

TEST(Distributed, TrainerInAWorldOfOneEqualsTheTrainerWithout) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 400; ++i) text += "to be or not to be, that is the question\n";
  testing::write_bytes(dir / "text.txt", text);
  auto weights = [&](Distributed* world) {
    TrainConfig cfg;
    cfg.apply_overrides({"data=" + (dir / "text.txt"), "out_dir=" + (dir / "run"), "n_layer=1",
                         "n_head=2", "n_embd=16", "block_size=16", "batch_size=4",
                         "max_iters=4", "eval_iters=1", "dropout=0.1", "threads=1"});
    Trainer t(cfg, false, world);
    TrainSummary s = t.run(nullptr);
    EXPECT_EQ(s.ranks, 1);
    EXPECT_FALSE(s.to_json().contains("ranks"));  // the JSON line is as it was without MPI
    std::vector<float> w;
    for (auto& [name, p] : t.model().named_parameters()) {
      auto v = p.to_vector<float>();
      w.insert(w.end(), v.begin(), v.end());
    }
    return w;
  };
  Distributed one;
  EXPECT_EQ(weights(nullptr), weights(&one));
}

}  // namespace
}  // namespace tlm::train
