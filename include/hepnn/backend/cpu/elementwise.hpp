/// @file backend/cpu/elementwise.hpp
/// @brief Bias, activations, softmax, dropout and reductions on the CPU: plain loops the
/// compiler vectorises, cut into fixed chunks for threads.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <bit>
#include <type_traits>
#include <cmath>
#include <cstdint>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/backend/cpu/vmath.hpp"
#include "hepnn/core/philox.hpp"
#include "hepnn/ops/activation_kind.hpp"
#include "hepnn/ops/permute_geometry.hpp"

namespace hepnn::backend::cpu::inline HEPNN_ABI {

inline constexpr std::int64_t elementwise_grain = 1 << 14;

// y is (rows, cols), b is (cols): y[r, :] += b
template <class T>
void bias_add_forward(std::int64_t rows, std::int64_t cols, const T* b, T* y) {
  parallel_range(rows, std::max<std::int64_t>(1, elementwise_grain / std::max<std::int64_t>(cols, 1)), double(cols),
                 [&](std::int64_t r0, std::int64_t r1) {
                   for (std::int64_t r = r0; r < r1; ++r) {
                     T* row = y + r * cols;
                     for (std::int64_t c = 0; c < cols; ++c) row[c] += b[c];
                   }
                 });
}

// dy is (rows, cols), db is (cols): db = sum over rows of dy (overwrites db)
template <class T>
void bias_add_backward(std::int64_t rows, std::int64_t cols, const T* dy, T* db) {
  constexpr std::int64_t cols_per_chunk = 256;
  parallel_range(cols, cols_per_chunk, double(rows), [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) db[c] = T(0);
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* row = dy + r * cols;
      for (std::int64_t c = c0; c < c1; ++c) db[c] += row[c];
    }
  });
}

// y = act(x), n elements; x and y may be the same buffer
template <class T>
void activation_forward(Activation a, T alpha, std::int64_t n, const T* x, T* y) {
  parallel_range(n, elementwise_grain, 10.0, [&](std::int64_t i0, std::int64_t i1) {
    activation_block(a, alpha, i1 - i0, x + i0, y + i0);
  });
}

// dx = dy * act'(x) (using y = act(x) where cheaper); dx may alias dy
template <class T>
void activation_backward(Activation a, T alpha, std::int64_t n, const T* x, const T* y, const T* dy, T* dx) {
  parallel_range(n, elementwise_grain, 10.0, [&](std::int64_t i0, std::int64_t i1) {
    activation_backward_block(a, alpha, i1 - i0, x + i0, y + i0, dy + i0, dx + i0);
  });
}

// y[r, :] = b + x[r, :] fused with the activation: z = x + b stored in z (for backward), y = act(z)
template <class T>
void bias_activation_forward(Activation a, T alpha, std::int64_t rows, std::int64_t cols, const T* b, T* z, T* y) {
  parallel_range(rows, std::max<std::int64_t>(1, elementwise_grain / std::max<std::int64_t>(cols, 1)), 10.0 * double(cols),
                 [&](std::int64_t r0, std::int64_t r1) {
                   for (std::int64_t r = r0; r < r1; ++r) {
                     T* zr = z + r * cols;
                     for (std::int64_t c = 0; c < cols; ++c) zr[c] += b[c];
                   }
                   activation_block(a, alpha, (r1 - r0) * cols, z + r0 * cols, y + r0 * cols);
                 });
}

// softmax over the last axis: x, y are (rows, cols); y may alias x
template <class T>
void softmax_forward(std::int64_t rows, std::int64_t cols, const T* x, T* y, bool log) {
  parallel_range(rows, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(cols, 1)), 20.0 * double(cols),
                 [&](std::int64_t r0, std::int64_t r1) {
                   for (std::int64_t r = r0; r < r1; ++r) {
                     const T* xr = x + r * cols;
                     T* yr = y + r * cols;
                     T mx = xr[0];
                     for (std::int64_t c = 1; c < cols; ++c) mx = std::max(mx, xr[c]);
                     T sum = 0;
                     for (std::int64_t c = 0; c < cols; ++c) sum += std::exp(xr[c] - mx);
                     if (log) {
                       // (x - max) - log(sum), not x - (max + log(sum)): for large x the
                       // rounded max + log(sum) would lose log(sum)'s digits (float, x ~ 1e4)
                       const T ls = std::log(sum);
                       for (std::int64_t c = 0; c < cols; ++c) yr[c] = (xr[c] - mx) - ls;
                     } else {
                       const T inv = T(1) / sum;
                       for (std::int64_t c = 0; c < cols; ++c) yr[c] = std::exp(xr[c] - mx) * inv;
                     }
                   }
                 });
}

