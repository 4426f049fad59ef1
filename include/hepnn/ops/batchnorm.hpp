/// @file ops/batchnorm.hpp
/// @brief Batch normalisation over the (B, inner) extents of each channel of x (B, C, inner).
/// Front door: dispatches on the device tag to backend::cpu or backend::cuda.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <type_traits>

#include "hepnn/backend/cpu/batchnorm.hpp"
#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"

namespace hepnn::inline HEPNN_ABI::ops {

/// Batch statistics: mean and biased variance (C) of each channel; y = gamma * xhat + beta;
/// xhat (B, C, inner) kept unless null; gamma, beta may be null (1, 0).
template <class Device, class T>
void batchnorm_forward_training(std::int64_t B, std::int64_t C, std::int64_t inner, const T* x, const T* gamma,
                                const T* beta, T eps, T* y, T* xhat, T* mean, T* var) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::batchnorm_forward_training(B, C, inner, x, gamma, beta, eps, y, xhat, mean, var);
  else return backend::cuda::batchnorm_forward_training(B, C, inner, x, gamma, beta, eps, y, xhat, mean, var);
}

/// Given statistics (the moving ones): y = gamma * (x - mean) / sqrt(var + eps) + beta.
template <class Device, class T>
void batchnorm_forward_inference(std::int64_t B, std::int64_t C, std::int64_t inner, const T* x, const T* gamma,
                                 const T* beta, const T* mean, const T* var, T eps, T* y, T* xhat) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::batchnorm_forward_inference(B, C, inner, x, gamma, beta, mean, var, eps, y, xhat);
  else return backend::cuda::batchnorm_forward_inference(B, C, inner, x, gamma, beta, mean, var, eps, y, xhat);
}

/// dx (unless null), dgamma and dbeta (C, unless null), all overwritten, from dy and the xhat and
/// variance of the forward pass; `training` says the statistics were the batch's own.
template <class Device, class T>
void batchnorm_backward(std::int64_t B, std::int64_t C, std::int64_t inner, const T* dy, const T* xhat, const T* gamma,
                        const T* var, T eps, bool training, T* dx, T* dgamma, T* dbeta) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::batchnorm_backward(B, C, inner, dy, xhat, gamma, var, eps, training, dx, dgamma, dbeta);
  else return backend::cuda::batchnorm_backward(B, C, inner, dy, xhat, gamma, var, eps, training, dx, dgamma, dbeta);
}

/// moving = momentum * moving + (1 - momentum) * batch (Keras' convention), means and variances.
template <class Device, class T>
void batchnorm_update_moving(std::int64_t C, const T* mean, const T* var, T momentum, T* moving_mean, T* moving_var) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::batchnorm_update_moving(C, mean, var, momentum, moving_mean, moving_var);
  else return backend::cuda::batchnorm_update_moving(C, mean, var, momentum, moving_mean, moving_var);
}

}  // namespace hepnn::ops
