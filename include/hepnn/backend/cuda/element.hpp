/// @file backend/cuda/element.hpp
/// @brief The per-element bodies of the CUDA kernels whose index arithmetic is easy to get
/// wrong (convolution layouts, pooling windows, dropout blocks, optimizer updates), as plain
/// host-and-device functions. The kernels in the .cuh files are grid-stride loops around them;
/// tests/ops/test_cuda_elements.cpp runs them on the host, element by element, against the CPU
/// backend, so their arithmetic is checked on machines without a GPU too.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <cstdint>

#include "hepnn/core/device.hpp"
#include "hepnn/core/philox.hpp"
#include "hepnn/ops/activation_kind.hpp"
#include "hepnn/ops/conv_geometry.hpp"
#include "hepnn/ops/loss_row.hpp"

namespace hepnn::backend::cuda::element::inline HEPNN_ABI {

/// A row-major product C (M, N) = op(A) op(B) as the column-major BLAS call cuBLAS makes:
/// C^T = op(B)^T op(A)^T on the same buffers, so the first operand is B and the second A.
struct ColumnMajorGemm {
  bool trans_first, trans_second;  // op of B, op of A
  std::int64_t m, n, k;            // C^T is (m, n) = (N, M); k = K
  std::int64_t ld_first, ld_second, ldc;
};
HEPNN_HOST_DEVICE inline ColumnMajorGemm column_major_gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N,
                                                           std::int64_t K) {
  // B row-major (K, N) is column-major (N, K) with leading dimension N; transposed, (N, K) row-major has K.
  // A row-major (M, K) is column-major (K, M) with leading dimension K; transposed, (K, M) row-major has M.
  return {trans_b, trans_a, N, M, K, trans_b ? K : N, trans_a ? M : K, N};
}

/// Element e of the im2col matrix (C*KH*KW, S*OH*OW): the input pixel it copies, or 0.
template <class T>
HEPNN_HOST_DEVICE inline T im2col_at(const Conv2DGeometry& g, std::int64_t S, const T* x, std::int64_t e) {
  const std::int64_t P = g.OH * g.OW, ld = S * P;
  const std::int64_t r = e / ld, q = e % ld;
  const std::int64_t s = q / P, pix = q % P, oh = pix / g.OW, ow = pix % g.OW;
  const std::int64_t c = r / (g.KH * g.KW), ij = r % (g.KH * g.KW), i = ij / g.KW, j = ij % g.KW;
  const std::int64_t ih = oh * g.SH - g.PT + i * g.DH, iw = ow * g.SW - g.PL + j * g.DW;
  return (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) ? x[((s * g.C + c) * g.H + ih) * g.W + iw] : T(0);
}

/// Element e of dx (S, C, H, W) for col2im: the sum of the im2col entries taken from that pixel.
template <class T>
HEPNN_HOST_DEVICE inline T col2im_at(const Conv2DGeometry& g, std::int64_t S, const T* col, std::int64_t e) {
  const std::int64_t P = g.OH * g.OW, ld = S * P;
  const std::int64_t iw = e % g.W, ih = (e / g.W) % g.H, c = (e / (g.W * g.H)) % g.C, s = e / (g.W * g.H * g.C);
  T acc = T(0);
  for (std::int64_t i = 0; i < g.KH; ++i) {
    const std::int64_t th = ih + g.PT - i * g.DH;  // = oh * SH
    if (th < 0 || th % g.SH != 0) continue;
    const std::int64_t oh = th / g.SH;
    if (oh >= g.OH) continue;
    for (std::int64_t j = 0; j < g.KW; ++j) {
      const std::int64_t tw = iw + g.PL - j * g.DW;
      if (tw < 0 || tw % g.SW != 0) continue;
      const std::int64_t ow = tw / g.SW;
      if (ow >= g.OW) continue;
      acc += col[((c * g.KH + i) * g.KW + j) * ld + s * P + oh * g.OW + ow];
    }
  }
  return acc;
}

/// Element e of y (S, F, P) from a product laid out (F, S*P), plus the bias of its filter.
template <class T>
HEPNN_HOST_DEVICE inline T fsp_to_sfp_at(std::int64_t F, std::int64_t S, std::int64_t P, const T* tmp, const T* b,
                                         std::int64_t e) {
  const std::int64_t q = e % P, f = (e / P) % F, s = e / (P * F);
  return tmp[f * S * P + s * P + q] + (b ? b[f] : T(0));
}

