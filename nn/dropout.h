// Dropout (Srivastava et al., JMLR 2014): inverted dropout, active only in training mode.
//
//   nn::Dropout drop(0.1);
//   Tensor y = drop.forward(x, rng);   // identity after drop.eval() or when p == 0
#pragma once

#include "nn/module.h"

namespace tlm::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p);
  Tensor forward(const Tensor& x, Rng& rng) const { return dropout(x, p_, rng, training()); }
  double p() const { return p_; }

 private:
  double p_;
};

}  // namespace tlm::nn
