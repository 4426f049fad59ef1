/// @file backend/cpu/sequence.hpp
/// @brief Padded sequences on the CPU: masks (from a fill value or from lengths), zeroing the
/// padded elements, pooling over the real elements (sum, mean, max) and layer normalisation.
///
/// A batch of sequences is (B, L, F): B samples of L elements of F features; a mask is (B, L)
/// with 1 for a real element and 0 for padding (any nonzero value counts as real). Every loop
/// runs over whole samples or whole rows in a fixed order, so results do not depend on threads.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/ops/sequence_kind.hpp"

namespace hepnn::backend::cpu::inline HEPNN_ABI {

/// y (n) = 0: the gradient of an input a layer does not differentiate (a mask, its source).
template <class T>
void zero_fill(std::int64_t n, T* y) {
  std::fill(y, y + n, T(0));
}

/// mask (rows) = 1 where some feature of x (rows, F) differs from `value`, else 0.
template <class T>
void mask_from_value(std::int64_t rows, std::int64_t F, T value, const T* x, T* mask) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * F;
    bool real = false;
    for (std::int64_t f = 0; f < F && !real; ++f) real = xr[f] != value;
    mask[r] = real ? T(1) : T(0);
  }
}

/// mask (B, L): element l of sample b is real when l < lengths[b]. Returns the first sample whose
/// length is not a whole number in [0, L] (NaN included), or -1; such a sample's mask is left
/// all zero.
template <class T>
std::int64_t mask_from_lengths(std::int64_t B, std::int64_t L, const T* lengths, T* mask) {
  std::int64_t bad = -1;
  for (std::int64_t b = 0; b < B; ++b) {
    const T n = lengths[b];
    const bool ok = n >= T(0) && n <= T(L) && n == std::floor(n);  // false for NaN
    if (!ok && bad < 0) bad = b;
    const std::int64_t k = ok ? std::int64_t(n) : 0;
    for (std::int64_t l = 0; l < L; ++l) mask[b * L + l] = l < k ? T(1) : T(0);
  }
  return bad;
}

/// y (rows, F) = x where mask[r] != 0, else 0 (a select, so NaN or inf padding becomes 0 too).
/// y may alias x.
template <class T>
void apply_mask(std::int64_t rows, std::int64_t F, const T* x, const T* mask, T* y) {
  parallel_range(rows, std::max<std::int64_t>(1, (1 << 14) / std::max<std::int64_t>(F, 1)), double(F),
                 [&](std::int64_t r0, std::int64_t r1) {
                   for (std::int64_t r = r0; r < r1; ++r) {
                     const bool real = mask[r] != T(0);
                     for (std::int64_t f = 0; f < F; ++f) y[r * F + f] = real ? x[r * F + f] : T(0);
                   }
                 });
}

/// y (B, F) = sum, mean or max over the real elements of x (B, L, F); mask (B, L) or null (all
/// real). A sample without real elements gives 0 for every kind.
template <class T>
void sequence_pool_forward(SequencePool kind, std::int64_t B, std::int64_t L, std::int64_t F, const T* x,
                           const T* mask, T* y) {
  parallel_range(B, std::max<std::int64_t>(1, (1 << 14) / std::max<std::int64_t>(L * F, 1)), double(L * F),
                 [&](std::int64_t b0, std::int64_t b1) {
                   for (std::int64_t b = b0; b < b1; ++b) {
                     T* yb = y + b * F;
                     const T* xb = x + b * L * F;
                     std::int64_t count = 0;
                     for (std::int64_t f = 0; f < F; ++f) yb[f] = T(0);
                     for (std::int64_t l = 0; l < L; ++l) {
                       if (mask && mask[b * L + l] == T(0)) continue;
                       const T* xl = xb + l * F;
                       if (kind == SequencePool::max && count == 0) {
                         for (std::int64_t f = 0; f < F; ++f) yb[f] = xl[f];
                       } else if (kind == SequencePool::max) {
                         for (std::int64_t f = 0; f < F; ++f) yb[f] = std::max(yb[f], xl[f]);
                       } else {
                         for (std::int64_t f = 0; f < F; ++f) yb[f] += xl[f];
                       }
                       ++count;
                     }
                     if (kind == SequencePool::mean && count > 0)
                       for (std::int64_t f = 0; f < F; ++f) yb[f] /= T(count);
                   }
                 });
}

