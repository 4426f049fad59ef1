/// @file ops/optim.hpp
/// @brief Fused optimizer updates over flat buffers. Front door: dispatches on the device tag to backend::cpu or backend::cuda.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <type_traits>

#include "hepnn/backend/cpu/optim.hpp"
#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"

namespace hepnn::inline HEPNN_ABI::ops {

/// SGD step with momentum / Nesterov and L2 weight decay; v: velocity (n).
template <class Device, class T>
void sgd_update(std::int64_t n, T* p, const T* g, T* v, T lr, T momentum, bool nesterov, T weight_decay) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::sgd_update(n, p, g, v, lr, momentum, nesterov, weight_decay);
  else return backend::cuda::sgd_update(n, p, g, v, lr, momentum, nesterov, weight_decay);
}

/// Adam (decoupled = false) or AdamW (decoupled = true) step number `step` (from 1).
template <class Device, class T>
void adam_update(std::int64_t n, T* p, const T* g, T* m, T* v, T lr, T beta1, T beta2, T eps, std::int64_t step, T weight_decay, bool decoupled) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::adam_update(n, p, g, m, v, lr, beta1, beta2, eps, step, weight_decay, decoupled);
  else return backend::cuda::adam_update(n, p, g, m, v, lr, beta1, beta2, eps, step, weight_decay, decoupled);
}

/// RMSprop step; s: running mean of squared gradients.
template <class Device, class T>
void rmsprop_update(std::int64_t n, T* p, const T* g, T* s, T lr, T rho, T eps, T weight_decay) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::rmsprop_update(n, p, g, s, lr, rho, eps, weight_decay);
  else return backend::cuda::rmsprop_update(n, p, g, s, lr, rho, eps, weight_decay);
}

/// Adagrad step; a: accumulated squared gradients.
template <class Device, class T>
void adagrad_update(std::int64_t n, T* p, const T* g, T* a, T lr, T eps, T weight_decay) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::adagrad_update(n, p, g, a, lr, eps, weight_decay);
  else return backend::cuda::adagrad_update(n, p, g, a, lr, eps, weight_decay);
}

}  // namespace hepnn::ops
