/// @file backend/cpu/attention.hpp
/// @brief Scaled dot-product attention of several heads over padded sequences, on the CPU.
///
/// Layouts, as the projections leave them (no transposes): q, k (B, L, heads, dk), v and the
/// output (B, L, heads, dv); attention probabilities p (B, heads, L, L); key mask (B, L), nonzero
/// for a real element, or null. A query attends to the real keys only; a query with no real key
/// gets probabilities 0 and output 0. Rows are independent: threads split (sample, head) pairs.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "hepnn/backend/cpu/parallel.hpp"

namespace hepnn::backend::cpu::inline HEPNN_ABI {

/// o = softmax(scale q k^T over the real keys) v for every sample and head; p keeps the probabilities.
template <class T>
void attention_forward(std::int64_t B, std::int64_t heads, std::int64_t L, std::int64_t dk, std::int64_t dv,
                       const T* q, const T* k, const T* v, const T* mask, T scale, T* p, T* o) {
  const double flops = double(L * L * (dk + dv) * 2);
  parallel_range(B * heads, 1, flops, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::int64_t b = r / heads, a = r - b * heads;
      for (std::int64_t i = 0; i < L; ++i) {
        const T* qi = q + ((b * L + i) * heads + a) * dk;
        T* pi = p + (r * L + i) * L;
        T mx = T(0);
        bool any = false;
        for (std::int64_t j = 0; j < L; ++j) {
          if (mask && mask[b * L + j] == T(0)) {
            pi[j] = T(0);
            continue;
          }
          const T* kj = k + ((b * L + j) * heads + a) * dk;
          T s = T(0);
          for (std::int64_t d = 0; d < dk; ++d) s += qi[d] * kj[d];
          s *= scale;
          pi[j] = s;
          mx = any ? std::max(mx, s) : s;
          any = true;
        }
        T sum = T(0);
        for (std::int64_t j = 0; j < L; ++j) {
          if (mask && mask[b * L + j] == T(0)) continue;
          pi[j] = std::exp(pi[j] - mx);
          sum += pi[j];
        }
        T* oi = o + ((b * L + i) * heads + a) * dv;
        for (std::int64_t d = 0; d < dv; ++d) oi[d] = T(0);
        if (!any) continue;
        for (std::int64_t j = 0; j < L; ++j) {
          pi[j] /= sum;
          if (pi[j] == T(0)) continue;
          const T* vj = v + ((b * L + j) * heads + a) * dv;
          for (std::int64_t d = 0; d < dv; ++d) oi[d] += pi[j] * vj[d];
        }
      }
    }
  });
}

/// Given dout (B, L, heads, dv) and the forward's p: dq, dk, dv (overwritten) in the layouts of q,
/// k, v; ds (B, heads, L, L) is scratch (the gradient of the scaled scores).
template <class T>
void attention_backward(std::int64_t B, std::int64_t heads, std::int64_t L, std::int64_t dk, std::int64_t dv,
                        const T* q, const T* k, const T* v, const T* p, const T* dout, T scale, T* ds, T* dq,
                        T* dkey, T* dval) {
  const double flops = double(L * L * (dk + dv) * 4);
  parallel_range(B * heads, 1, flops, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::int64_t b = r / heads, a = r - b * heads;
      for (std::int64_t i = 0; i < L; ++i) {  // per query: ds and dq
        const T* pi = p + (r * L + i) * L;
        const T* doi = dout + ((b * L + i) * heads + a) * dv;
        T* dsi = ds + (r * L + i) * L;
        T c = T(0);
        for (std::int64_t j = 0; j < L; ++j) {
          T dp = T(0);
          if (pi[j] != T(0)) {
            const T* vj = v + ((b * L + j) * heads + a) * dv;
            for (std::int64_t d = 0; d < dv; ++d) dp += doi[d] * vj[d];
          }
          dsi[j] = dp;
          c += pi[j] * dp;
        }
        T* dqi = dq + ((b * L + i) * heads + a) * dk;
        for (std::int64_t d = 0; d < dk; ++d) dqi[d] = T(0);
        for (std::int64_t j = 0; j < L; ++j) {
          dsi[j] = pi[j] * (dsi[j] - c);
          if (dsi[j] == T(0)) continue;
          const T* kj = k + ((b * L + j) * heads + a) * dk;
          for (std::int64_t d = 0; d < dk; ++d) dqi[d] += scale * dsi[j] * kj[d];
        }
      }
      for (std::int64_t j = 0; j < L; ++j) {  // per key: dk and dv
        T* dkj = dkey + ((b * L + j) * heads + a) * dk;
        T* dvj = dval + ((b * L + j) * heads + a) * dv;
        for (std::int64_t d = 0; d < dk; ++d) dkj[d] = T(0);
        for (std::int64_t d = 0; d < dv; ++d) dvj[d] = T(0);
        for (std::int64_t i = 0; i < L; ++i) {
          const T s = ds[(r * L + i) * L + j], pij = p[(r * L + i) * L + j];
          const T* qi = q + ((b * L + i) * heads + a) * dk;
          const T* doi = dout + ((b * L + i) * heads + a) * dv;
          for (std::int64_t d = 0; d < dk; ++d) dkj[d] += scale * s * qi[d];
          for (std::int64_t d = 0; d < dv; ++d) dvj[d] += pij * doi[d];
        }
      }
    }
  });
}

}  // namespace hepnn::backend::cpu