// softmax:     dx = y * (dy - sum(dy * y))
// log-softmax: dx = dy - exp(y) * sum(dy)
template <class T>
void softmax_backward(std::int64_t rows, std::int64_t cols, const T* y, const T* dy, T* dx, bool log) {
  parallel_range(rows, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(cols, 1)), 6.0 * double(cols),
                 [&](std::int64_t r0, std::int64_t r1) {
                   for (std::int64_t r = r0; r < r1; ++r) {
                     const T* yr = y + r * cols;
                     const T* dyr = dy + r * cols;
                     T* dxr = dx + r * cols;
                     T s = 0;
                     if (log) {
                       for (std::int64_t c = 0; c < cols; ++c) s += dyr[c];
                       for (std::int64_t c = 0; c < cols; ++c) dxr[c] = dyr[c] - std::exp(yr[c]) * s;
                     } else {
                       for (std::int64_t c = 0; c < cols; ++c) s += dyr[c] * yr[c];
                       for (std::int64_t c = 0; c < cols; ++c) dxr[c] = yr[c] * (dyr[c] - s);
                     }
                   }
                 });
}

// Inverted dropout: element i is kept when philox_uniform(seed, stream, first + i) >= rate, and
// scaled by 1 / (1 - rate). Backward draws the same numbers again, so no mask is stored. `first`
// (0 but for a data-parallel rank's part of the whole batch) is the number of element 0.
// y[k] = u[k] >> 8 >= threshold ? x[k] * scale : 0; y may alias x. A function of its own, with
// every operand a value or a pointer parameter, so that the compiler vectorises the loop.
template <class T>
void dropout_apply(std::int64_t m, const std::uint32_t* __restrict u, std::uint32_t threshold, T scale, const T* x,
                   T* y) {
  for (std::int64_t k = 0; k < m; ++k) {
    // a bit mask instead of a ?: on floats, which GCC does not vectorise (it may trap)
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    const U mask = U(0) - U((u[k] >> 8) >= threshold);
    y[k] = std::bit_cast<T>(std::bit_cast<U>(x[k] * scale) & mask);
  }
}

/// Inverted dropout of x[0..n) into y (may alias x), element i keyed by Philox number first + i.
template <class T>
void dropout_forward(std::int64_t n, T rate, std::uint64_t seed, std::uint64_t stream, const T* x, T* y,
                     std::uint64_t first = 0) {
  const T scale = T(1) / (T(1) - rate);
  // Element i is kept when philox_uniform(seed, stream, i) >= rate (as a float). That uniform is
  // u / 2^24 with u = philox_u32 >> 8, and scaling by 2^24 is exact in float, so the test is
  // u >= ceil(rate * 2^24): the same decision made on integers.
  const std::uint32_t threshold = static_cast<std::uint32_t>(std::ceil(double(static_cast<float>(rate)) * 16777216.0));
  parallel_range(n, elementwise_grain, 40.0, [&](std::int64_t i0, std::int64_t i1) {
    constexpr std::int64_t block = 1024;
    std::uint32_t u[block];
    for (std::int64_t b0 = i0; b0 < i1; b0 += block) {
      const std::int64_t m = std::min(block, i1 - b0);
      philox_fill_u32(seed, stream, first + static_cast<std::uint64_t>(b0), m, u);
      dropout_apply(m, u, threshold, scale, x + b0, y + b0);
    }
  });
}
/// The gradient of dropout_forward: the same mask drawn again and applied to dy.
template <class T>
void dropout_backward(std::int64_t n, T rate, std::uint64_t seed, std::uint64_t stream, const T* dy, T* dx,
                      std::uint64_t first = 0) {
  dropout_forward(n, rate, seed, stream, dy, dx, first);
}

