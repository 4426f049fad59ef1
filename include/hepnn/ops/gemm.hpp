/// @file ops/gemm.hpp
/// @brief Matrix products. Front door: dispatches on the device tag to backend::cpu or backend::cuda.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <type_traits>

#include "hepnn/backend/cpu/gemm.hpp"
#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"

namespace hepnn::inline HEPNN_ABI::ops {

/// C (M,N) = alpha * op(A) * op(B) + beta * C; A (M,K) or (K,M) if trans_a; B (K,N) or (N,K) if trans_b.
/// requires: C aliases neither A nor B. beta == 0 ignores C's contents.
template <class Device, class T>
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A, const T* B, T beta, T* C) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::gemm(trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
  else return backend::cuda::gemm(trans_a, trans_b, M, N, K, alpha, A, B, beta, C);
}

}  // namespace hepnn::ops
