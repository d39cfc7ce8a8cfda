#include "tensor/kernels/flash_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor/kernels/gemm.h"
#include "tensor/kernels/parallel.h"
#include "tensor/kernels/vmath.h"
#include "tensor/profile.h"

namespace tlm::kernels {
namespace {

// A [B,H,T,D] operand read in place: element (b,h,t,d) at base[b*sb + h*sh + t*ld + d].
template <class T>
struct Heads {
  T* base;
  int64_t sb, sh, ld;
  T* at(int64_t b, int64_t h) const { return base + b * sb + h * sh; }
};

template <class T>
Heads<T> heads_of(const Tensor& t) {
  return {const_cast<T*>(t.data<T>()), t.strides()[0], t.strides()[1], t.strides()[2]};
}

// A fresh [B,H,T,D] tensor stored as [B,T,H,D] (heads interleaved per position).
Tensor empty_heads(int64_t B, int64_t H, int64_t T, int64_t D, DType dtype) {
  Tensor base = Tensor::empty({B, T, H, D}, dtype);
  return Tensor::make_view(base, {B, H, T, D}, {T * H * D, D, H * D, 1}, base.offset());
}

// Query row i (absolute position offset + i) sees keys [lo, hi).
struct Band {
  int64_t offset, window, Tk;
  int64_t lo(int64_t i) const { return window > 0 ? std::max<int64_t>(0, offset + i - window + 1) : 0; }
  int64_t hi(int64_t i) const { return std::min(Tk, offset + i + 1); }
};

// A parallel region only when there are several tasks and enough work: waking the second
// thread costs more than a tiny attention (a test model, one decode step).
bool worth_parallel(int64_t tasks, int64_t B, int64_t H, int64_t Tq, int64_t Tk, int64_t Dk,
                    int64_t Dv) {
  return tasks > 1 && B * H * Tq * Tk * (Dk + Dv) >= kParallelGrain;
}

// Last dimension contiguous (what BLAS needs); anything else is copied.
Tensor rows_contiguous(const Tensor& t) {
  return t.strides()[3] == 1 || t.shape()[3] == 1 ? t : t.contiguous();
}

void check_inputs(const Tensor& q, const Tensor& k, const Tensor& v,
                  const std::vector<double>& row_scale, int64_t offset, int64_t window) {
  TLM_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
            "flash_attention: q {}, k {}, v {} must be [B,H,T,D]", shape_str(q.shape()),
            shape_str(k.shape()), shape_str(v.shape()));
  TLM_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype(),
            "flash_attention: q, k, v dtypes differ ({}, {}, {})", dtype_name(q.dtype()),
            dtype_name(k.dtype()), dtype_name(v.dtype()));
  TLM_CHECK(q.size(0) == k.size(0) && q.size(1) == k.size(1) && q.size(3) == k.size(3),
            "flash_attention: q {} and k {} differ in batch, heads or head size",
            shape_str(q.shape()), shape_str(k.shape()));
  TLM_CHECK(k.size(0) == v.size(0) && k.size(1) == v.size(1) && k.size(2) == v.size(2),
            "flash_attention: k {} and v {} differ in batch, heads or length",
            shape_str(k.shape()), shape_str(v.shape()));
  TLM_CHECK(offset >= 0 && k.size(2) == offset + q.size(2),
            "flash_attention: k {} must hold offset + Tq = {} + {} keys for q {}",
            shape_str(k.shape()), offset, q.size(2), shape_str(q.shape()));
  TLM_CHECK(window >= 0, "flash_attention: the window must be >= 0, got {}", window);
  TLM_CHECK(static_cast<int64_t>(row_scale.size()) == q.size(2),
            "flash_attention: {} row scales for {} query rows", row_scale.size(), q.size(2));
}

