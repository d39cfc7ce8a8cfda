#include "nn/dropout.h"

namespace tlm::nn {

Dropout::Dropout(double p) : p_(p) {
  TLM_CHECK(p >= 0 && p < 1, "dropout: probability must be in [0, 1), got {}", p);
}

}  // namespace tlm::nn
