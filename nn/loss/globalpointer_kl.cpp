#include "nn/loss/globalpointer_kl.h"

#include "nn/loss/zlpr.h"

namespace tlm::nn {

Tensor globalpointer_kl(const Tensor& s, const Tensor& t, const Tensor& mask) {
  const char* name = "globalpointer_kl";
  TLM_CHECK(s.defined() && t.defined() && s.shape() == t.shape() && s.dtype() == t.dtype(),
            "{}: scores {} x {}: both score tensors must have the same shape and dtype", name,
            s.defined() ? s.str() : "undefined", t.defined() ? t.str() : "undefined");
  Tensor keep = detail::row_keep_mask(name, s, mask);  // [N,K]
  Tensor zero = Tensor::zeros({}, s.dtype());
  Tensor sk = where(keep, reshape(s, keep.shape()), zero);
  Tensor tk = where(keep, reshape(t, keep.shape()), zero);
  Tensor d = sum(mul(sub(sigmoid(sk), sigmoid(tk)), sub(sk, tk)), 1);  // [N]
  return detail::masked_mean(d, detail::nonempty_rows(keep));
}

Tensor globalpointer_rdrop_loss(const Tensor& s, const Tensor& t, const Tensor& labels,
                                double alpha, const Tensor& mask) {
  return add(add(zlpr_loss(s, labels, mask), zlpr_loss(t, labels, mask)),
             mul(globalpointer_kl(s, t, mask), alpha));
}

}  // namespace tlm::nn