template <class T>
void forward_impl(const Tensor& q, const Tensor& k, const Tensor& v,
                  const std::vector<double>& row_scale, int64_t offset, int64_t window,
                  Tensor& out, Tensor& lse, Tensor& probs) {
  const int64_t B = q.size(0), H = q.size(1), Tq = q.size(2), Tk = k.size(2);
  const int64_t Dk = q.size(3), Dv = v.size(3);
  const Heads<T> Q = heads_of<T>(q), K = heads_of<T>(k), V = heads_of<T>(v), O = heads_of<T>(out);
  T* lse_p = lse.data<T>();
  T* probs_p = probs.defined() ? probs.data<T>() : nullptr;  // one key tile: see the header
  const Band band{offset, window, Tk};
  const int64_t nqb = (Tq + kFlashBlock - 1) / kFlashBlock;
  const int64_t tasks = B * H * nqb;
  const T neg_inf = -std::numeric_limits<T>::infinity();
#pragma omp parallel if (worth_parallel(tasks, B, H, Tq, Tk, Dk, Dv))
  {
    std::vector<T> S(kFlashBlock * kFlashBlock), acc(kFlashBlock * Dv), m(kFlashBlock),
        l(kFlashBlock);
    // Static, contiguous ranges of tasks: thread t takes a contiguous range of batch rows, the
    // rows whose q, k, v the Linear before wrote on that thread (blas_gemm splits its rows the
    // same way) and whose output the Linear after reads there. On this machine a core reads
    // data the other core just wrote at about a third of the speed of its own (27 against
    // 75 GB/s), so which thread touches which rows matters more than balancing tasks whose
    // costs are alike (every batch row has the same set of query blocks).
#pragma omp for schedule(static)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t bh = task / nqb, qb = task % nqb, b = bh / H, h = bh % H;
      const int64_t i0 = qb * kFlashBlock, rows = std::min(kFlashBlock, Tq - i0);
      const T* q_blk = Q.at(b, h) + i0 * Q.ld;
      const T* k_bh = K.at(b, h);
      const T* v_bh = V.at(b, h);
      std::fill(acc.begin(), acc.begin() + rows * Dv, T(0));
      std::fill(m.begin(), m.end(), neg_inf);
      std::fill(l.begin(), l.end(), T(0));
      const int64_t j_end = band.hi(i0 + rows - 1);
      for (int64_t j0 = band.lo(i0); j0 < j_end; j0 += kFlashBlock) {
        const int64_t cols = std::min(kFlashBlock, j_end - j0);
        blas_gemm<T>(false, true, rows, cols, Dk, T(1), q_blk, Q.ld, k_bh + j0 * K.ld, K.ld, T(0),
                S.data(), kFlashBlock);
        for (int64_t r = 0; r < rows; ++r) {
          T* s = S.data() + r * kFlashBlock;
          const int64_t lo = std::max<int64_t>(band.lo(i0 + r) - j0, 0);
          const int64_t hi = std::min<int64_t>(band.hi(i0 + r) - j0, cols);
          if (lo >= hi) {  // no visible key of this row in this block
            std::fill(s, s + cols, T(0));
            continue;
          }
          // Loops over [0, span), span = hi rounded up to a multiple of 16, with the band
          // as a select, not loops over [lo, hi): on the diagonal tile a row's band has any
          // length from 1 to 64, and a loop over it would spend much of its time in the
          // scalar remainder after the SIMD part; past span the row is only zeroed. Forward at
          // the baby shape (B12 H4 T64 D32, 2 threads, best of 300): 255 us over the whole
          // row, 234 us stopping at span (bench_tensor --benchmark_filter=FlashKernels).
          const int64_t span = std::min(cols, (hi + 15) / 16 * 16);
          const T c = static_cast<T>(row_scale[i0 + r]);
          T block_max = neg_inf;
#pragma omp simd reduction(max : block_max)
          for (int64_t j = 0; j < span; ++j)
            block_max = std::max(block_max, j >= lo && j < hi ? c * s[j] : neg_inf);
          const T m_new = std::max(m[r], block_max);
          const T rescale = m[r] == neg_inf ? T(0) : vexp(m[r] - m_new);  // 0 on the first block
          T sum = 0;
#pragma omp simd reduction(+ : sum)
          for (int64_t j = 0; j < span; ++j) {
            const T e = j >= lo && j < hi ? vexp(c * s[j] - m_new) : T(0);
            s[j] = e;
            sum += e;
          }
          std::fill(s + span, s + cols, T(0));
          l[r] = l[r] * rescale + sum;
          m[r] = m_new;
          if (rescale != T(1)) {
            T* a = acc.data() + r * Dv;
            for (int64_t d = 0; d < Dv; ++d) a[d] *= rescale;
          }
        }
        blas_gemm<T>(false, false, rows, Dv, cols, T(1), S.data(), kFlashBlock, v_bh + j0 * V.ld,
                V.ld, T(1), acc.data(), Dv);
        if (probs_p) {  // the only key tile: l is final, P = exp(c S - m) / l
          for (int64_t r = 0; r < rows; ++r) {
            T* pr = probs_p + (bh * Tq + i0 + r) * Tk;
            const T* sr = S.data() + r * kFlashBlock;
            const T inv = l[r] > T(0) ? T(1) / l[r] : T(0);
            for (int64_t j = 0; j < j0; ++j) pr[j] = T(0);
            for (int64_t j = 0; j < cols; ++j) pr[j0 + j] = sr[j] * inv;
            for (int64_t j = j0 + cols; j < Tk; ++j) pr[j] = T(0);
          }
        }
      }
      T* o_blk = O.at(b, h) + i0 * O.ld;
      T* lse_blk = lse_p + (b * H + h) * Tq + i0;
      for (int64_t r = 0; r < rows; ++r) {
        const T inv = T(1) / l[r];
        for (int64_t d = 0; d < Dv; ++d) o_blk[r * O.ld + d] = acc[r * Dv + d] * inv;
        lse_blk[r] = m[r] + std::log(l[r]);
      }
    }
  }
}

