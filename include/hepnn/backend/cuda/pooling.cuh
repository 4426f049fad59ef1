/// @file backend/cuda/pooling.cuh
/// @brief Max and average pooling on the GPU (NCHW) with the conventions of
/// backend/cpu/pooling.hpp: padding positions are skipped, the first maximum wins, an average
/// divides by the number of real pixels. Backward gathers per input pixel (no atomics). nvcc only.
#pragma once
#include <cstdint>

#include "hepnn/backend/cuda/elementwise.cuh"
#include "hepnn/ops/conv_geometry.hpp"

namespace hepnn::backend::cuda {

namespace kernels {

__device__ inline std::int64_t real_count(std::int64_t o, std::int64_t n, std::int64_t stride, std::int64_t pad,
                                          std::int64_t K) {
  const std::int64_t a = o * stride - pad;
  const std::int64_t hi = a + K < n ? a + K : n, lo = a > 0 ? a : 0;
  return hi > lo ? hi - lo : 0;
}

/// The outputs o along one axis whose window (start o*stride - pad, K wide) contains pixel t:
/// o in [first, last], possibly empty.
__device__ inline void covering(std::int64_t t, std::int64_t stride, std::int64_t pad, std::int64_t K, std::int64_t outs,
                                std::int64_t& first, std::int64_t& last) {
  // o*stride - pad <= t  and  t < o*stride - pad + K
  const std::int64_t num = t + pad - K + 1;  // o*stride >= num
  first = num <= 0 ? 0 : (num + stride - 1) / stride;
  last = (t + pad) / stride;  // t + pad >= 0 always
  if (last > outs - 1) last = outs - 1;
}

template <class T>
__global__ void maxpool_forward(Conv2DGeometry g, std::int64_t planes, const T* __restrict__ x, T* __restrict__ y,
                                T* __restrict__ argmax) {
  const std::int64_t P = g.OH * g.OW, HW = g.H * g.W;
  HEPNN_GRID_STRIDE(e, planes * P) {
    const std::int64_t plane = e / P, pix = e % P, oh = pix / g.OW, ow = pix % g.OW;
    const T* xp = x + plane * HW;
    T best = -INFINITY;
    std::int64_t at = -1;
    for (std::int64_t i = 0; i < g.KH; ++i) {
      const std::int64_t ih = oh * g.SH - g.PT + i;
      if (ih < 0 || ih >= g.H) continue;
      for (std::int64_t j = 0; j < g.KW; ++j) {
        const std::int64_t iw = ow * g.SW - g.PL + j;
        if (iw < 0 || iw >= g.W) continue;
        const T v = xp[ih * g.W + iw];
        if (at < 0 || v > best) {
          best = v;
          at = ih * g.W + iw;
        }
      }
    }
    y[e] = best;
    if (argmax) argmax[e] = T(at);
  }
}

template <class T>
__global__ void maxpool_backward(Conv2DGeometry g, std::int64_t planes, const T* __restrict__ dy,
                                 const T* __restrict__ argmax, T* __restrict__ dx) {
  const std::int64_t P = g.OH * g.OW, HW = g.H * g.W;
  HEPNN_GRID_STRIDE(e, planes * HW) {
    const std::int64_t plane = e / HW, pix = e % HW, ih = pix / g.W, iw = pix % g.W;
    std::int64_t oh0, oh1, ow0, ow1;
    covering(ih, g.SH, g.PT, g.KH, g.OH, oh0, oh1);
    covering(iw, g.SW, g.PL, g.KW, g.OW, ow0, ow1);
    T acc = T(0);
    for (std::int64_t oh = oh0; oh <= oh1; ++oh)
      for (std::int64_t ow = ow0; ow <= ow1; ++ow) {
        const std::int64_t q = plane * P + oh * g.OW + ow;
        if (std::int64_t(argmax[q]) == pix) acc += dy[q];
      }
    dx[e] = acc;
  }
}

template <class T>
__global__ void avgpool_forward(Conv2DGeometry g, std::int64_t planes, const T* __restrict__ x, T* __restrict__ y) {
  const std::int64_t P = g.OH * g.OW, HW = g.H * g.W;
  HEPNN_GRID_STRIDE(e, planes * P) {
    const std::int64_t plane = e / P, pix = e % P, oh = pix / g.OW, ow = pix % g.OW;
    const T* xp = x + plane * HW;
    T acc = T(0);
    for (std::int64_t i = 0; i < g.KH; ++i) {
      const std::int64_t ih = oh * g.SH - g.PT + i;
      if (ih < 0 || ih >= g.H) continue;
      for (std::int64_t j = 0; j < g.KW; ++j) {
        const std::int64_t iw = ow * g.SW - g.PL + j;
        if (iw >= 0 && iw < g.W) acc += xp[ih * g.W + iw];
      }
    }
    const std::int64_t n = real_count(oh, g.H, g.SH, g.PT, g.KH) * real_count(ow, g.W, g.SW, g.PL, g.KW);
    y[e] = n > 0 ? acc / T(n) : T(0);
  }
}

template <class T>
__global__ void avgpool_backward(Conv2DGeometry g, std::int64_t planes, const T* __restrict__ dy, T* __restrict__ dx) {
  const std::int64_t P = g.OH * g.OW, HW = g.H * g.W;
  HEPNN_GRID_STRIDE(e, planes * HW) {
    const std::int64_t plane = e / HW, pix = e % HW, ih = pix / g.W, iw = pix % g.W;
    std::int64_t oh0, oh1, ow0, ow1;
    covering(ih, g.SH, g.PT, g.KH, g.OH, oh0, oh1);
    covering(iw, g.SW, g.PL, g.KW, g.OW, ow0, ow1);
    T acc = T(0);
    for (std::int64_t oh = oh0; oh <= oh1; ++oh) {
      const std::int64_t nh = real_count(oh, g.H, g.SH, g.PT, g.KH);
      for (std::int64_t ow = ow0; ow <= ow1; ++ow)
        acc += dy[plane * P + oh * g.OW + ow] / T(nh * real_count(ow, g.W, g.SW, g.PL, g.KW));
    }
    dx[e] = acc;
  }
}

}  // namespace kernels

template <class T>
void maxpool2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, T* y, T* argmax) {
  const std::int64_t n = B * g.C * g.pixels();
  if (n == 0) return;
  kernels::maxpool_forward<T><<<detail::blocks_for(n), detail::threads_per_block, 0, detail::stream()>>>(g, B * g.C, x, y,
                                                                                                         argmax);
  HEPNN_CUDA_CHECK_LAUNCH("maxpool_forward");
}

