// Facts about the running process and machine that the training banner and the final JSON
// line report: peak resident memory, the BLAS library, its kernel and thread count.
#pragma once

#include <cstdint>
#include <string>

namespace tlm::train {

// Peak resident set size of this process, in bytes (getrusage ru_maxrss).
int64_t peak_rss_bytes();
// "OpenBLAS 0.3.21 ... kernel Haswell, 2 threads"
std::string blas_description();
// The kernel OpenBLAS selected for this CPU (openblas_get_corename()).
std::string blas_kernel();

}  // namespace tlm::train
