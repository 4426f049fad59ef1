/// @file backend/cpu/optim.hpp
/// @brief Optimizer updates on the CPU: each one fused pass over the flat parameter buffer.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <cstdint>
#include <limits>

#include <algorithm>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/backend/cpu/vmath.hpp"

namespace hepnn::backend::cpu::inline HEPNN_ABI {

inline constexpr std::int64_t optim_grain = 1 << 14;
inline constexpr std::int64_t opt_block = 256;  // divides optim_grain

/// x, or 0 when |x| is below the smallest normal number (the optimizers' state is stored so).
// The running averages of the optimizers
// decay geometrically where the gradient is 0 (a dead ReLU unit): 0.9 m reaches the denormal
// range after ~800 steps and then sticks at the smallest denormal (0.9 * 2^-149 rounds back to
// 2^-149), and every later step pays the CPU's slow path for denormal operands: 16x slower
// Adam updates, 5x slower training steps of a 784-500-300-10 MLP (docs/architecture.md). Stored
// flushed, the state is never denormal; a branch-free select, so the loops stay vectorised.
template <class T>
inline T flush_denormal(T x) {
  return std::abs(x) < std::numeric_limits<T>::min() ? T(0) : x;
}

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
        v[i] = flush_denormal(momentum * v[i] + gi);
        p[i] -= lr * (nesterov ? gi + momentum * v[i] : v[i]);
      }
    }
  });
}

namespace optim_detail {
// The update of [0, n) on threads, in blocks small enough for L1: first(b0, k1) updates the
// running state s of the block [b0, b0 + k1) in a vectorisable loop; root = sqrt(s) of the block
// with Eigen's SIMD sqrt (the compiler does not vectorise std::sqrt, which may set errno); then
// second(b0, k1, root) updates the parameters in a vectorisable loop.
template <class T, class First, class Second>
void sqrt_blocked(std::int64_t n, double flops_per_element, const T* s, First&& first, Second&& second) {
  parallel_range(n, optim_grain, flops_per_element, [&](std::int64_t i0, std::int64_t i1) {
    T root[opt_block];
    for (std::int64_t b0 = i0; b0 < i1; b0 += opt_block) {
      const std::int64_t k1 = std::min(opt_block, i1 - b0);
      first(b0, k1);
      sqrt_block(k1, s + b0, root);
      second(b0, k1, root);
    }
  });
}

// RMSprop and Adagrad: s = accumulate(s, g') with g' = g + wd p;  p -= lr g' / (sqrt(s) + eps)
template <class T, class Accumulate>
void scaled_by_rms(std::int64_t n, double flops_per_element, T* p, const T* g, T* s, T lr, T eps, T weight_decay,
                   Accumulate accumulate) {
  sqrt_blocked(
      n, flops_per_element, s,
      [&](std::int64_t b0, std::int64_t k1) {
        const T* __restrict pb = p + b0;
        const T* __restrict gb = g + b0;
        T* __restrict sb = s + b0;
        for (std::int64_t k = 0; k < k1; ++k) {
          const T gi = gb[k] + weight_decay * pb[k];
          sb[k] = flush_denormal(accumulate(sb[k], gi));
        }
      },
      [&](std::int64_t b0, std::int64_t k1, const T* root) {
        T* __restrict pb = p + b0;
        const T* __restrict gb = g + b0;
        for (std::int64_t k = 0; k < k1; ++k) pb[k] -= lr * (gb[k] + weight_decay * pb[k]) / (root[k] + eps);
      });
}
}  // namespace optim_detail

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
  const T l2 = decoupled ? T(0) : weight_decay, shrink = decoupled ? T(1) - lr * weight_decay : T(1);
  optim_detail::sqrt_blocked(
      n, 12.0, v,
      [&](std::int64_t b0, std::int64_t k1) {
        T* __restrict pb = p + b0;
        const T* __restrict gb = g + b0;
        T* __restrict mb = m + b0;
        T* __restrict vb = v + b0;
        for (std::int64_t k = 0; k < k1; ++k) {
          const T gi = gb[k] + l2 * pb[k];
          pb[k] *= shrink;
          mb[k] = flush_denormal(beta1 * mb[k] + (T(1) - beta1) * gi);
          vb[k] = flush_denormal(beta2 * vb[k] + (T(1) - beta2) * gi * gi);
        }
      },
      [&](std::int64_t b0, std::int64_t k1, const T* root) {
        T* __restrict pb = p + b0;
        const T* __restrict mb = m + b0;
        for (std::int64_t k = 0; k < k1; ++k) pb[k] -= step_size * mb[k] / (root[k] * inv_sqrt_bc2 + eps);
      });
}

// RMSprop (PyTorch's formulation): s = rho s + (1 - rho) g'^2;  p -= lr g' / (sqrt(s) + eps)
template <class T>
void rmsprop_update(std::int64_t n, T* p, const T* g, T* s, T lr, T rho, T eps, T weight_decay) {
  optim_detail::scaled_by_rms(n, 8.0, p, g, s, lr, eps, weight_decay,
                              [rho](T si, T gi) { return rho * si + (T(1) - rho) * gi * gi; });
}

// Adagrad: a += g'^2;  p -= lr g' / (sqrt(a) + eps)
template <class T>
void adagrad_update(std::int64_t n, T* p, const T* g, T* a, T lr, T eps, T weight_decay) {
  optim_detail::scaled_by_rms(n, 6.0, p, g, a, lr, eps, weight_decay, [](T ai, T gi) { return ai + gi * gi; });
}

}  // namespace hepnn::backend::cpu
