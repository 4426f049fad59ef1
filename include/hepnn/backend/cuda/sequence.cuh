/// @file backend/cuda/sequence.cuh
/// @brief Padded sequences on the GPU with the conventions of backend/cpu/sequence.hpp: masks,
/// zeroing padding, pooling over real elements (sum, mean, first maximum), layer normalisation.
/// One thread per row or per output value, each summing in the CPU's order (no atomics), so
/// results are deterministic. nvcc only.
#pragma once
#include <cstdint>

#include "hepnn/backend/cuda/element.hpp"
#include "hepnn/backend/cuda/elementwise.cuh"
#include "hepnn/ops/sequence_kind.hpp"

namespace hepnn::backend::cuda {

namespace kernels {

template <class T>
__global__ void mask_from_value(std::int64_t rows, std::int64_t F, T value, const T* __restrict__ x,
                                T* __restrict__ mask) {
  HEPNN_GRID_STRIDE(r, rows) {
    bool real = false;
    for (std::int64_t f = 0; f < F && !real; ++f) real = x[r * F + f] != value;
    mask[r] = real ? T(1) : T(0);
  }
}

template <class T>
__global__ void mask_from_lengths(std::int64_t B, std::int64_t L, const T* __restrict__ lengths, T* __restrict__ mask) {
  HEPNN_GRID_STRIDE(i, B * L) {
    const std::int64_t b = i / L, l = i - b * L;
    T n = lengths[b];
    n = isnan(n) ? T(0) : n < T(0) ? T(0) : n > T(L) ? T(L) : floor(n);
    mask[i] = T(l) < n ? T(1) : T(0);
  }
}

template <class T>
__global__ void apply_mask(std::int64_t rows, std::int64_t F, const T* x, const T* __restrict__ mask, T* y) {
  HEPNN_GRID_STRIDE(i, rows * F) y[i] = mask[i / F] != T(0) ? x[i] : T(0);
}

template <class T>
__global__ void sequence_pool_forward(SequencePool kind, std::int64_t B, std::int64_t L, std::int64_t F,
                                      const T* __restrict__ x, const T* __restrict__ mask, T* __restrict__ y) {
  HEPNN_GRID_STRIDE(i, B * F) {
    const std::int64_t b = i / F, f = i - b * F;
    T acc = T(0);
    std::int64_t count = 0;
    for (std::int64_t l = 0; l < L; ++l) {
      if (mask && mask[b * L + l] == T(0)) continue;
      const T v = x[(b * L + l) * F + f];
      if (kind == SequencePool::max) acc = count == 0 ? v : (v > acc ? v : acc);
      else acc += v;
      ++count;
    }
    if (kind == SequencePool::mean && count > 0) acc /= T(count);
    y[i] = acc;
  }
}

template <class T>
__global__ void sequence_pool_backward(SequencePool kind, std::int64_t B, std::int64_t L, std::int64_t F,
                                       const T* __restrict__ x, const T* __restrict__ mask, const T* __restrict__ y,
                                       const T* __restrict__ dy, T* __restrict__ dx) {
  HEPNN_GRID_STRIDE(i, B * F) {
    const std::int64_t b = i / F, f = i - b * F;
    std::int64_t count = 0;
    for (std::int64_t l = 0; l < L; ++l) count += (!mask || mask[b * L + l] != T(0)) ? 1 : 0;
    const T scale = kind == SequencePool::mean && count > 0 ? T(1) / T(count) : T(1);
    bool found = false;
    for (std::int64_t l = 0; l < L; ++l) {
      const std::int64_t at = (b * L + l) * F + f;
      T g = T(0);
      if (!mask || mask[b * L + l] != T(0)) {
        if (kind != SequencePool::max) {
          g = dy[i] * scale;
        } else if (!found && x[at] == y[i]) {
          g = dy[i];
          found = true;
        }
      }
      dx[at] = g;
    }
  }
}

template <class T>
__global__ void layer_norm_forward(std::int64_t rows, std::int64_t F, T eps, const T* __restrict__ x,
                                   const T* __restrict__ gamma, const T* __restrict__ beta, T* __restrict__ y,
                                   T* __restrict__ stats) {
  HEPNN_GRID_STRIDE(r, rows) {
    const T* xr = x + r * F;
    T mean = T(0), var = T(0);
    for (std::int64_t f = 0; f < F; ++f) mean += xr[f];
    mean /= T(F);
    for (std::int64_t f = 0; f < F; ++f) var += (xr[f] - mean) * (xr[f] - mean);
    var /= T(F);
    const T rstd = T(1) / sqrt(var + eps);
    for (std::int64_t f = 0; f < F; ++f) {
      T v = (xr[f] - mean) * rstd;
      if (gamma) v *= gamma[f];
      if (beta) v += beta[f];
      y[r * F + f] = v;
    }
    if (stats) {
      stats[2 * r] = mean;
      stats[2 * r + 1] = rstd;
    }
  }
}

template <class T>
__global__ void layer_norm_backward_dx(std::int64_t rows, std::int64_t F, const T* __restrict__ x,
                                       const T* __restrict__ gamma, const T* __restrict__ stats,
                                       const T* __restrict__ dy, T* __restrict__ dx) {
  HEPNN_GRID_STRIDE(r, rows) {
    const T mean = stats[2 * r], rstd = stats[2 * r + 1];
    T sum_g = T(0), sum_gx = T(0);
    for (std::int64_t f = 0; f < F; ++f) {
      const T g = gamma ? dy[r * F + f] * gamma[f] : dy[r * F + f];
      sum_g += g;
      sum_gx += g * (x[r * F + f] - mean) * rstd;
    }
    const T mg = sum_g / T(F), mgx = sum_gx / T(F);
    for (std::int64_t f = 0; f < F; ++f) {
      const T g = gamma ? dy[r * F + f] * gamma[f] : dy[r * F + f];
      dx[r * F + f] = rstd * (g - mg - (x[r * F + f] - mean) * rstd * mgx);
    }
  }
}

template <class T>
__global__ void layer_norm_backward_params(std::int64_t rows, std::int64_t F, const T* __restrict__ x,
                                           const T* __restrict__ stats, const T* __restrict__ dy,
                                           T* __restrict__ dgamma, T* __restrict__ dbeta) {
  HEPNN_GRID_STRIDE(f, F) {
    T g = T(0), b = T(0);
    for (std::int64_t r = 0; r < rows; ++r) {
      const T d = dy[r * F + f];
      g += d * (x[r * F + f] - stats[2 * r]) * stats[2 * r + 1];
      b += d;
    }
    if (dgamma) dgamma[f] = g;
    if (dbeta) dbeta[f] = b;
  }
}

}  // namespace kernels

template <class T>
void zero_fill(std::int64_t n, T* y) {
  if (n == 0) return;
  HEPNN_CUDA_CHECK(cudaMemsetAsync(y, 0, std::size_t(n) * sizeof(T), detail::stream()));  // all-zero bytes are 0.0
}

template <class T>
void mask_from_value(std::int64_t rows, std::int64_t F, T value, const T* x, T* mask) {
  if (rows == 0) return;
  detail::launch("mask_from_value", detail::blocks_for(rows), detail::threads_per_block, kernels::mask_from_value<T>,
                 rows, F, value, x, mask);
}

template <class T>
std::int64_t mask_from_lengths(std::int64_t B, std::int64_t L, const T* lengths, T* mask) {
  if (B * L == 0) return -1;
  detail::launch("mask_from_lengths", detail::blocks_for(B * L), detail::threads_per_block,
                 kernels::mask_from_lengths<T>, B, L, lengths, mask);
  return -1;
}

template <class T>
void apply_mask(std::int64_t rows, std::int64_t F, const T* x, const T* mask, T* y) {
  if (rows * F == 0) return;
  detail::launch("apply_mask", detail::blocks_for(rows * F), detail::threads_per_block, kernels::apply_mask<T>, rows,
                 F, x, mask, y);
}

template <class T>
void sequence_pool_forward(SequencePool kind, std::int64_t B, std::int64_t L, std::int64_t F, const T* x,
                           const T* mask, T* y) {
  if (B * F == 0) return;
  detail::launch("sequence_pool_forward", detail::blocks_for(B * F), detail::threads_per_block,
                 kernels::sequence_pool_forward<T>, kind, B, L, F, x, mask, y);
}

template <class T>
void sequence_pool_backward(SequencePool kind, std::int64_t B, std::int64_t L, std::int64_t F, const T* x,
                            const T* mask, const T* y, const T* dy, T* dx) {
  if (B * F == 0) return;
  detail::launch("sequence_pool_backward", detail::blocks_for(B * F), detail::threads_per_block,
                 kernels::sequence_pool_backward<T>, kind, B, L, F, x, mask, y, dy, dx);
}

template <class T>
void layer_norm_forward(std::int64_t rows, std::int64_t F, T eps, const T* x, const T* gamma, const T* beta, T* y,
                        T* stats) {
  if (rows == 0) return;
  detail::launch("layer_norm_forward", detail::blocks_for(rows), detail::threads_per_block,
                 kernels::layer_norm_forward<T>, rows, F, eps, x, gamma, beta, y, stats);
}

template <class T>
void layer_norm_backward(std::int64_t rows, std::int64_t F, const T* x, const T* gamma, const T* stats, const T* dy,
                         T* dx, T* dgamma, T* dbeta) {
  if (rows == 0) return;
  if (dx)
    detail::launch("layer_norm_backward_dx", detail::blocks_for(rows), detail::threads_per_block,
                   kernels::layer_norm_backward_dx<T>, rows, F, x, gamma, stats, dy, dx);
  if (dgamma || dbeta)
    detail::launch("layer_norm_backward_params", detail::blocks_for(F), detail::threads_per_block,
                   kernels::layer_norm_backward_params<T>, rows, F, x, stats, dy, dgamma, dbeta);
}

}  // namespace hepnn::backend::cuda
