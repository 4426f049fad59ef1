/// @file backend/cpu/pooling.hpp
/// @brief Max and average pooling on the CPU (NCHW), one (sample, channel) plane per task.
///
/// Padding positions are skipped: a max ignores them (as padding with -inf would) and an average
/// divides by the number of real pixels in the window (Keras' convention for padding "same").
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cstdint>
#include <limits>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/ops/conv_geometry.hpp"

namespace hepnn::backend::cpu::inline HEPNN_ABI {

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
/// The outputs [o0, o1) along one axis whose window offset k (0 <= k < K) lands inside [0, n):
/// o * stride - pad + k in [0, n).
struct Range {
  std::int64_t o0, o1;
};
inline Range valid_outputs(std::int64_t k, std::int64_t n, std::int64_t stride, std::int64_t pad, std::int64_t outs) {
  const std::int64_t off = k - pad;  // input index = o * stride + off
  const std::int64_t o0 = off >= 0 ? 0 : (-off + stride - 1) / stride;
  const std::int64_t o1 = n - off <= 0 ? 0 : (n - off - 1) / stride + 1;
  return {std::min(o0, outs), std::max(std::min(o1, outs), std::min(o0, outs))};
}
/// Number of real pixels in the window of output o along one axis.
inline std::int64_t real_count(std::int64_t o, std::int64_t n, std::int64_t stride, std::int64_t pad, std::int64_t K) {
  const std::int64_t a = o * stride - pad;
  return std::max<std::int64_t>(0, std::min(a + K, n) - std::max<std::int64_t>(a, 0));
}
}  // namespace pool_detail

// x is (B, C, H, W), y is (B, C, OH, OW); argmax (B, C, OH, OW) or null receives the index
// ih * W + iw of each maximum within its plane (the first one on ties; -1 for an empty window)
template <class T>
void maxpool2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, T* y, T* argmax) {
  const std::int64_t HW = g.H * g.W, P = g.pixels();
  pool_detail::for_planes(g, B, double(P * g.KH * g.KW), [&](std::int64_t plane) {
    const T* xp = x + plane * HW;
    T* yp = y + plane * P;
    T* ap = argmax ? argmax + plane * P : nullptr;
    std::fill(yp, yp + P, -std::numeric_limits<T>::infinity());
    if (ap) std::fill(ap, ap + P, T(-1));
    // Window offsets (i, j) in row-major order, each swept over the outputs it reaches: for every
    // output the pixels are visited in row-major order, so strict > keeps the first maximum.
    for (std::int64_t i = 0; i < g.KH; ++i) {
      const pool_detail::Range rh = pool_detail::valid_outputs(i, g.H, g.SH, g.PT, g.OH);
      for (std::int64_t oh = rh.o0; oh < rh.o1; ++oh) {
        const std::int64_t ih = oh * g.SH - g.PT + i;
        const T* src = xp + ih * g.W;
        T* yr = yp + oh * g.OW;
        T* ar = ap ? ap + oh * g.OW : nullptr;
        for (std::int64_t j = 0; j < g.KW; ++j) {
          const pool_detail::Range rw = pool_detail::valid_outputs(j, g.W, g.SW, g.PL, g.OW);
          const std::int64_t off = j - g.PL;
          if (ar) {
            for (std::int64_t ow = rw.o0; ow < rw.o1; ++ow) {
              const T v = src[ow * g.SW + off];
              if (v > yr[ow] || ar[ow] < T(0)) {
                yr[ow] = v;
                ar[ow] = T(ih * g.W + ow * g.SW + off);
              }
            }
          } else {
            for (std::int64_t ow = rw.o0; ow < rw.o1; ++ow) yr[ow] = std::max(yr[ow], src[ow * g.SW + off]);
          }
        }
      }
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
    T* yp = y + plane * P;
    std::fill(yp, yp + P, T(0));
    for (std::int64_t i = 0; i < g.KH; ++i) {
      const pool_detail::Range rh = pool_detail::valid_outputs(i, g.H, g.SH, g.PT, g.OH);
      for (std::int64_t oh = rh.o0; oh < rh.o1; ++oh) {
        const T* src = xp + (oh * g.SH - g.PT + i) * g.W;
        T* yr = yp + oh * g.OW;
        for (std::int64_t j = 0; j < g.KW; ++j) {
          const pool_detail::Range rw = pool_detail::valid_outputs(j, g.W, g.SW, g.PL, g.OW);
          const std::int64_t off = j - g.PL;
          for (std::int64_t ow = rw.o0; ow < rw.o1; ++ow) yr[ow] += src[ow * g.SW + off];
        }
      }
    }
    for (std::int64_t oh = 0; oh < g.OH; ++oh) {
      const std::int64_t nh = pool_detail::real_count(oh, g.H, g.SH, g.PT, g.KH);
      for (std::int64_t ow = 0; ow < g.OW; ++ow) {
        const std::int64_t n = nh * pool_detail::real_count(ow, g.W, g.SW, g.PL, g.KW);
        yp[oh * g.OW + ow] = n > 0 ? yp[oh * g.OW + ow] / T(n) : T(0);
      }
    }
  });
}

// dy is (B, C, OH, OW), dx is (B, C, H, W): each window's pixels get dy / count (overwrites dx)
template <class T>
void avgpool2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* dy, T* dx) {
  const std::int64_t HW = g.H * g.W, P = g.pixels();
  pool_detail::for_planes(g, B, double(HW + P * g.KH * g.KW), [&](std::int64_t plane) {
    T* dxp = dx + plane * HW;
    const T* dyp = dy + plane * P;
    std::fill(dxp, dxp + HW, T(0));
    for (std::int64_t oh = 0; oh < g.OH; ++oh) {
      const std::int64_t nh = pool_detail::real_count(oh, g.H, g.SH, g.PT, g.KH);
      for (std::int64_t i = 0; i < g.KH; ++i) {
        const std::int64_t ih = oh * g.SH - g.PT + i;
        if (ih < 0 || ih >= g.H) continue;
        T* dst = dxp + ih * g.W;
        for (std::int64_t j = 0; j < g.KW; ++j) {
          const pool_detail::Range rw = pool_detail::valid_outputs(j, g.W, g.SW, g.PL, g.OW);
          const std::int64_t off = j - g.PL;
          for (std::int64_t ow = rw.o0; ow < rw.o1; ++ow)
            dst[ow * g.SW + off] += dyp[oh * g.OW + ow] / T(nh * pool_detail::real_count(ow, g.W, g.SW, g.PL, g.KW));
        }
      }
    }
  });
}

}  // namespace hepnn::backend::cpu
