/// @file backend/cpu/pooling.hpp
/// @brief Max and average pooling on the CPU (NCHW), one (sample, channel) plane per task.
///
/// Padding positions are skipped: a max ignores them (as padding with -inf would) and an average
/// divides by the number of real pixels in the window (Keras' convention for padding "same").
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/ops/conv_geometry.hpp"

namespace hepnn::backend::cpu {

namespace pool_detail {
/// Calls f(plane) for the B * C planes, a fixed number of planes per chunk.
template <class F>
void for_planes(const Conv2DGeometry& g, std::int64_t B, double flops_per_plane, F&& f) {
  const std::int64_t planes = B * g.C;
  const std::int64_t grain = std::max<std::int64_t>(1, (std::int64_t(1) << 14) / std::max<std::int64_t>(g.pixels(), 1));
  parallel_range(planes, grain, flops_per_plane, [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) f(p);
  });
}
/// The rows [i0, i1) and columns [j0, j1) of the window of output pixel (oh, ow) inside the image.
struct Window {
  std::int64_t i0, i1, j0, j1;
};
inline Window window(const Conv2DGeometry& g, std::int64_t oh, std::int64_t ow) {
  const std::int64_t h0 = oh * g.SH - g.PT, w0 = ow * g.SW - g.PL;
  return {std::max<std::int64_t>(h0, 0), std::min(h0 + g.KH, g.H), std::max<std::int64_t>(w0, 0),
          std::min(w0 + g.KW, g.W)};
}
}  // namespace pool_detail

// x is (B, C, H, W), y is (B, C, OH, OW); argmax (B, C, OH, OW) or null receives the index
// ih * W + iw of each maximum within its plane (the first one on ties; -1 for an empty window)
template <class T>
void maxpool2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, T* y, T* argmax) {
  const std::int64_t HW = g.H * g.W, P = g.pixels();
  pool_detail::for_planes(g, B, double(P * g.KH * g.KW), [&](std::int64_t plane) {
    const T* xp = x + plane * HW;
    for (std::int64_t oh = 0; oh < g.OH; ++oh)
      for (std::int64_t ow = 0; ow < g.OW; ++ow) {
        const pool_detail::Window w = pool_detail::window(g, oh, ow);
        T best = -std::numeric_limits<T>::infinity();
        std::int64_t at = -1;
        for (std::int64_t i = w.i0; i < w.i1; ++i)
          for (std::int64_t j = w.j0; j < w.j1; ++j)
            if (at < 0 || xp[i * g.W + j] > best) {
              best = xp[i * g.W + j];
              at = i * g.W + j;
            }
        const std::int64_t o = plane * P + oh * g.OW + ow;
        y[o] = at < 0 ? T(0) : best;
        if (argmax) argmax[o] = T(at);
      }
  });
}

// dy and argmax are (B, C, OH, OW), dx is (B, C, H, W): dx[argmax] += dy (overwrites dx)
template <class T>
void maxpool2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* dy, const T* argmax, T* dx) {
  const std::int64_t HW = g.H * g.W, P = g.pixels();
  pool_detail::for_planes(g, B, double(HW + P), [&](std::int64_t plane) {
    T* dxp = dx + plane * HW;
    std::fill(dxp, dxp + HW, T(0));
    for (std::int64_t q = 0; q < P; ++q) {
      const std::int64_t at = std::int64_t(argmax[plane * P + q]);
      if (at >= 0) dxp[at] += dy[plane * P + q];
    }
  });
}

// x is (B, C, H, W), y is (B, C, OH, OW): the mean of the real pixels of each window
template <class T>
void avgpool2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, T* y) {
  const std::int64_t HW = g.H * g.W, P = g.pixels();
  pool_detail::for_planes(g, B, double(P * g.KH * g.KW), [&](std::int64_t plane) {
    const T* xp = x + plane * HW;
    for (std::int64_t oh = 0; oh < g.OH; ++oh)
      for (std::int64_t ow = 0; ow < g.OW; ++ow) {
        const pool_detail::Window w = pool_detail::window(g, oh, ow);
        T s = T(0);
        for (std::int64_t i = w.i0; i < w.i1; ++i)
          for (std::int64_t j = w.j0; j < w.j1; ++j) s += xp[i * g.W + j];
        const std::int64_t n = (w.i1 - w.i0) * (w.j1 - w.j0);
        y[plane * P + oh * g.OW + ow] = n > 0 ? s / T(n) : T(0);
      }
  });
}

// dy is (B, C, OH, OW), dx is (B, C, H, W): each window's pixels get dy / count (overwrites dx)
template <class T>
void avgpool2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* dy, T* dx) {
  const std::int64_t HW = g.H * g.W, P = g.pixels();
  pool_detail::for_planes(g, B, double(HW + P * g.KH * g.KW), [&](std::int64_t plane) {
    T* dxp = dx + plane * HW;
    std::fill(dxp, dxp + HW, T(0));
    for (std::int64_t oh = 0; oh < g.OH; ++oh)
      for (std::int64_t ow = 0; ow < g.OW; ++ow) {
        const pool_detail::Window w = pool_detail::window(g, oh, ow);
        const std::int64_t n = (w.i1 - w.i0) * (w.j1 - w.j0);
        if (n == 0) continue;
        const T v = dy[plane * P + oh * g.OW + ow] / T(n);
        for (std::int64_t i = w.i0; i < w.i1; ++i)
          for (std::int64_t j = w.j0; j < w.j1; ++j) dxp[i * g.W + j] += v;
      }
  });
}

}  // namespace hepnn::backend::cpu