/// dx (B, L, F) from dy (B, F): sum: dy on every real element; mean: dy / (real elements); max:
/// dy on the first real element that holds the maximum (x == y), 0 elsewhere. Padding gets 0.
template <class T>
void sequence_pool_backward(SequencePool kind, std::int64_t B, std::int64_t L, std::int64_t F, const T* x,
                            const T* mask, const T* y, const T* dy, T* dx) {
  parallel_range(B, std::max<std::int64_t>(1, (1 << 14) / std::max<std::int64_t>(L * F, 1)), double(L * F),
                 [&](std::int64_t b0, std::int64_t b1) {
                   for (std::int64_t b = b0; b < b1; ++b) {
                     const T* dyb = dy + b * F;
                     T* dxb = dx + b * L * F;
                     std::int64_t count = 0;
                     for (std::int64_t l = 0; l < L; ++l) count += (!mask || mask[b * L + l] != T(0)) ? 1 : 0;
                     const T scale = kind == SequencePool::mean && count > 0 ? T(1) / T(count) : T(1);
                     for (std::int64_t i = 0; i < L * F; ++i) dxb[i] = T(0);
                     if (kind != SequencePool::max) {
                       for (std::int64_t l = 0; l < L; ++l) {
                         if (mask && mask[b * L + l] == T(0)) continue;
                         for (std::int64_t f = 0; f < F; ++f) dxb[l * F + f] = dyb[f] * scale;
                       }
                       continue;
                     }
                     for (std::int64_t f = 0; f < F; ++f) {
                       for (std::int64_t l = 0; l < L; ++l) {
                         if (mask && mask[b * L + l] == T(0)) continue;
                         if (x[(b * L + l) * F + f] == y[b * F + f]) {
                           dxb[l * F + f] = dyb[f];
                           break;
                         }
                       }
                     }
                   }
                 });
}

/// y (rows, F) = (x - mean) / sqrt(var + eps) * gamma + beta over the F features of each row
/// (biased variance, as Keras and PyTorch); gamma or beta null: 1 or 0. stats (rows, 2), when
/// given, receives each row's mean and 1 / sqrt(var + eps) for the backward pass.
template <class T>
void layer_norm_forward(std::int64_t rows, std::int64_t F, T eps, const T* x, const T* gamma, const T* beta, T* y,
                        T* stats) {
  parallel_range(rows, std::max<std::int64_t>(1, (1 << 13) / std::max<std::int64_t>(F, 1)), double(4 * F),
                 [&](std::int64_t r0, std::int64_t r1) {
                   for (std::int64_t r = r0; r < r1; ++r) {
                     const T* xr = x + r * F;
                     T* yr = y + r * F;
                     T mean = T(0), var = T(0);
                     for (std::int64_t f = 0; f < F; ++f) mean += xr[f];
                     mean /= T(F);
                     for (std::int64_t f = 0; f < F; ++f) var += (xr[f] - mean) * (xr[f] - mean);
                     var /= T(F);
                     const T rstd = T(1) / std::sqrt(var + eps);
                     for (std::int64_t f = 0; f < F; ++f) {
                       T v = (xr[f] - mean) * rstd;
                       if (gamma) v *= gamma[f];
                       if (beta) v += beta[f];
                       yr[f] = v;
                     }
                     if (stats) {
                       stats[2 * r] = mean;
                       stats[2 * r + 1] = rstd;
                     }
                   }
                 });
}

/// Given dy (rows, F) and the stats of layer_norm_forward: dx = rstd (g - mean(g) - xhat mean(g xhat))
/// with g = dy gamma and xhat = (x - mean) rstd; dgamma = sum over rows of dy xhat, dbeta = sum
/// of dy (overwritten). Null outputs are skipped.
template <class T>
void layer_norm_backward(std::int64_t rows, std::int64_t F, const T* x, const T* gamma, const T* stats, const T* dy,
                         T* dx, T* dgamma, T* dbeta) {
  if (dx)
    parallel_range(rows, std::max<std::int64_t>(1, (1 << 13) / std::max<std::int64_t>(F, 1)), double(6 * F),
                   [&](std::int64_t r0, std::int64_t r1) {
                     for (std::int64_t r = r0; r < r1; ++r) {
                       const T mean = stats[2 * r], rstd = stats[2 * r + 1];
                       const T* xr = x + r * F;
                       const T* dyr = dy + r * F;
                       T sum_g = T(0), sum_gx = T(0);
                       for (std::int64_t f = 0; f < F; ++f) {
                         const T g = gamma ? dyr[f] * gamma[f] : dyr[f];
                         sum_g += g;
                         sum_gx += g * (xr[f] - mean) * rstd;
                       }
                       const T mg = sum_g / T(F), mgx = sum_gx / T(F);
                       for (std::int64_t f = 0; f < F; ++f) {
                         const T g = gamma ? dyr[f] * gamma[f] : dyr[f];
                         dx[r * F + f] = rstd * (g - mg - (xr[f] - mean) * rstd * mgx);
                       }
                     }
                   });
  if (!dgamma && !dbeta) return;
  constexpr std::int64_t cols_per_chunk = 64;
  parallel_range(F, cols_per_chunk, double(2 * rows), [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t f = c0; f < c1; ++f) {
      if (dgamma) dgamma[f] = T(0);
      if (dbeta) dbeta[f] = T(0);
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      const T mean = stats[2 * r], rstd = stats[2 * r + 1];
      for (std::int64_t f = c0; f < c1; ++f) {
        const T d = dy[r * F + f];
        if (dgamma) dgamma[f] += d * (x[r * F + f] - mean) * rstd;
        if (dbeta) dbeta[f] += d;
      }
    }
  });
}

}  // namespace hepnn::backend::cpu
