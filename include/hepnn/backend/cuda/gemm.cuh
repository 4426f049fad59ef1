/// @file backend/cuda/gemm.cuh
/// @brief Row-major matrix products through cuBLAS (column-major): C = op(A) op(B) is computed
/// as C^T = op(B)^T op(A)^T, which is cuBLAS' product of the same buffers with the operands
/// swapped. FP32 by default; TF32 tensor cores when set_tf32(true). nvcc only.
#pragma once
#include <climits>
#include <cstdint>
#include <type_traits>

#include "hepnn/backend/cuda/element.hpp"
#include "hepnn/backend/cuda/runtime.cuh"

namespace hepnn::backend::cuda {

template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A, const T* B,
          T beta, T* C) {
  if (M == 0 || N == 0) return;
  HEPNN_CHECK(M < INT_MAX && N < INT_MAX && K < INT_MAX, "cuda::gemm: ", M, " x ", N, " x ", K,
              " exceeds cuBLAS' 32-bit dimensions");
  const auto& ctx = detail::Context::get();
  const element::ColumnMajorGemm cm = element::column_major_gemm(trans_a, trans_b, M, N, K);
  const int m = int(cm.m), n = int(cm.n), k = int(cm.k), ldb = int(cm.ld_first), lda = int(cm.ld_second);
  const cublasOperation_t op_b = cm.trans_first ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = cm.trans_second ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (K == 0) {  // C = beta C: cuBLAS leaves C alone for k = 0 only when beta = 1
    if (beta == T(0)) HEPNN_CUDA_CHECK(cudaMemsetAsync(C, 0, sizeof(T) * std::size_t(M * N), ctx.stream));
    else if (beta != T(1)) scale(M * N, beta, C);
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    const cublasComputeType_t compute = tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    HEPNN_CUBLAS_CHECK(cublasGemmEx(ctx.blas, op_b, op_a, m, n, k, &alpha, B, CUDA_R_32F, ldb, A, CUDA_R_32F, lda,
                                    &beta, C, CUDA_R_32F, int(cm.ldc), compute, CUBLAS_GEMM_DEFAULT));
  } else {
    HEPNN_CUBLAS_CHECK(cublasDgemm(ctx.blas, op_b, op_a, m, n, k, &alpha, B, ldb, A, lda, &beta, C, int(cm.ldc)));
  }
}

}  // namespace hepnn::backend::cuda