/// Element e of the (F, S*P) layout, taken from dy (S, F, P).
template <class T>
HEPNN_HOST_DEVICE inline T sfp_to_fsp_at(std::int64_t F, std::int64_t S, std::int64_t P, const T* dy, std::int64_t e) {
  const std::int64_t q = e % (S * P), f = e / (S * P), s = q / P, pix = q % P;
  return dy[(s * F + f) * P + pix];
}

/// Real pixels in the window of output o along one axis.
HEPNN_HOST_DEVICE inline std::int64_t real_count(std::int64_t o, std::int64_t n, std::int64_t stride, std::int64_t pad,
                                                 std::int64_t K) {
  const std::int64_t a = o * stride - pad;
  const std::int64_t hi = a + K < n ? a + K : n, lo = a > 0 ? a : 0;
  return hi > lo ? hi - lo : 0;
}

/// The outputs o in [first, last] (possibly empty) whose window along one axis (start
/// o*stride - pad, K wide) contains pixel t.
HEPNN_HOST_DEVICE inline void covering(std::int64_t t, std::int64_t stride, std::int64_t pad, std::int64_t K,
                                       std::int64_t outs, std::int64_t& first, std::int64_t& last) {
  const std::int64_t num = t + pad - K + 1;  // o*stride >= num
  first = num <= 0 ? 0 : (num + stride - 1) / stride;
  last = (t + pad) / stride;
  if (last > outs - 1) last = outs - 1;
}

/// Output e of max pooling over planes of (H, W): the first maximum of its window's real pixels
/// (-inf and index -1 for a window without any).
template <class T>
HEPNN_HOST_DEVICE inline T maxpool_at(const Conv2DGeometry& g, const T* x, std::int64_t e, std::int64_t& at) {
  const std::int64_t P = g.OH * g.OW;
  const std::int64_t plane = e / P, pix = e % P, oh = pix / g.OW, ow = pix % g.OW;
  const T* xp = x + plane * g.H * g.W;
  T best = -INFINITY;
  at = -1;
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
  return best;
}

/// The outputs whose pooling windows contain input pixel e of planes of (H, W):
/// rows [oh0, oh1] x columns [ow0, ow1] (possibly empty) of plane `plane`; pix is e's index in it.
struct PixelWindows {
  std::int64_t plane, pix, oh0, oh1, ow0, ow1;
};
HEPNN_HOST_DEVICE inline PixelWindows windows_of_pixel(const Conv2DGeometry& g, std::int64_t e) {
  const std::int64_t HW = g.H * g.W;
  PixelWindows w{e / HW, e % HW, 0, 0, 0, 0};
  covering(w.pix / g.W, g.SH, g.PT, g.KH, g.OH, w.oh0, w.oh1);
  covering(w.pix % g.W, g.SW, g.PL, g.KW, g.OW, w.ow0, w.ow1);
  return w;
}

/// Input pixel e's gradient in max pooling: the dy of every output whose maximum it was.
template <class T>
HEPNN_HOST_DEVICE inline T maxpool_backward_at(const Conv2DGeometry& g, const T* dy, const T* argmax, std::int64_t e) {
  const PixelWindows w = windows_of_pixel(g, e);
  T acc = T(0);
  for (std::int64_t oh = w.oh0; oh <= w.oh1; ++oh)
    for (std::int64_t ow = w.ow0; ow <= w.ow1; ++ow) {
      const std::int64_t q = w.plane * g.OH * g.OW + oh * g.OW + ow;
      if (std::int64_t(argmax[q]) == w.pix) acc += dy[q];
    }
  return acc;
}

/// Output e of average pooling: the mean of its window's real pixels.
template <class T>
HEPNN_HOST_DEVICE inline T avgpool_at(const Conv2DGeometry& g, const T* x, std::int64_t e) {
  const std::int64_t P = g.OH * g.OW;
  const std::int64_t plane = e / P, pix = e % P, oh = pix / g.OW, ow = pix % g.OW;
  const T* xp = x + plane * g.H * g.W;
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
  return n > 0 ? acc / T(n) : T(0);
}

/// Input pixel e's gradient in average pooling: dy / count of every window that contains it.
template <class T>
HEPNN_HOST_DEVICE inline T avgpool_backward_at(const Conv2DGeometry& g, const T* dy, std::int64_t e) {
  const PixelWindows w = windows_of_pixel(g, e);
  T acc = T(0);
  for (std::int64_t oh = w.oh0; oh <= w.oh1; ++oh) {
    const std::int64_t nh = real_count(oh, g.H, g.SH, g.PT, g.KH);
    for (std::int64_t ow = w.ow0; ow <= w.ow1; ++ow)
      acc += dy[w.plane * g.OH * g.OW + oh * g.OW + ow] / T(nh * real_count(ow, g.W, g.SW, g.PL, g.KW));
  }
  return acc;
}