template <class T>
void maxpool2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* dy, const T* argmax, T* dx) {
  const std::int64_t n = B * g.C * g.H * g.W;
  if (n == 0) return;
  kernels::maxpool_backward<T><<<detail::blocks_for(n), detail::threads_per_block, 0, detail::stream()>>>(
      g, B * g.C, dy, argmax, dx);
  HEPNN_CUDA_CHECK_LAUNCH("maxpool_backward");
}

template <class T>
void avgpool2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, T* y) {
  const std::int64_t n = B * g.C * g.pixels();
  if (n == 0) return;
  kernels::avgpool_forward<T><<<detail::blocks_for(n), detail::threads_per_block, 0, detail::stream()>>>(g, B * g.C, x, y);
  HEPNN_CUDA_CHECK_LAUNCH("avgpool_forward");
}

template <class T>
void avgpool2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* dy, T* dx) {
  const std::int64_t n = B * g.C * g.H * g.W;
  if (n == 0) return;
  kernels::avgpool_backward<T><<<detail::blocks_for(n), detail::threads_per_block, 0, detail::stream()>>>(g, B * g.C, dy,
                                                                                                          dx);
  HEPNN_CUDA_CHECK_LAUNCH("avgpool_backward");
}

}  // namespace hepnn::backend::cuda
