/// @file backend/cuda/pooling.cuh
/// @brief Max and average pooling on the GPU (NCHW) with the conventions of
/// backend/cpu/pooling.hpp: padding positions are skipped, the first maximum wins, an average
/// divides by the number of real pixels. Backward gathers per input pixel (no atomics). nvcc only.
#pragma once
#include <cstdint>

#include "hepnn/backend/cuda/element.hpp"
#include "hepnn/backend/cuda/elementwise.cuh"
#include "hepnn/ops/conv_geometry.hpp"

namespace hepnn::backend::cuda {

namespace kernels {

template <class T>
__global__ void maxpool_forward(Conv2DGeometry g, std::int64_t planes, const T* __restrict__ x, T* __restrict__ y,
                                T* __restrict__ argmax) {
  HEPNN_GRID_STRIDE(e, planes * g.OH * g.OW) {
    std::int64_t at = -1;
    y[e] = element::maxpool_at(g, x, e, at);
    if (argmax) argmax[e] = T(at);
  }
}

template <class T>
__global__ void maxpool_backward(Conv2DGeometry g, std::int64_t planes, const T* __restrict__ dy,
                                 const T* __restrict__ argmax, T* __restrict__ dx) {
  HEPNN_GRID_STRIDE(e, planes * g.H * g.W) dx[e] = element::maxpool_backward_at(g, dy, argmax, e);
}

template <class T>
__global__ void avgpool_forward(Conv2DGeometry g, std::int64_t planes, const T* __restrict__ x, T* __restrict__ y) {
  HEPNN_GRID_STRIDE(e, planes * g.OH * g.OW) y[e] = element::avgpool_at(g, x, e);
}

template <class T>
__global__ void avgpool_backward(Conv2DGeometry g, std::int64_t planes, const T* __restrict__ dy, T* __restrict__ dx) {
  HEPNN_GRID_STRIDE(e, planes * g.H * g.W) dx[e] = element::avgpool_backward_at(g, dy, e);
}

}  // namespace kernels

template <class T>
void maxpool2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, T* y, T* argmax) {
  const std::int64_t n = B * g.C * g.pixels();
  if (n == 0) return;
  detail::launch("maxpool_forward", detail::blocks_for(n), detail::threads_per_block, kernels::maxpool_forward<T>, g,
                 B * g.C, x, y, argmax);
}

template <class T>
void maxpool2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* dy, const T* argmax, T* dx) {
  const std::int64_t n = B * g.C * g.H * g.W;
  if (n == 0) return;
  detail::launch("maxpool_backward", detail::blocks_for(n), detail::threads_per_block, kernels::maxpool_backward<T>, g,
                 B * g.C, dy, argmax, dx);
}

template <class T>
void avgpool2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, T* y) {
  const std::int64_t n = B * g.C * g.pixels();
  if (n == 0) return;
  detail::launch("avgpool_forward", detail::blocks_for(n), detail::threads_per_block, kernels::avgpool_forward<T>, g,
                 B * g.C, x, y);
}

template <class T>
void avgpool2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* dy, T* dx) {
  const std::int64_t n = B * g.C * g.H * g.W;
  if (n == 0) return;
  detail::launch("avgpool_backward", detail::blocks_for(n), detail::threads_per_block, kernels::avgpool_backward<T>, g,
                 B * g.C, dy, dx);
}

}  // namespace hepnn::backend::cuda
