/// @file backend/cuda/optim.cuh
/// @brief Optimizer updates on the GPU: each one kernel over the flat parameter buffer, with the
/// formulas of backend/cpu/optim.hpp. nvcc only.
#pragma once
#include <cmath>
#include <cstdint>

#include "hepnn/backend/cuda/element.hpp"
#include "hepnn/backend/cuda/elementwise.cuh"

namespace hepnn::backend::cuda {

namespace kernels {

template <class T>
__global__ void sgd(std::int64_t n, T* __restrict__ p, const T* __restrict__ g, T* __restrict__ v, T lr, T momentum,
                    bool nesterov, T weight_decay) {
  HEPNN_GRID_STRIDE(i, n) element::sgd_at(p, g, v, lr, momentum, nesterov, weight_decay, i);
}

template <class T>
__global__ void adam(std::int64_t n, T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v,
                     T beta1, T beta2, T eps, T step_size, T inv_sqrt_bc2, T l2, T shrink) {
  HEPNN_GRID_STRIDE(i, n) element::adam_at(p, g, m, v, beta1, beta2, eps, step_size, inv_sqrt_bc2, l2, shrink, i);
}

template <class T>
__global__ void rmsprop(std::int64_t n, T* __restrict__ p, const T* __restrict__ g, T* __restrict__ s, T lr, T rho,
                        T eps, T weight_decay) {
  HEPNN_GRID_STRIDE(i, n) element::rmsprop_at(p, g, s, lr, rho, eps, weight_decay, i);
}

template <class T>
__global__ void adagrad(std::int64_t n, T* __restrict__ p, const T* __restrict__ g, T* __restrict__ a, T lr, T eps,
                        T weight_decay) {
  HEPNN_GRID_STRIDE(i, n) element::adagrad_at(p, g, a, lr, eps, weight_decay, i);
}

}  // namespace kernels

template <class T>
void sgd_update(std::int64_t n, T* p, const T* g, T* v, T lr, T momentum, bool nesterov, T weight_decay) {
  if (n == 0) return;
  detail::launch("sgd", detail::blocks_for(n, 4), detail::threads_per_block, kernels::sgd<T>, n, p, g, v, lr, momentum,
                 nesterov, weight_decay);
}

template <class T>
void adam_update(std::int64_t n, T* p, const T* g, T* m, T* v, T lr, T beta1, T beta2, T eps, std::int64_t step,
                 T weight_decay, bool decoupled) {
  if (n == 0) return;
  // the step constants exactly as the CPU computes them
  const T bc1 = T(1) - static_cast<T>(std::pow(double(beta1), double(step)));
  const T bc2 = T(1) - static_cast<T>(std::pow(double(beta2), double(step)));
  const T step_size = lr / bc1;
  const T inv_sqrt_bc2 = T(1) / std::sqrt(bc2);
  const T l2 = decoupled ? T(0) : weight_decay, shrink = decoupled ? T(1) - lr * weight_decay : T(1);
  detail::launch("adam", detail::blocks_for(n, 4), detail::threads_per_block, kernels::adam<T>, n, p, g, m, v, beta1,
                 beta2, eps, step_size, inv_sqrt_bc2, l2, shrink);
}

template <class T>
void rmsprop_update(std::int64_t n, T* p, const T* g, T* s, T lr, T rho, T eps, T weight_decay) {
  if (n == 0) return;
  detail::launch("rmsprop", detail::blocks_for(n, 4), detail::threads_per_block, kernels::rmsprop<T>, n, p, g, s, lr,
                 rho, eps, weight_decay);
}

template <class T>
void adagrad_update(std::int64_t n, T* p, const T* g, T* a, T lr, T eps, T weight_decay) {
  if (n == 0) return;
  detail::launch("adagrad", detail::blocks_for(n, 4), detail::threads_per_block, kernels::adagrad<T>, n, p, g, a, lr,
                 eps, weight_decay);
}

}  // namespace hepnn::backend::cuda
