#include "train/sys/sysinfo.h"

#include <sys/resource.h>

#include "tensor/kernels/gemm.h"

extern "C" char* openblas_get_corename(void);

namespace tlm::train {

int64_t peak_rss_bytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

std::string blas_description() { return kernels::blas_info(); }

std::string blas_kernel() { return openblas_get_corename(); }

}  // namespace tlm::train