template <class T>
void backward_impl(const Tensor& g, const Tensor& q, const Tensor& k, const Tensor& v,
                   const Tensor& out, const Tensor& lse, const Tensor& probs,
                   const std::vector<double>& row_scale, int64_t offset, int64_t window,
                   FlashAttentionGrads& grads) {
  const int64_t B = q.size(0), H = q.size(1), Tq = q.size(2), Tk = k.size(2);
  const int64_t Dk = q.size(3), Dv = v.size(3);
  const Heads<T> Q = heads_of<T>(q), K = heads_of<T>(k), V = heads_of<T>(v), O = heads_of<T>(out),
                 G = heads_of<T>(g), dQ = heads_of<T>(grads.dq), dK = heads_of<T>(grads.dk),
                 dV = heads_of<T>(grads.dv);
  const T* lse_p = lse.data<T>();
  const T* probs_p = probs.defined() ? probs.data<T>() : nullptr;  // kept by the forward
  const Band band{offset, window, Tk};
  // One (batch, head) per task: its dK and dV rows are written by that task alone.
#pragma omp parallel if (worth_parallel(B * H, B, H, Tq, Tk, Dk, Dv))
  {
    std::vector<T> P(kFlashBlock * kFlashBlock), dS(kFlashBlock * kFlashBlock),
        dq_acc(kFlashBlock * Dk), Dvec(kFlashBlock);
#pragma omp for schedule(static)  // contiguous batch rows per thread, as in the forward
    for (int64_t bh = 0; bh < B * H; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const T *q_bh = Q.at(b, h), *k_bh = K.at(b, h), *v_bh = V.at(b, h), *o_bh = O.at(b, h),
              *g_bh = G.at(b, h);
      T *dk_bh = dK.at(b, h), *dv_bh = dV.at(b, h);
      // This task's dK and dV rows start at 0, cleared here rather than by a memset of the
      // whole tensor beforehand: the rows are then in this core's cache when the tile
      // products accumulate into them.
      for (int64_t j = 0; j < Tk; ++j) {
        std::fill(dk_bh + j * dK.ld, dk_bh + j * dK.ld + Dk, T(0));
        std::fill(dv_bh + j * dV.ld, dv_bh + j * dV.ld + Dv, T(0));
      }
      for (int64_t i0 = 0; i0 < Tq; i0 += kFlashBlock) {
        const int64_t rows = std::min(kFlashBlock, Tq - i0);
        const T* q_blk = q_bh + i0 * Q.ld;
        const T* g_blk = g_bh + i0 * G.ld;
        const T* lse_blk = lse_p + bh * Tq + i0;
        for (int64_t r = 0; r < rows; ++r) {
          const T* gr = g_blk + r * G.ld;
          const T* orow = o_bh + (i0 + r) * O.ld;
          T s = 0;
#pragma omp simd reduction(+ : s)
          for (int64_t d = 0; d < Dv; ++d) s += gr[d] * orow[d];
          Dvec[r] = s;
        }
        std::fill(dq_acc.begin(), dq_acc.begin() + rows * Dk, T(0));
        const int64_t j_end = band.hi(i0 + rows - 1);
        for (int64_t j0 = band.lo(i0); j0 < j_end; j0 += kFlashBlock) {
          const int64_t cols = std::min(kFlashBlock, j_end - j0);
          // P of this tile: the forward's (ld Tk), or recomputed from S into P (ld kFlashBlock).
          const T* p_tile = probs_p ? probs_p + (bh * Tq + i0) * Tk + j0 : P.data();
          const int64_t ldp = probs_p ? Tk : kFlashBlock;
          if (!probs_p)
            blas_gemm<T>(false, true, rows, cols, Dk, T(1), q_blk, Q.ld, k_bh + j0 * K.ld, K.ld,
                         T(0), P.data(), kFlashBlock);                        // S
          blas_gemm<T>(false, true, rows, cols, Dv, T(1), g_blk, G.ld, v_bh + j0 * V.ld, V.ld, T(0),
                  dS.data(), kFlashBlock);                                    // dP = dO V^T
          for (int64_t r = 0; r < rows; ++r) {
            T* ds = dS.data() + r * kFlashBlock;
            const int64_t lo = std::max<int64_t>(band.lo(i0 + r) - j0, 0);
            const int64_t hi = std::min<int64_t>(band.hi(i0 + r) - j0, cols);
            const T c = static_cast<T>(row_scale[i0 + r]);
            const T D_r = Dvec[r];
            // Whole-row loops with the band as a select (see the forward). Unlike there,
            // stopping at span measured slower here (backward at the baby shape, 289 against
            // 279 us, BM_FlashKernels): the zeroing after it costs more than the work it saves.
            if (!probs_p) {
              T* p = P.data() + r * kFlashBlock;
              const T lse_r = lse_blk[r];
#pragma omp simd
              for (int64_t j = 0; j < cols; ++j)
                p[j] = j >= lo && j < hi ? vexp(c * p[j] - lse_r) : T(0);
            }
            const T* p = p_tile + r * ldp;
#pragma omp simd
            for (int64_t j = 0; j < cols; ++j)
              ds[j] = j >= lo && j < hi ? c * p[j] * (ds[j] - D_r) : T(0);
          }
          blas_gemm<T>(true, false, cols, Dv, rows, T(1), p_tile, ldp, g_blk, G.ld, T(1),
                  dv_bh + j0 * dV.ld, dV.ld);                                 // dV += P^T dO
          blas_gemm<T>(false, false, rows, Dk, cols, T(1), dS.data(), kFlashBlock, k_bh + j0 * K.ld,
                  K.ld, T(1), dq_acc.data(), Dk);                             // dQ += dS K
          blas_gemm<T>(true, false, cols, Dk, rows, T(1), dS.data(), kFlashBlock, q_blk, Q.ld, T(1),
                  dk_bh + j0 * dK.ld, dK.ld);                                 // dK += dS^T Q
        }
        T* dq_blk = dQ.at(b, h) + i0 * dQ.ld;
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t d = 0; d < Dk; ++d) dq_blk[r * dQ.ld + d] = dq_acc[r * Dk + d];
      }
    }
  }
}

}  // namespace

