// Distributed: the processes of a data-parallel run (docs/distributed.md). Every MPI call of
// tlm is in distributed.cpp; built without MPI (TLM_MPI=OFF, or no MPI found) it is a world
// of one process and every collective is the identity, so the rest of the code has no #ifdefs.
//
//   auto world = Distributed::from_launcher();               // MPI_Init only under mpirun
//   Trainer trainer(cfg, resume, world.get());               // rank-aware batches, averaging
//   if (world->is_root()) fmt::print(...);                   // only rank 0 logs and saves
//
// When is MPI initialised: only when mpirun (or another MPI launcher) started the process,
// which it tells through the environment (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK).
// A plain `tlm train` never calls MPI_Init, so it behaves exactly as a build without MPI.
//
// Gradient averaging (the data-parallel step): g = (1/N) Σ_r g_r, computed as an fp32
// MPI_Allreduce(SUM) of each bucket followed by a scale by 1/N (GradientBuckets,
// train/dist/grad_buckets.h). A ring all-reduce moves 2(N-1)/N x 4 bytes x params per rank per step.
//
// Failures: MPI's default error handler (MPI_ERRORS_ARE_FATAL) and mpirun stop the whole job
// when a rank dies. An error that only some ranks see must end in abort() (MPI_Abort), never
// in MPI_Finalize, which would wait for ranks that are blocked in a collective.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tlm::train {

// True when this binary was built with MPI.
bool mpi_built();
// True when an MPI launcher started this process (reads the environment; see above).
bool launched_by_mpi_launcher();
// The world size the launcher announced (OMPI_COMM_WORLD_SIZE or PMI_SIZE), 1 if none.
int launcher_world_size();
// Throws when a launcher started several copies of a build without MPI: each would train alone
// and all would overwrite the same out_dir.
void check_mpi_launch(bool built_with_mpi, int world_size);

// Threads per rank for `threads` = 0 (auto): the cores shared by the ranks on this host, at
// least 1, so ranks x threads never oversubscribes. threads > 0 is kept as given.
int threads_per_rank(int64_t threads, int cores, int local_ranks);
// The cores this process may run on: its CPU affinity mask (mpirun may bind a rank to fewer).
int available_cores();

class Distributed {
 public:
  // A world of one process (no MPI).
  Distributed() = default;
  // MPI_Init when launched by an MPI launcher and built with MPI, else a world of one.
  static std::unique_ptr<Distributed> from_launcher();
  ~Distributed();  // MPI_Finalize, when this object initialised MPI
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_size() const { return local_size_; }  // ranks on this host
  bool is_root() const { return rank_ == 0; }
  bool active() const { return size_ > 1; }  // more than one rank

  // In-place sum over ranks of n doubles (blocking).
  void allreduce_sum(double* data, size_t n);
  // In-place sum over ranks of n floats (blocking; more than INT_MAX elements go in chunks).
  void allreduce_sum(float* data, size_t n);
  // Rank 0's `text` on every rank.
  std::string broadcast(const std::string& text);
  // Every rank's `text`, indexed by rank.
  std::vector<std::string> allgather(const std::string& text);
  // Stops every rank of the job (MPI_Abort); in a world of one, std::exit(code).
  [[noreturn]] void abort(int code);

  // Set when an error was raised identically on every rank (a collective decision: a config
  // mismatch, nan_policy = stop), so ending normally cannot hang; the CLI aborts otherwise.
  void mark_collective_error() { collective_error_ = true; }
  bool collective_error() const { return collective_error_; }

 private:
  int rank_ = 0, size_ = 1, local_size_ = 1;
  bool initialised_ = false;  // this object called MPI_Init
  bool collective_error_ = false;
};

}  // namespace tlm::train
