/// @file backend/cpu/optim.hpp
/// @brief Optimizer updates on the CPU: each one fused pass over the flat parameter buffer.
#pragma once
#include <cmath>
#include <cstdint>

#include "hepnn/backend/cpu/parallel.hpp"

namespace hepnn::backend::cpu {

inline constexpr std::int64_t optim_grain = 1 << 14;

// SGD with optional momentum and Nesterov momentum (PyTorch's formulation):
//   g' = g + wd p;  v = mu v + g';  p -= lr * (nesterov ? g' + mu v : v)   (v unused when mu = 0)
template <class T>
void sgd_update(std::int64_t n, T* p, const T* g, T* v, T lr, T momentum, bool nesterov, T weight_decay) {
  parallel_range(n, optim_grain, 5.0, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
      const T gi = g[i] + weight_decay * p[i];
      if (momentum == T(0)) {
        p[i] -= lr * gi;
      } else {
        v[i] = momentum * v[i] + gi;
        p[i] -= lr * (nesterov ? gi + momentum * v[i] : v[i]);
      }
    }
  });
}

// Adam (Kingma & Ba) with bias correction folded into the step size; step counts from 1.
// decoupled = false: L2 weight decay added to the gradient (Adam); true: AdamW
// (Loshchilov & Hutter), p -= lr * wd * p before the Adam step.
template <class T>
void adam_update(std::int64_t n, T* p, const T* g, T* m, T* v, T lr, T beta1, T beta2, T eps, std::int64_t step,
                 T weight_decay, bool decoupled) {
  const T bc1 = T(1) - static_cast<T>(std::pow(double(beta1), double(step)));
  const T bc2 = T(1) - static_cast<T>(std::pow(double(beta2), double(step)));
  const T step_size = lr / bc1;
  const T inv_sqrt_bc2 = T(1) / std::sqrt(bc2);
  parallel_range(n, optim_grain, 12.0, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
      T gi = g[i];
      if (decoupled) p[i] -= lr * weight_decay * p[i];
      else gi += weight_decay * p[i];
      m[i] = beta1 * m[i] + (T(1) - beta1) * gi;
      v[i] = beta2 * v[i] + (T(1) - beta2) * gi * gi;
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
    }
  });
}

// RMSprop (PyTorch's formulation): s = rho s + (1 - rho) g'^2;  p -= lr g' / (sqrt(s) + eps)
template <class T>
void rmsprop_update(std::int64_t n, T* p, const T* g, T* s, T lr, T rho, T eps, T weight_decay) {
  parallel_range(n, optim_grain, 8.0, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
      const T gi = g[i] + weight_decay * p[i];
      s[i] = rho * s[i] + (T(1) - rho) * gi * gi;
      p[i] -= lr * gi / (std::sqrt(s[i]) + eps);
    }
  });
}

// Adagrad: a += g'^2;  p -= lr g' / (sqrt(a) + eps)
template <class T>
void adagrad_update(std::int64_t n, T* p, const T* g, T* a, T lr, T eps, T weight_decay) {
  parallel_range(n, optim_grain, 6.0, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
      const T gi = g[i] + weight_decay * p[i];
      a[i] += gi * gi;
      p[i] -= lr * gi / (std::sqrt(a[i]) + eps);
    }
  });
}

}  // namespace hepnn::backend::cpu
