/// @file backend/cpu/gemm.hpp
/// @brief Matrix products on the CPU: OpenBLAS when hepnn is built with it (HEPNN_USE_OPENBLAS,
/// set by CMake's HEPNN_BLAS option), Eigen otherwise and for products too small to pay for
/// a BLAS call.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cstdint>
#include <type_traits>

// hepnn threads products itself (row chunks, see parallel.hpp) so that results do not depend
// on the thread count and several user threads can predict at once without oversubscription.
#include "hepnn/backend/cpu/eigen.hpp"

#include "hepnn/backend/cpu/parallel.hpp"

#if defined(HEPNN_USE_OPENBLAS)
#include <cblas.h>
extern "C" void openblas_set_num_threads(int);  // declared here: not every cblas.h declares it
#endif

namespace hepnn::backend::cpu::inline HEPNN_ABI {

#if defined(HEPNN_USE_OPENBLAS)
/// Products below this many flops go to Eigen: a BLAS call costs about a microsecond of
/// set-up, which dominates single-event inference (measured in docs/benchmarks.md).
inline constexpr double blas_min_flops = 2.0e5;

namespace detail {
/// hepnn threads products itself, so OpenBLAS must not start threads of its own inside ours.
/// This sets OpenBLAS to one thread for the whole process (once); see docs/architecture.md.
inline void openblas_single_thread() {
  static const bool once = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)once;
}

/// C = alpha op(A) op(B) + beta C for a block of C, row-major, through cblas.
template <class T>
void blas_gemm(bool ta, bool tb, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
               std::int64_t lda, const T* B, std::int64_t ldb, T beta, T* C, std::int64_t ldc) {
  const auto opa = ta ? CblasTrans : CblasNoTrans, opb = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, opa, opb, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
  else
    cblas_dgemm(CblasRowMajor, opa, opb, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
}
}  // namespace detail
#endif

#if defined(_OPENMP) && !defined(EIGEN_DONT_PARALLELIZE)
namespace detail {
/// Built without EIGEN_DONT_PARALLELIZE (backend/cpu/eigen.hpp): keeps Eigen's products on one
/// thread each for the whole process (once), as that macro would, so that hepnn's chunks stay
/// the only threading; like openblas_single_thread above.
inline void eigen_single_thread() {
  static const bool once = [] {
    Eigen::setNbThreads(1);
    return true;
  }();
  (void)once;
}
}  // namespace detail
#endif

/// C = alpha * op(A) * op(B) + beta * C, all row-major.
/// A is (M, K), or (K, M) when trans_a; B is (K, N), or (N, K) when trans_b; C is (M, N).
/// requires: C does not alias A or B. beta == 0 ignores C's previous contents (NaN included).
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
          const T* B, T beta, T* C) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using CMap = Eigen::Map<const Mat>;
  if (M == 0 || N == 0) return;
  if (K == 0) {  // a plain loop: Eigen's vector code here trips GCC's -Warray-bounds on tiny C
    for (std::int64_t i = 0; i < M * N; ++i) C[i] = beta == T(0) ? T(0) : beta * C[i];
    return;
  }
#if defined(HEPNN_USE_OPENBLAS)
  const double flops = 2.0 * double(M) * double(N) * double(K);
  if (flops >= blas_min_flops) {
    detail::openblas_single_thread();
    // C is cut along its larger extent into a number of pieces that depends on the shape only
    // (so the bits do not depend on the thread count); each piece is one BLAS call. Cutting
    // the larger extent keeps the operand every piece packs again (the other one) small.
    const bool by_rows = M >= N;
    const std::int64_t extent = by_rows ? M : N;
    const std::int64_t pieces = flops >= 4.0e6 ? std::clamp<std::int64_t>(extent / 32, 1, 4) : 1;
    const std::int64_t lda = trans_a ? M : K, ldb = trans_b ? K : N;
    parallel_chunks(pieces, flops, [&](std::int64_t p) {
      const std::int64_t e0 = extent * p / pieces / 8 * 8, e1 = p + 1 == pieces ? extent : extent * (p + 1) / pieces / 8 * 8;
      if (e1 <= e0) return;
      if (by_rows)
        detail::blas_gemm(trans_a, trans_b, e1 - e0, N, K, alpha, trans_a ? A + e0 : A + e0 * K, lda, B, ldb, beta,
                          C + e0 * N, N);
      else
        detail::blas_gemm(trans_a, trans_b, M, e1 - e0, K, alpha, A, lda, trans_b ? B + e0 * K : B + e0, ldb, beta,
                          C + e0, N);
    });
    return;
  }
#endif
#if defined(_OPENMP) && !defined(EIGEN_DONT_PARALLELIZE)
  detail::eigen_single_thread();
#endif
  Eigen::Map<Mat> c(C, M, N);
  const CMap a(A, trans_a ? K : M, trans_a ? M : K);
  const CMap b(B, trans_b ? N : K, trans_b ? K : N);
  // Rows of C in fixed chunks: the same partition (and so the same bits) for any thread count.
  constexpr std::int64_t rows_per_chunk = 32;
  const std::int64_t chunks = (M + rows_per_chunk - 1) / rows_per_chunk;
  parallel_chunks(chunks, 2.0 * double(M) * double(N) * double(K), [&](std::int64_t ch) {
    const std::int64_t r0 = ch * rows_per_chunk, m = std::min(rows_per_chunk, M - r0);
    auto cblk = c.middleRows(r0, m);
    if (beta == T(0)) {
      if (!trans_a && !trans_b) cblk.noalias() = alpha * (a.middleRows(r0, m) * b);
      else if (!trans_a) cblk.noalias() = alpha * (a.middleRows(r0, m) * b.transpose());
      else if (!trans_b) cblk.noalias() = alpha * (a.middleCols(r0, m).transpose() * b);
      else cblk.noalias() = alpha * (a.middleCols(r0, m).transpose() * b.transpose());
    } else {
      if (beta != T(1)) cblk *= beta;
      if (!trans_a && !trans_b) cblk.noalias() += alpha * (a.middleRows(r0, m) * b);
      else if (!trans_a) cblk.noalias() += alpha * (a.middleRows(r0, m) * b.transpose());
      else if (!trans_b) cblk.noalias() += alpha * (a.middleCols(r0, m).transpose() * b);
      else cblk.noalias() += alpha * (a.middleCols(r0, m).transpose() * b.transpose());
    }
  });
}

}  // namespace hepnn::backend::cpu
