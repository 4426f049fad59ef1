/// @file backend/cpu/dense_kernel.hpp
/// @brief A fused Dense forward for the small layers of event-level networks:
/// z = x W + b and y = act(z), row block by row block, with an AVX2/FMA register-tiled product.
///
/// Why: for layers like 20 -> 64 or 64 -> 64 a BLAS call spends more time packing, scaling C
/// and returning than multiplying, and the bias and activation passes then read everything
/// again. Here W (K x N, row-major, at most 256 x 128) stays in L1/L2 as it is, a tile of
/// 6 rows x 16 columns of z lives in 12 registers over the whole sum over k, the bias is added
/// in registers, and the activation runs on the 6 rows while they are in L1.
/// Every element of z is the sum over k in increasing order with one FMA per term, whatever the
/// tile it falls in, so a row's result does not depend on the batch size or its place in it.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cstdint>

#include "hepnn/core/intrin.hpp"

#include "hepnn/backend/cpu/elementwise.hpp"
#include "hepnn/backend/cpu/gemm.hpp"
#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/backend/cpu/vmath.hpp"
#include "hepnn/core/error.hpp"

namespace hepnn::backend::cpu::inline HEPNN_ABI {

/// Whether dense_forward_small handles this shape (float, AVX2 and FMA, W small enough to stay in cache).
template <class T>
constexpr bool dense_kernel_available() {
#if defined(__AVX2__) && defined(__FMA__)
  return std::is_same_v<T, float>;
#else
  return false;
#endif
}
inline bool dense_kernel_fits(std::int64_t K, std::int64_t N) { return K >= 1 && K <= 256 && N >= 1 && N <= 128; }

#if defined(__AVX2__) && defined(__FMA__)
namespace detail {

/// z[r, j0 : j0 + 8 * V) for MR rows: sum_k x[r, k] W[k, j] + b[j]. V vectors of 8 columns;
/// `tail` < 8 columns of the last vector are valid when mask is used (N not a multiple of 8).
template <int MR, int V, bool masked>
inline void dense_tile(std::int64_t K, std::int64_t N, const float* x, const float* W, const float* b, float* z,
                       std::int64_t j0, __m256i tail_mask) {
  // Every loop over r and v has compile-time bounds and is unrolled, so that acc stays in
  // registers (MR * V <= 12 of the 16 ymm registers).
  __m256 acc[MR][V];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[r][v] = _mm256_setzero_ps();
  const float* w = W + j0;
  for (std::int64_t k = 0; k < K; ++k, w += N) {
    __m256 wv[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      if constexpr (masked) wv[v] = v == V - 1 ? _mm256_maskload_ps(w + 8 * v, tail_mask) : _mm256_loadu_ps(w + 8 * v);
      else wv[v] = _mm256_loadu_ps(w + 8 * v);
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 a = _mm256_broadcast_ss(x + r * K + k);
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) acc[r][v] = _mm256_fmadd_ps(a, wv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) {
    const bool last_masked = masked && v == V - 1;
    const __m256 bv = b == nullptr ? _mm256_setzero_ps()
                                   : (last_masked ? _mm256_maskload_ps(b + j0 + 8 * v, tail_mask)
                                                  : _mm256_loadu_ps(b + j0 + 8 * v));
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      float* dst = z + r * N + j0 + 8 * v;
      const __m256 out = _mm256_add_ps(acc[r][v], bv);
      if (last_masked) _mm256_maskstore_ps(dst, tail_mask, out);
      else _mm256_storeu_ps(dst, out);
    }
  }
}

/// sum_k a[k] b[k] with 8-lane partial sums (a fixed order for a given K).
inline float dot(std::int64_t K, const float* a, const float* b) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  std::int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(b + k + 8), acc1);
  }
  if (k + 8 <= K) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), acc0);
    k += 8;
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(acc0, acc1));
  float s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  for (; k < K; ++k) s += a[k] * b[k];
  return s;
}

