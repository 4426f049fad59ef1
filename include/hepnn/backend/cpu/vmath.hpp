/// @file backend/cpu/vmath.hpp
/// @brief Vectorised activation functions on the CPU.
///
/// In float, the transcendental activations (tanh, sigmoid, ELU, SELU, softplus) go through
/// Eigen's SIMD implementations of tanh, exp, expm1 and log1p: the compiler cannot vectorise
/// calls to std::tanh or std::exp, and one scalar tanh costs about as much as 30 multiply-adds,
/// which made the activations, not the matrix products, the bulk of small networks' time.
/// The results agree with the std:: functions to a few float ulps (tests/ops/test_vmath.cpp).
/// In double, where hepnn runs gradient checks and accuracy matters more than speed, every
/// function stays the scalar std:: one (act::forward in ops/activation_kind.hpp).
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "hepnn/backend/cpu/eigen.hpp"

#include "hepnn/ops/activation_kind.hpp"

namespace hepnn::backend::cpu::inline HEPNN_ABI {

namespace detail {
/// y = f(x) for the float transcendental activations on one block of `lanes` values, entirely
/// in SIMD packets (a fixed-size, aligned Eigen array), so that every value gets the same
/// instruction sequence: the result depends on x alone, not on its position in the buffer or
/// on the buffer's length (Eigen's dynamic-size loops finish with scalar std:: calls, which
/// round differently).
inline constexpr int vm_lanes = 16;
/// The expressions, for a fixed-size block X (an aligned array or an unaligned map) into Y.
/// Branch-free, without select(): Eigen 3.4 evaluates select() one coefficient at a time, so an
/// expression holding one ran entirely as scalar std::exp calls (sigmoid 6.5x slower on AVX-512
/// than this, measured 2026-12-07). Clamping the arguments keeps exp, expm1 and log1p in range;
/// what the clamps change in the far tails is below 1e-37, where the C library's values are
/// themselves denormal or 0.
template <class In, class Out>
inline bool float_expr(Activation a, float alpha, const In& X, Out&& Y) {
  switch (a) {
    case Activation::tanh: Y = X.tanh(); return true;
    // 1 / (1 + e^-x); Eigen's exp stops at e^88, so x below -88 gives sigmoid(-88) = 6e-39
    case Activation::sigmoid: Y = (1.0f + (-X.max(-88.0f)).exp()).inverse(); return true;
    // x > 0: x; else alpha (e^x - 1), as max(x, 0) + alpha expm1(min(x, 0)); max(., -80) keeps
    // expm1 in its range
    case Activation::elu: Y = X.max(0.0f) + alpha * X.min(0.0f).max(-80.0f).expm1(); return true;
    case Activation::selu:
      Y = float(act::selu_scale) * (X.max(0.0f) + float(act::selu_alpha) * X.min(0.0f).max(-80.0f).expm1());
      return true;
    // max(x, 0) + log1p(e^-|x|); past |x| = 87 the second term is below float resolution next to
    // |x| (and Eigen's exp stops at e^-88), so |x| is clamped there
    case Activation::softplus: Y = X.max(0.0f) + (-X.abs().min(87.0f)).exp().log1p(); return true;
    default: return false;
  }
}

/// One block of `count` <= vm_lanes values: full blocks straight from memory, a shorter one
/// through an aligned, zero-padded copy (the same packet instructions either way).
inline bool float_block(Activation a, float alpha, const float* x, float* y, int count) {
  using A = Eigen::Array<float, vm_lanes, 1>;
  if (count == vm_lanes) {
    alignas(64) A Y;  // x and y may be the same buffer: evaluate into a temporary first
    if (!float_expr(a, alpha, Eigen::Map<const A>(x), Y)) return false;
    Eigen::Map<A> out(y);
    out = Y;
    return true;
  }
  alignas(64) A X, Y;
  for (int i = 0; i < count; ++i) X[i] = x[i];
  for (int i = count; i < vm_lanes; ++i) X[i] = 0.0f;
  if (!float_expr(a, alpha, X, Y)) return false;
  for (int i = 0; i < count; ++i) y[i] = Y[i];
  return true;
}
}  // namespace detail

/// y = act(x) for n elements, one thread; x and y may be the same buffer.
template <class T>
void activation_block(Activation a, T alpha, std::int64_t n, const T* x, T* y) {
  if constexpr (std::is_same_v<T, float>) {
    if (a == Activation::tanh || a == Activation::sigmoid || a == Activation::elu || a == Activation::selu ||
        a == Activation::softplus) {
      for (std::int64_t i = 0; i < n; i += detail::vm_lanes)
        detail::float_block(a, alpha, x + i, y + i, int(std::min<std::int64_t>(detail::vm_lanes, n - i)));
      return;
    }
  }
  switch (a) {  // one loop per kind, so each loop body is branch-free and vectorisable
#define HEPNN_ACT_CASE(kind) \
  case Activation::kind:     \
    for (std::int64_t i = 0; i < n; ++i) y[i] = act::forward(Activation::kind, alpha, x[i]); \
    break;
    HEPNN_ACT_CASE(linear) HEPNN_ACT_CASE(relu) HEPNN_ACT_CASE(leaky_relu) HEPNN_ACT_CASE(elu)
    HEPNN_ACT_CASE(selu) HEPNN_ACT_CASE(tanh) HEPNN_ACT_CASE(sigmoid) HEPNN_ACT_CASE(softplus) HEPNN_ACT_CASE(gelu)
#undef HEPNN_ACT_CASE
  }
}

/// dx = dy * act'(x), using y = act(x) where cheaper, n elements, one thread; dx may alias dy.
template <class T>
void activation_backward_block(Activation a, T alpha, std::int64_t n, const T* x, const T* y, const T* dy, T* dx) {
  if constexpr (std::is_same_v<T, float>) {
    if (a == Activation::softplus) {  // softplus' = sigmoid(x), through the same SIMD sigmoid
      float s[detail::vm_lanes];
      for (std::int64_t i = 0; i < n; i += detail::vm_lanes) {
        const int c = int(std::min<std::int64_t>(detail::vm_lanes, n - i));
        detail::float_block(Activation::sigmoid, 0.0f, x + i, s, c);
        for (int k = 0; k < c; ++k) dx[i + k] = dy[i + k] * s[k];
      }
      return;
    }
  }
  switch (a) {
#define HEPNN_ACT_CASE(kind) \
  case Activation::kind:     \
    for (std::int64_t i = 0; i < n; ++i) dx[i] = dy[i] * act::derivative(Activation::kind, alpha, x[i], y[i]); \
    break;
    HEPNN_ACT_CASE(linear) HEPNN_ACT_CASE(relu) HEPNN_ACT_CASE(leaky_relu) HEPNN_ACT_CASE(elu)
    HEPNN_ACT_CASE(selu) HEPNN_ACT_CASE(tanh) HEPNN_ACT_CASE(sigmoid) HEPNN_ACT_CASE(softplus) HEPNN_ACT_CASE(gelu)
#undef HEPNN_ACT_CASE
  }
}

/// r = sqrt(x) for n elements, correctly rounded (the same bits as std::sqrt), vectorised with
/// the AVX square-root instruction where the compiler targets AVX. (std::sqrt may set errno, so
/// compilers do not vectorise it; Eigen's sqrt is an approximation under EIGEN_FAST_MATH.)
template <class T>
void sqrt_block(std::int64_t n, const T* x, T* r) {
  std::int64_t i = 0;
#if defined(__AVX__)
  if constexpr (std::is_same_v<T, float>)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(r + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
  else
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(r + i, _mm256_sqrt_pd(_mm256_loadu_pd(x + i)));
#endif
  for (; i < n; ++i) r[i] = std::sqrt(x[i]);
}

/// The sum of x (or of its squares) in double, one thread: 8 partial sums, each of every 8th
/// element, so the loop vectorises without reordering any one sum; the result depends on n and
/// x only.
template <class T>
double sum_block(std::int64_t n, const T* x, bool squares) {
  double acc[8] = {};
  std::int64_t i = 0;
  if (squares) {
    for (; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; ++j) acc[j] += double(x[i + j]) * double(x[i + j]);
    for (; i < n; ++i) acc[0] += double(x[i]) * double(x[i]);
  } else {
    for (; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; ++j) acc[j] += double(x[i + j]);
    for (; i < n; ++i) acc[0] += double(x[i]);
  }
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

}  // namespace hepnn::backend::cpu