/// z = mean + exp(log_var / 2) * eps, eps_i = philox_normal(seed, stream, first + i) (the GPU draws the same eps).
template <class T>
void gaussian_sample(std::int64_t n, std::uint64_t seed, std::uint64_t stream, const T* mean, const T* log_var, T* z,
                     std::uint64_t first = 0) {
  parallel_range(n, elementwise_grain, 60.0, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i)
      z[i] = mean[i] + std::exp(log_var[i] * T(0.5)) * T(philox_normal(seed, stream, first + std::uint64_t(i)));
  });
}

// Sum and sum of squares, accumulated in double in fixed chunks (thread-count independent).
template <class T>
double sum(std::int64_t n, const T* x, bool squares = false) {
  constexpr std::int64_t grain = 1 << 16;
  const std::int64_t chunks = (n + grain - 1) / grain;
  if (chunks <= 1) return sum_block(n, x, squares);
  double partial[64] = {};
  const std::int64_t per = (chunks + 63) / 64;  // at most 64 partial sums
  const std::int64_t groups = (chunks + per - 1) / per;
  parallel_chunks(groups, 2.0 * double(n), [&](std::int64_t g) {
    const std::int64_t i0 = g * per * grain, i1 = std::min(n, (g + 1) * per * grain);
    partial[g] = sum_block(i1 - i0, x + i0, squares);
  });
  double s = 0;
  for (std::int64_t g = 0; g < groups; ++g) s += partial[g];
  return s;
}

// x *= s
template <class T>
void scale(std::int64_t n, T s, T* x) {
  parallel_range(n, elementwise_grain, 1.0, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) x[i] *= s;
  });
}

// y = a x + b y (b == 0: y = a x, y not read)
template <class T>
void axpby(std::int64_t n, T a, const T* x, T b, T* y) {
  parallel_range(n, elementwise_grain, 1.0, [&](std::int64_t i0, std::int64_t i1) {
    if (b == T(0))
      for (std::int64_t i = i0; i < i1; ++i) y[i] = a * x[i];
    else
      for (std::int64_t i = i0; i < i1; ++i) y[i] = a * x[i] + b * y[i];
  });
}

// z = x * y + beta z, element by element (beta == 0: z not read)
template <class T>
void multiply(std::int64_t n, const T* x, const T* y, T beta, T* z) {
  parallel_range(n, elementwise_grain, 1.0, [&](std::int64_t i0, std::int64_t i1) {
    if (beta == T(0))
      for (std::int64_t i = i0; i < i1; ++i) z[i] = x[i] * y[i];
    else
      for (std::int64_t i = i0; i < i1; ++i) z[i] = x[i] * y[i] + beta * z[i];
  });
}

// rows x cols block copy between strided matrices (strides in elements)
template <class T>
void copy_2d(std::int64_t rows, std::int64_t cols, const T* src, std::int64_t src_stride, T* dst,
             std::int64_t dst_stride) {
  for (std::int64_t r = 0; r < rows; ++r) std::copy_n(src + r * src_stride, cols, dst + r * dst_stride);
}

/// y (batch, g.out...) = x (batch, in...) with its per-sample axes reordered (see PermuteGeometry).
template <class T>
void permute(const PermuteGeometry& g, std::int64_t batch, const T* x, T* y) {
  const int last = g.rank - 1;
  parallel_range(batch, std::max<std::int64_t>(1, elementwise_grain / std::max<std::int64_t>(g.size, 1)), double(g.size),
                 [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      const T* xs = x + b * g.size;
      T* ys = y + b * g.size;
      std::int64_t idx[PermuteGeometry::max_rank] = {0, 0, 0, 0, 0};
      std::int64_t off = 0;  // input offset of the output index idx
      for (std::int64_t o = 0; o < g.size; o += g.out[last]) {
        const std::int64_t s = g.stride[last];
        for (std::int64_t i = 0; i < g.out[last]; ++i) ys[o + i] = xs[off + i * s];
        for (int k = last - 1; k >= 0; --k) {  // odometer over the outer output axes
          off += g.stride[k];
          if (++idx[k] < g.out[k]) break;
          off -= g.stride[k] * g.out[k];
          idx[k] = 0;
        }
      }
    }
  });
}

// true when every element is finite
template <class T>
bool all_finite(std::int64_t n, const T* x) {
  bool ok = true;
  for (std::int64_t i = 0; i < n; ++i) ok &= std::isfinite(x[i]);
  return ok;
}

}  // namespace hepnn::backend::cpu