/// All columns of MR rows: 16-column tiles, then one of 8, then a masked one for the rest.
template <int MR>
inline void dense_rows(std::int64_t K, std::int64_t N, const float* x, const float* W, const float* b, float* z) {
  std::int64_t j = 0;
  const __m256i none = _mm256_setzero_si256();
  // Few rows: wider tiles, so that 8 independent accumulators hide the FMA latency.
  constexpr int wide = MR == 1 ? 8 : MR == 2 ? 4 : 2;
  if constexpr (wide > 2)
    for (; j + 8 * wide <= N; j += 8 * wide) dense_tile<MR, wide, false>(K, N, x, W, b, z, j, none);
  for (; j + 16 <= N; j += 16) dense_tile<MR, 2, false>(K, N, x, W, b, z, j, none);
  if (j + 8 <= N) {
    dense_tile<MR, 1, false>(K, N, x, W, b, z, j, none);
    j += 8;
  }
  if (j < N) {
    const int rest = int(N - j);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(rest), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    dense_tile<MR, 1, true>(K, N, x, W, b, z, j, mask);
  }
}

}  // namespace detail
#endif

/// z = x W + b (b may be null), y = act(z) for x (M, K), W (K, N), all row-major. z may be y
/// (then only y is written). requires: dense_kernel_available<T>() and dense_kernel_fits(K, N).
template <class T>
void dense_forward_small(std::int64_t M, std::int64_t K, std::int64_t N, const T* x, const T* W, const T* b,
                         Activation act, T alpha, T* z, T* y) {
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<T, float>) {
    constexpr std::int64_t rows_per_chunk = 96;  // 16 tiles of 6 rows: the chunking depends on M only
    const std::int64_t chunks = (M + rows_per_chunk - 1) / rows_per_chunk;
    parallel_chunks(chunks, 2.0 * double(M) * double(K) * double(N), [&](std::int64_t c) {
      const std::int64_t r_end = std::min(M, (c + 1) * rows_per_chunk);
      for (std::int64_t r = c * rows_per_chunk; r < r_end; r += 6) {
        const std::int64_t rows = std::min<std::int64_t>(6, r_end - r);
        const float* xr = x + r * K;
        float* zr = z + r * N;
        if (N == 1) {  // one output (a classifier's score): a dot product per row, vectorised over k
          for (std::int64_t i = 0; i < rows; ++i) zr[i] = detail::dot(K, xr + i * K, W) + (b ? b[0] : 0.0f);
        } else switch (rows) {
          case 6: detail::dense_rows<6>(K, N, xr, W, b, zr); break;
          case 5: detail::dense_rows<5>(K, N, xr, W, b, zr); break;
          case 4: detail::dense_rows<4>(K, N, xr, W, b, zr); break;
          case 3: detail::dense_rows<3>(K, N, xr, W, b, zr); break;
          case 2: detail::dense_rows<2>(K, N, xr, W, b, zr); break;
          default: detail::dense_rows<1>(K, N, xr, W, b, zr); break;
        }
        if (act != Activation::linear || z != y) activation_block(act, alpha, rows * N, zr, y + r * N);
      }
    });
    return;
  }
#endif
  (void)M, (void)K, (void)N, (void)x, (void)W, (void)b, (void)act, (void)alpha, (void)z, (void)y;
  throw Error("dense_forward_small: not available for this type or CPU (needs float, AVX2 and FMA)");
}

/// The Dense forward pass: z = x W + b (b may be null), y = act(z); z may be y. Small layers
/// take the fused kernel above, the others a matrix product and one bias + activation pass.
template <class T>
void dense_forward(std::int64_t M, std::int64_t K, std::int64_t N, const T* x, const T* W, const T* b,
                   Activation act, T alpha, T* z, T* y) {
  if (M == 0) return;
  if constexpr (dense_kernel_available<T>()) {
    if (dense_kernel_fits(K, N)) return dense_forward_small(M, K, N, x, W, b, act, alpha, z, y);
  }
  gemm(false, false, M, N, K, T(1), x, W, T(0), z);
  if (b != nullptr) bias_activation_forward(act, alpha, M, N, b, z, y);
  else if (act != Activation::linear || z != y) activation_forward(act, alpha, M * N, z, y);
}

}  // namespace hepnn::backend::cpu
