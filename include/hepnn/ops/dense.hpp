/// @file ops/dense.hpp
/// @brief The fused Dense forward pass z = x W + b, y = act(z). Front door: the CPU has a fused
/// kernel for small layers (backend/cpu/dense_kernel.hpp); other devices compose it from gemm
/// and the bias + activation op.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <type_traits>

#include "hepnn/backend/cpu/dense_kernel.hpp"
#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"

namespace hepnn::inline HEPNN_ABI::ops {

/// x (M, K), W (K, N), b (N) or null, z and y (M, N), all row-major; z may be y (then z is not
/// kept). requires: z and y alias neither x nor W.
template <class Device, class T>
void dense_forward(std::int64_t M, std::int64_t K, std::int64_t N, const T* x, const T* W, const T* b,
                   Activation act, T alpha, T* z, T* y) {
  if constexpr (std::is_same_v<Device, cpu>) {
    backend::cpu::dense_forward(M, K, N, x, W, b, act, alpha, z, y);
  } else {
    if (M == 0) return;
    backend::cuda::gemm(false, false, M, N, K, T(1), x, W, T(0), z);
    if (b != nullptr) backend::cuda::bias_activation_forward(act, alpha, M, N, b, z, y);
    else if (act != Activation::linear || z != y) backend::cuda::activation_forward(act, alpha, M * N, z, y);
  }
}

}  // namespace hepnn::ops
