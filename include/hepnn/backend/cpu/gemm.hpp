/// @file backend/cpu/gemm.hpp
/// @brief Matrix products on the CPU through Eigen (the only file of hepnn that includes Eigen).
#pragma once
#include <cstdint>

// hepnn threads products itself (row chunks, see parallel.hpp) so that results do not depend
// on the thread count and several user threads can predict at once without oversubscription.
#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE
#endif
#include <Eigen/Core>

#include "hepnn/backend/cpu/parallel.hpp"

namespace hepnn::backend::cpu {

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
