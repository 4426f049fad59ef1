/// @file backend/cuda/attention.cuh
/// @brief Scaled dot-product attention on the GPU with the layouts and conventions of
/// backend/cpu/attention.hpp: one thread per (sample, head, query) for the scores, softmax and
/// output and for dq; one thread per (sample, head, key) for dk and dv. No atomics. Meant for
/// the short sequences of tracks and constituents (tens of elements). nvcc only.
#pragma once
#include <cstdint>

#include "hepnn/backend/cuda/element.hpp"
#include "hepnn/backend/cuda/elementwise.cuh"

namespace hepnn::backend::cuda {

namespace kernels {

template <class T>
__global__ void attention_forward(std::int64_t B, std::int64_t heads, std::int64_t L, std::int64_t dk,
                                  std::int64_t dv, const T* __restrict__ q, const T* __restrict__ k,
                                  const T* __restrict__ v, const T* __restrict__ mask, T scale, T* __restrict__ p,
                                  T* __restrict__ o) {
  HEPNN_GRID_STRIDE(e, B * heads * L) {
    const std::int64_t r = e / L, i = e - r * L, b = r / heads, a = r - b * heads;
    const T* qi = q + ((b * L + i) * heads + a) * dk;
    T* pi = p + e * L;
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
      mx = any ? (s > mx ? s : mx) : s;
      any = true;
    }
    T sum = T(0);
    for (std::int64_t j = 0; j < L; ++j) {
      if (mask && mask[b * L + j] == T(0)) continue;
      pi[j] = exp(pi[j] - mx);
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

template <class T>
__global__ void attention_backward_queries(std::int64_t B, std::int64_t heads, std::int64_t L, std::int64_t dk,
                                           std::int64_t dv, const T* __restrict__ k, const T* __restrict__ v,
                                           const T* __restrict__ p, const T* __restrict__ dout, T scale,
                                           T* __restrict__ ds, T* __restrict__ dq) {
  HEPNN_GRID_STRIDE(e, B * heads * L) {
    const std::int64_t r = e / L, i = e - r * L, b = r / heads, a = r - b * heads;
    const T* pi = p + e * L;
    const T* doi = dout + ((b * L + i) * heads + a) * dv;
    T* dsi = ds + e * L;
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
}

template <class T>
__global__ void attention_backward_keys(std::int64_t B, std::int64_t heads, std::int64_t L, std::int64_t dk,
                                        std::int64_t dv, const T* __restrict__ q, const T* __restrict__ p,
                                        const T* __restrict__ dout, const T* __restrict__ ds, T scale,
                                        T* __restrict__ dkey, T* __restrict__ dval) {
  HEPNN_GRID_STRIDE(e, B * heads * L) {
    const std::int64_t r = e / L, j = e - r * L, b = r / heads, a = r - b * heads;
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

}  // namespace kernels

template <class T>
void attention_forward(std::int64_t B, std::int64_t heads, std::int64_t L, std::int64_t dk, std::int64_t dv,
                       const T* q, const T* k, const T* v, const T* mask, T scale, T* p, T* o) {
  if (B * heads * L == 0) return;
  detail::launch("attention_forward", detail::blocks_for(B * heads * L), detail::threads_per_block,
                 kernels::attention_forward<T>, B, heads, L, dk, dv, q, k, v, mask, scale, p, o);
}

template <class T>
void attention_backward(std::int64_t B, std::int64_t heads, std::int64_t L, std::int64_t dk, std::int64_t dv,
                        const T* q, const T* k, const T* v, const T* p, const T* dout, T scale, T* ds, T* dq,
                        T* dkey, T* dval) {
  if (B * heads * L == 0) return;
  detail::launch("attention_backward_queries", detail::blocks_for(B * heads * L), detail::threads_per_block,
                 kernels::attention_backward_queries<T>, B, heads, L, dk, dv, k, v, p, dout, scale, ds, dq);
  detail::launch("attention_backward_keys", detail::blocks_for(B * heads * L), detail::threads_per_block,
                 kernels::attention_backward_keys<T>, B, heads, L, dk, dv, q, p, dout, ds, scale, dkey, dval);
}

}  // namespace hepnn::backend::cuda
