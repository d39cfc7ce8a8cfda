// Every MPI call of tlm (see distributed.h). TLM_HAVE_MPI is defined for this file only, by
// CMakeLists.txt, when the build found MPI (option TLM_MPI).
#include "train/dist/distributed.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <thread>

#include <sched.h>

#include "tensor/error.h"

#ifdef TLM_HAVE_MPI
#include <mpi.h>
#endif

namespace tlm::train {

bool mpi_built() {
#ifdef TLM_HAVE_MPI
  return true;
#else
  return false;
#endif
}

bool launched_by_mpi_launcher() {
  // Open MPI's mpirun, and PMI/PMIx launchers (MPICH's hydra, srun).
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* v = std::getenv(name)) return std::max(1, std::atoi(v));
  return 1;
}

void check_mpi_launch(bool built_with_mpi, int world_size) {
  TLM_CHECK(built_with_mpi || world_size <= 1,
            "distributed: started as one of {} ranks by mpirun, but this tlm was built without MPI "
            "(TLM_MPI=OFF or no MPI found by CMake), so each copy would train alone and overwrite "
            "the same out_dir; rebuild with libopenmpi-dev installed, or run without mpirun",
            world_size);
}

int threads_per_rank(int64_t threads, int cores, int local_ranks) {
  if (threads > 0) return static_cast<int>(threads);
  return std::max(1, std::max(1, cores) / std::max(1, local_ranks));
}

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return std::max(1u, std::thread::hardware_concurrency());
}

std::unique_ptr<Distributed> Distributed::from_launcher() {
  check_mpi_launch(mpi_built(), launcher_world_size());
  auto d = std::make_unique<Distributed>();
#ifdef TLM_HAVE_MPI
  if (launched_by_mpi_launcher()) {
    int already = 0;
    MPI_Initialized(&already);
    if (!already) {
      MPI_Init(nullptr, nullptr);
      d->initialised_ = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size_);
    // Ranks on this host: those that share memory with this one.
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, d->rank_, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &d->local_size_);
    MPI_Comm_free(&local);
  }
#endif
  return d;
}

Distributed::~Distributed() {
#ifdef TLM_HAVE_MPI
  if (initialised_) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
#endif
}

void Distributed::allreduce_sum(double* data, size_t n) {
  if (size_ == 1 || n == 0) return;
#ifdef TLM_HAVE_MPI
  TLM_CHECK(n <= static_cast<size_t>(INT_MAX), "distributed: allreduce of {} doubles", n);
  MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#else
  (void)data;
#endif
}

void Distributed::allreduce_sum(float* data, size_t n) {
  if (size_ == 1 || n == 0) return;
#ifdef TLM_HAVE_MPI
  for (size_t done = 0; done < n;) {
    const size_t chunk = std::min(n - done, static_cast<size_t>(INT_MAX));
    MPI_Allreduce(MPI_IN_PLACE, data + done, static_cast<int>(chunk), MPI_FLOAT, MPI_SUM,
                  MPI_COMM_WORLD);
    done += chunk;
  }
#else
  (void)data;
#endif
}

std::string Distributed::broadcast(const std::string& text) {
  if (size_ == 1) return text;
  std::string out;
#ifdef TLM_HAVE_MPI
  unsigned long long n = text.size();
  MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
  TLM_CHECK(n <= static_cast<unsigned long long>(INT_MAX), "distributed: broadcast of {} bytes", n);
  out = rank_ == 0 ? text : std::string(n, '\0');
  MPI_Bcast(out.data(), static_cast<int>(n), MPI_CHAR, 0, MPI_COMM_WORLD);
#endif
  return out;
}

std::vector<std::string> Distributed::allgather(const std::string& text) {
  if (size_ == 1) return {text};
  std::vector<std::string> out(static_cast<size_t>(size_));
#ifdef TLM_HAVE_MPI
  TLM_CHECK(text.size() <= static_cast<size_t>(INT_MAX / size_),
            "distributed: allgather of {} bytes", text.size());
  int n = static_cast<int>(text.size());
  std::vector<int> counts(static_cast<size_t>(size_)), offsets(static_cast<size_t>(size_));
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size_; ++r) offsets[r] = total, total += counts[r];
  std::string all(static_cast<size_t>(total), '\0');
  MPI_Allgatherv(text.data(), n, MPI_CHAR, all.data(), counts.data(), offsets.data(), MPI_CHAR,
                 MPI_COMM_WORLD);
  for (int r = 0; r < size_; ++r) out[r] = all.substr(offsets[r], counts[r]);
#endif
  return out;
}

void Distributed::abort(int code) {
#ifdef TLM_HAVE_MPI
  if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

}  // namespace tlm::train
