#include "train/sys/blas_select.h"

#include <cblas.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "tensor/random.h"

extern "C" char* openblas_get_corename(void);

namespace tlm::train {
namespace {

// OpenBLAS x86-64 kernels by capability (corename as the library spells it, lower case).
int kernel_rank(const std::string& name) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "sapphirerapids" || n == "cooperlake") return 5;
  if (n == "skylakex") return 4;
  if (n == "haswell" || n == "zen") return 3;  // AVX2 + FMA kernels
  if (n == "sandybridge" || n == "bulldozer" || n == "piledriver" || n == "steamroller" ||
      n == "excavator")
    return 2;  // AVX
  return 1;    // Prescott, Core2, Nehalem, Atom, ...: SSE kernels
}

}  // namespace

CpuFeatures CpuFeatures::detect() {
  CpuFeatures f;
  __builtin_cpu_init();
  f.sse3 = __builtin_cpu_supports("sse3");
  f.avx = __builtin_cpu_supports("avx");
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
  return f;
}

namespace {
// The best kernel tlm knows for the CPU ("" when only the generic ones apply).
std::string best_kernel_for(const CpuFeatures& cpu) {
  if (cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512dq) return "SkylakeX";
  if (cpu.avx2 && cpu.fma) return "Haswell";
  if (cpu.avx) return "Sandybridge";
  return "";
}
}  // namespace

std::string better_blas_kernel(const std::string& chosen, const CpuFeatures& cpu,
                               const std::string& user_choice) {
  if (!user_choice.empty()) return "";  // the user decided
  const std::string best = best_kernel_for(cpu);
  if (best.empty() || kernel_rank(best) <= kernel_rank(chosen)) return "";
  return best;
}

std::string slower_user_kernel_note(const std::string& chosen, const CpuFeatures& cpu,
                                    const std::string& user_choice) {
  const std::string best = best_kernel_for(cpu);
  if (user_choice.empty() || best.empty() || kernel_rank(best) <= kernel_rank(chosen)) return "";
  return "OPENBLAS_CORETYPE=" + user_choice + " from the environment is kept, but this CPU runs "
         "the faster " + best + " kernels: unset OPENBLAS_CORETYPE to use them";
}

bool blas_probe_ok() {
  // Shapes that exercise the kernel's edge handling (not multiples of the block sizes).
  const int M = 67, N = 45, K = 131;
  Rng rng(7);
  std::vector<float> a(M * K), b(K * N), c(M * N);
  for (float& v : a) v = static_cast<float>(rng.normal());
  for (float& v : b) v = static_cast<float>(rng.normal());
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a.data(), K, b.data(), K,
              0.0f, c.data(), N);  // a b^T with b read as [N,K]
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0;
      for (int k = 0; k < K; ++k) s += static_cast<double>(a[i * K + k]) * b[j * K + k];
      if (!(std::abs(s - c[i * N + j]) <= 1e-3 * (1.0 + std::abs(s)))) return false;
    }
  return true;
}

void ensure_blas_kernel(char** argv, std::string* note) {
  const char* opt = std::getenv("TLM_BLAS_AUTO");
  if (opt && std::string(opt) == "0") return;
  const std::string chosen = openblas_get_corename();
  if (const char* applied = std::getenv("TLM_BLAS_AUTO_APPLIED")) {
    // We are the re-executed process: trust the new kernel only if it computes right.
    std::string from = applied;
    if (blas_probe_ok()) {
      if (note) *note = "auto-selected kernel " + chosen + " (the library chose " + from +
                        "; TLM_BLAS_AUTO=0 turns this off)";
      return;
    }
    setenv("TLM_BLAS_AUTO", "0", 1);
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv("TLM_BLAS_AUTO_APPLIED");
    execv("/proc/self/exe", argv);
    return;  // exec failed: keep going with what we have
  }
  const char* user = std::getenv("OPENBLAS_CORETYPE");
  const CpuFeatures cpu = CpuFeatures::detect();
  std::string target = better_blas_kernel(chosen, cpu, user ? user : "");
  if (target.empty()) {
    if (note) *note = slower_user_kernel_note(chosen, cpu, user ? user : "");
    return;
  }
  setenv("OPENBLAS_CORETYPE", target.c_str(), 1);
  setenv("TLM_BLAS_AUTO_APPLIED", chosen.c_str(), 1);
  execv("/proc/self/exe", argv);
  // exec failed: undo and continue on the library's kernel
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv("TLM_BLAS_AUTO_APPLIED");
}

}  // namespace tlm::train