/// Dropout with Philox block first / 4 + k: the elements i of x whose numbers first + i are
/// 4 (first / 4 + k) .. + 3 (those with 0 <= i < n), the CPU's numbers. `first`: the number of
/// element 0 (a data-parallel rank's part of the whole batch starts there; 0 otherwise).
template <class T>
HEPNN_HOST_DEVICE inline void dropout_block(std::int64_t n, std::uint32_t threshold, T scale, std::uint64_t seed,
                                            std::uint64_t stream, const T* x, T* y, std::int64_t k,
                                            std::uint64_t first = 0) {
  const std::uint64_t blk = first / 4 + std::uint64_t(k);
  const PhiloxBlock u = philox4x32_10(
      PhiloxBlock{{static_cast<std::uint32_t>(blk), static_cast<std::uint32_t>(blk >> 32),
                   static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)}},
      static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
  for (int j = 0; j < 4; ++j) {
    const std::uint64_t g = 4 * blk + std::uint64_t(j);
    if (g < first || g - first >= std::uint64_t(n)) continue;
    const std::int64_t i = std::int64_t(g - first);
    y[i] = (u.v[j] >> 8) >= threshold ? x[i] * scale : T(0);
  }
}

/// Optimizer updates of element i, the formulas of backend/cpu/optim.hpp.
template <class T>
HEPNN_HOST_DEVICE inline void sgd_at(T* p, const T* g, T* v, T lr, T momentum, bool nesterov, T weight_decay,
                                     std::int64_t i) {
  const T gi = g[i] + weight_decay * p[i];
  if (momentum == T(0)) {
    p[i] -= lr * gi;
  } else {
    const T vi = momentum * v[i] + gi;
    v[i] = vi;
    p[i] -= lr * (nesterov ? gi + momentum * vi : vi);
  }
}
/// Adam / AdamW with the step constants precomputed as the CPU does: step_size = lr / (1 -
/// beta1^t), inv_sqrt_bc2 = 1 / sqrt(1 - beta2^t), l2 = weight decay added to the gradient (Adam),
/// shrink = 1 - lr * weight decay (AdamW).
template <class T>
HEPNN_HOST_DEVICE inline void adam_at(T* p, const T* g, T* m, T* v, T beta1, T beta2, T eps, T step_size, T inv_sqrt_bc2,
                                      T l2, T shrink, std::int64_t i) {
  const T pi = p[i];
  const T gi = g[i] + l2 * pi;
  const T mi = beta1 * m[i] + (T(1) - beta1) * gi;
  const T vi = beta2 * v[i] + (T(1) - beta2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = pi * shrink - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
}
template <class T>
HEPNN_HOST_DEVICE inline void rmsprop_at(T* p, const T* g, T* s, T lr, T rho, T eps, T weight_decay, std::int64_t i) {
  const T gi = g[i] + weight_decay * p[i];
  const T si = rho * s[i] + (T(1) - rho) * gi * gi;
  s[i] = si;
  p[i] -= lr * gi / (std::sqrt(si) + eps);
}
template <class T>
HEPNN_HOST_DEVICE inline void adagrad_at(T* p, const T* g, T* a, T lr, T eps, T weight_decay, std::int64_t i) {
  const T gi = g[i] + weight_decay * p[i];
  const T ai = a[i] + gi * gi;
  a[i] = ai;
  p[i] -= lr * gi / (std::sqrt(ai) + eps);
}

/// Batch normalisation with given statistics, element o of (B, C, inner).
template <class T>
HEPNN_HOST_DEVICE inline T batchnorm_inference_at(std::int64_t C, std::int64_t inner, const T* x, const T* gamma,
                                                  const T* beta, const T* mean, const T* var, T eps, T* xhat,
                                                  std::int64_t o) {
  const std::int64_t c = (o / inner) % C;
  const double inv = 1.0 / std::sqrt(double(var[c]) + double(eps));
  const T h = T(double(x[o] - mean[c]) * inv);
  if (xhat) xhat[o] = h;
  return (gamma ? gamma[c] : T(1)) * h + (beta ? beta[c] : T(0));
}

}  // namespace hepnn::backend::cuda::element
