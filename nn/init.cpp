#include "nn/init.h"

#include <cmath>

#include "autograd/grad_mode.h"

namespace tlm::nn::init {

void normal_(Tensor& t, Rng& rng, double std) {
  NoGradGuard no_grad;
  t.copy_from(Tensor::randn(t.shape(), rng, std, t.dtype()));
}

void zeros_(Tensor& t) { t.fill_(0.0); }
void ones_(Tensor& t) { t.fill_(1.0); }

double xavier_normal_std(int64_t fan_in, int64_t fan_out, double gain) {
  TLM_CHECK(fan_in + fan_out > 0, "xavier_normal_std: fan_in {} + fan_out {} must be > 0",
            fan_in, fan_out);
  return gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
}

}  // namespace tlm::nn::init