FlashAttentionResult flash_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                     const std::vector<double>& row_scale, int64_t offset,
                                     int64_t window, bool keep_probs) {
  TLM_PROFILE(Attention);
  check_inputs(q_in, k_in, v_in, row_scale, offset, window);
  const Tensor q = rows_contiguous(q_in), k = rows_contiguous(k_in), v = rows_contiguous(v_in);
  const int64_t B = q.size(0), H = q.size(1), Tq = q.size(2), Dv = v.size(3);
  FlashAttentionResult r;
  r.out = empty_heads(B, H, Tq, Dv, q.dtype());
  r.lse = Tensor::empty({B, H, Tq}, q.dtype());
  if (keep_probs && flash_keeps_probs(k.size(2)))
    r.probs = Tensor::empty({B, H, Tq, k.size(2)}, q.dtype());
  dispatch_floating(q.dtype(), "flash_attention", [&](auto tag) {
    forward_impl<decltype(tag)>(q, k, v, row_scale, offset, window, r.out, r.lse, r.probs);
  });
  return r;
}

FlashAttentionGrads flash_attention_backward(const Tensor& grad_out, const Tensor& q_in,
                                             const Tensor& k_in, const Tensor& v_in,
                                             const Tensor& out, const Tensor& lse,
                                             const std::vector<double>& row_scale,
                                             int64_t offset, int64_t window,
                                             const Tensor& probs) {
  TLM_PROFILE(Attention);
  check_inputs(q_in, k_in, v_in, row_scale, offset, window);
  TLM_CHECK(grad_out.shape() == out.shape(), "flash_attention backward: gradient {} does not "
            "match the output {}", shape_str(grad_out.shape()), shape_str(out.shape()));
  const Tensor q = rows_contiguous(q_in), k = rows_contiguous(k_in), v = rows_contiguous(v_in);
  const Tensor g = rows_contiguous(grad_out), o = rows_contiguous(out);
  const Tensor l = lse.contiguous();
  const Tensor p = probs.defined() ? probs.contiguous() : Tensor();
  TLM_CHECK(!p.defined() || p.shape() == Shape({q.size(0), q.size(1), q.size(2), k.size(2)}),
            "flash_attention backward: probabilities {} do not match q {} and k {}",
            shape_str(p.shape()), shape_str(q.shape()), shape_str(k.shape()));
  TLM_CHECK(!p.defined() || flash_keeps_probs(k.size(2)), "flash_attention backward: kept "
            "probabilities need all {} keys in one tile of {}", k.size(2), kFlashBlock);
  const int64_t B = q.size(0), H = q.size(1), Tq = q.size(2), Tk = k.size(2);
  FlashAttentionGrads grads;
  grads.dq = empty_heads(B, H, Tq, q.size(3), q.dtype());
  grads.dk = empty_heads(B, H, Tk, k.size(3), q.dtype());
  grads.dv = empty_heads(B, H, Tk, v.size(3), q.dtype());
  dispatch_floating(q.dtype(), "flash_attention", [&](auto tag) {
    backward_impl<decltype(tag)>(g, q, k, v, o, l, p, row_scale, offset, window, grads);
  });
  return grads;
}

}  // namespace tlm::kernels
