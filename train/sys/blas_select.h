// Making sure OpenBLAS runs a kernel that matches the CPU.
//
// OpenBLAS picks its kernel once, when the library loads. A distribution's OpenBLAS that
// does not know a new CPU model falls back to its generic SSE3 kernel ("Prescott"), several
// times slower, without saying so. `tlm` calls ensure_blas_kernel() first thing in main():
// when the library chose a kernel below what the CPU supports (and the user did not choose
// one with OPENBLAS_CORETYPE), it sets OPENBLAS_CORETYPE to the best kernel the CPU can run
// and re-executes itself, so the library loads again with it; the new kernel is then checked
// against a reference product before it is trusted. TLM_BLAS_AUTO=0 turns all this off.
#pragma once

#include <string>
#include <vector>

namespace tlm::train {

// OpenBLAS kernels tlm knows, slowest first ("" when none is better than the library's).
struct CpuFeatures {
  bool sse3 = false, avx = false, avx2 = false, fma = false, avx512f = false, avx512bw = false,
       avx512vl = false, avx512dq = false, avx512bf16 = false;
  static CpuFeatures detect();
};

// The kernel to switch to, or "" to keep the library's choice. Pure: the decision only.
//   chosen      what openblas_get_corename() reported
//   user_choice OPENBLAS_CORETYPE as the user set it ("" when unset): always respected
std::string better_blas_kernel(const std::string& chosen, const CpuFeatures& cpu,
                               const std::string& user_choice);

// When the user's OPENBLAS_CORETYPE makes the library run a kernel below the best this CPU
// runs (an environment that pins "Haswell" on an AVX-512 machine, say), one banner line that
// says so and how to get the faster one; else "". The choice itself is kept.
std::string slower_user_kernel_note(const std::string& chosen, const CpuFeatures& cpu,
                                    const std::string& user_choice);

// A small sgemm against a double-precision reference: true when the kernel computes right.
bool blas_probe_ok();

// Re-executes the program with a better kernel when needed (see above); returns when the
// current one is kept. `notes` receives one line for the training banner, if any.
void ensure_blas_kernel(char** argv, std::string* note);

}  // namespace tlm::train
