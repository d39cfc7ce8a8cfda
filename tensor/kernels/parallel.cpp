#include "tensor/kernels/parallel.h"

#include <cblas.h>
#include <omp.h>

namespace tlm::kernels {

void set_num_threads(int n) {
  if (n < 1) n = omp_get_num_procs();  // 0: every core
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace tlm::kernels
