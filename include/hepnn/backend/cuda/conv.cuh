/// @file backend/cuda/conv.cuh
/// @brief 2-D convolution on the GPU: im2col + one cuBLAS product per chunk of samples, the
/// layout of backend/cpu/conv.hpp (col is (C*KH*KW, S*OH*OW)). Every output element is written
/// by one thread (col2im gathers instead of scattering), so no atomics and the same result on
/// every run. nvcc only.
#pragma once
#include <algorithm>
#include <cstdint>

#include "hepnn/backend/cuda/element.hpp"
#include "hepnn/backend/cuda/elementwise.cuh"
#include "hepnn/backend/cuda/gemm.cuh"
#include "hepnn/ops/conv_geometry.hpp"

namespace hepnn::backend::cuda {

namespace kernels {

template <class T>
__global__ void im2col(Conv2DGeometry g, std::int64_t S, const T* __restrict__ x, T* __restrict__ col) {
  HEPNN_GRID_STRIDE(e, g.C * g.KH * g.KW * S * g.OH * g.OW) col[e] = element::im2col_at(g, S, x, e);
}

template <class T>
__global__ void col2im(Conv2DGeometry g, std::int64_t S, const T* __restrict__ col, T* __restrict__ dx) {
  HEPNN_GRID_STRIDE(e, S * g.C * g.H * g.W) dx[e] = element::col2im_at(g, S, col, e);
}

template <class T>
__global__ void fsp_to_sfp_bias(std::int64_t F, std::int64_t S, std::int64_t P, const T* __restrict__ tmp,
                                const T* __restrict__ b, T* __restrict__ y) {
  HEPNN_GRID_STRIDE(e, F * S * P) y[e] = element::fsp_to_sfp_at(F, S, P, tmp, b, e);
}

template <class T>
__global__ void sfp_to_fsp(std::int64_t F, std::int64_t S, std::int64_t P, const T* __restrict__ dy,
                           T* __restrict__ tmp) {
  HEPNN_GRID_STRIDE(e, F * S * P) tmp[e] = element::sfp_to_fsp_at(F, S, P, dy, e);
}

}  // namespace kernels

namespace detail {
/// Scratch elements for im2col + product outputs; the batch is cut into chunks of S samples
/// that fit this budget (from the shape and the batch only).
inline constexpr std::int64_t conv_scratch_budget = std::int64_t(1) << 25;
struct GpuConvPlan {
  std::int64_t S = 1, chunks = 0, col = 0, tmp = 0;
};
inline GpuConvPlan conv_plan(const Conv2DGeometry& g, std::int64_t batch) {
  GpuConvPlan p;
  const std::int64_t P = std::max<std::int64_t>(g.pixels(), 1), K = g.patch();
  p.S = std::clamp<std::int64_t>(conv_scratch_budget / std::max<std::int64_t>((K + g.F) * P, 1), 1,
                                 std::max<std::int64_t>(batch, 1));
  p.chunks = (batch + p.S - 1) / p.S;
  p.col = K * p.S * P;
  p.tmp = g.F * p.S * P;
  return p;
}
}  // namespace detail

template <class T>
void im2col(const Conv2DGeometry& g, std::int64_t S, const T* x, T* col) {
  const std::int64_t n = g.patch() * S * g.pixels();
  if (n == 0) return;
  detail::launch("im2col", detail::blocks_for(n, 4), detail::threads_per_block, kernels::im2col<T>, g, S, x, col);
}

template <class T>
void col2im(const Conv2DGeometry& g, std::int64_t S, const T* col, T* dx) {
  const std::int64_t n = S * g.in_size();
  if (n == 0) return;
  detail::launch("col2im", detail::blocks_for(n, 4), detail::threads_per_block, kernels::col2im<T>, g, S, col, dx);
}

std::int64_t conv2d_scratch_size(const Conv2DGeometry& g, std::int64_t batch) {
  const detail::GpuConvPlan p = detail::conv_plan(g, batch);
  return p.col + p.tmp;
}

template <class T>
void conv2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, const T* w, const T* b, T* y, T* scratch) {
  if (B <= 0 || g.out_size() == 0) return;
  const detail::GpuConvPlan p = detail::conv_plan(g, B);
  const std::int64_t P = g.pixels(), K = g.patch(), in = g.in_size(), out = g.out_size();
  T* col = scratch;
  T* tmp = scratch + p.col;
  for (std::int64_t ch = 0; ch < p.chunks; ++ch) {
    const std::int64_t s0 = ch * p.S, S = std::min(p.S, B - s0);
    im2col(g, S, x + s0 * in, col);
    gemm(false, false, g.F, S * P, K, T(1), w, col, T(0), tmp);
    const std::int64_t n = g.F * S * P;
    detail::launch("fsp_to_sfp_bias", detail::blocks_for(n, 4), detail::threads_per_block, kernels::fsp_to_sfp_bias<T>,
                   g.F, S, P, tmp, b, y + s0 * out);
  }
}

template <class T>
void conv2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db,
                     T* scratch) {
  const std::int64_t K = g.patch(), nw = g.F * K;
  const cudaStream_t st = detail::stream();
  if (B <= 0 || g.pixels() == 0) {
    HEPNN_CUDA_CHECK(cudaMemsetAsync(dw, 0, sizeof(T) * std::size_t(nw), st));
    if (db) HEPNN_CUDA_CHECK(cudaMemsetAsync(db, 0, sizeof(T) * std::size_t(g.F), st));
    if (dx && B > 0) HEPNN_CUDA_CHECK(cudaMemsetAsync(dx, 0, sizeof(T) * std::size_t(B * g.in_size()), st));
    return;
  }
  const detail::GpuConvPlan p = detail::conv_plan(g, B);
  const std::int64_t P = g.pixels(), in = g.in_size(), out = g.out_size();
  T* col = scratch;
  T* tmp = scratch + p.col;
  for (std::int64_t ch = 0; ch < p.chunks; ++ch) {
    const std::int64_t s0 = ch * p.S, S = std::min(p.S, B - s0);
    const std::int64_t n = g.F * S * P;
    detail::launch("sfp_to_fsp", detail::blocks_for(n, 4), detail::threads_per_block, kernels::sfp_to_fsp<T>, g.F, S, P,
                   dy + s0 * out, tmp);
    im2col(g, S, x + s0 * in, col);
    gemm(false, true, g.F, K, S * P, T(1), tmp, col, ch == 0 ? T(0) : T(1), dw);  // dw (+)= dy col^T
    if (db) row_sums(g.F, S * P, tmp, db, ch != 0);
    if (dx) {
      gemm(true, false, K, S * P, g.F, T(1), w, tmp, T(0), col);  // dcol = w^T dy
      col2im(g, S, col, dx + s0 * in);
    }
  }
}

}  // namespace hepnn::backend::cuda
