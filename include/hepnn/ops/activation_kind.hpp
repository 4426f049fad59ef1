/// @file ops/activation_kind.hpp
/// @brief The element-wise activation functions, shared by every backend.
#pragma once
#include <cmath>
#include <string>

#include "hepnn/core/device.hpp"
#include "hepnn/core/error.hpp"

namespace hepnn {

enum class Activation { linear, relu, leaky_relu, elu, selu, tanh, sigmoid, softplus, gelu };

inline std::string to_string(Activation a) {
  switch (a) {
    case Activation::linear: return "linear";
    case Activation::relu: return "relu";
    case Activation::leaky_relu: return "leaky_relu";
    case Activation::elu: return "elu";
    case Activation::selu: return "selu";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
    case Activation::softplus: return "softplus";
    case Activation::gelu: return "gelu";
  }
  return "?";
}

inline Activation activation_from_string(const std::string& s) {
  for (Activation a : {Activation::linear, Activation::relu, Activation::leaky_relu, Activation::elu, Activation::selu,
                       Activation::tanh, Activation::sigmoid, Activation::softplus, Activation::gelu})
    if (to_string(a) == s) return a;
  throw Error("unknown activation '" + s + "'");
}

/// The default parameter of each activation: LeakyReLU slope 0.01 (as PyTorch), ELU scale 1.
inline double default_alpha(Activation a) { return a == Activation::elu ? 1.0 : 0.01; }

namespace act {
// SELU constants (Klambauer et al. 2017), as in Keras and PyTorch.
inline constexpr double selu_alpha = 1.6732632423543772848170429916717;
inline constexpr double selu_scale = 1.0507009873554804934193349852946;

// One function pair per activation: forward y(x), and dy/dx from x and y (whichever is cheaper).
template <class T> HEPNN_HOST_DEVICE inline T sigmoid(T x) {
  // Stable for large |x|: never exponentiates a large positive number.
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}
template <class T> HEPNN_HOST_DEVICE inline T softplus(T x) {
  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|)
  return (x > T(0) ? x : T(0)) + std::log1p(std::exp(-std::abs(x)));
}
template <class T> HEPNN_HOST_DEVICE inline T forward(Activation a, T alpha, T x) {
  switch (a) {
    case Activation::linear: return x;
    case Activation::relu: return x > T(0) ? x : T(0);
    case Activation::leaky_relu: return x > T(0) ? x : alpha * x;
    case Activation::elu: return x > T(0) ? x : alpha * std::expm1(x);
    case Activation::selu: return T(selu_scale) * (x > T(0) ? x : T(selu_alpha) * std::expm1(x));
    case Activation::tanh: return std::tanh(x);
    case Activation::sigmoid: return sigmoid(x);
    case Activation::softplus: return softplus(x);
    case Activation::gelu: return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
  }
  return x;
}
template <class T> HEPNN_HOST_DEVICE inline T derivative(Activation a, T alpha, T x, T y) {
  switch (a) {
    case Activation::linear: return T(1);
    case Activation::relu: return x > T(0) ? T(1) : T(0);
    case Activation::leaky_relu: return x > T(0) ? T(1) : alpha;
    case Activation::elu: return x > T(0) ? T(1) : y + alpha;
    case Activation::selu: return x > T(0) ? T(selu_scale) : y + T(selu_scale * selu_alpha);
    case Activation::tanh: return T(1) - y * y;
    case Activation::sigmoid: return y * (T(1) - y);
    case Activation::softplus: return sigmoid(x);
    case Activation::gelu: {
      const T cdf = T(0.5) * (T(1) + std::erf(x * T(0.70710678118654752440)));
      const T pdf = T(0.39894228040143267794) * std::exp(T(-0.5) * x * x);
      return cdf + x * pdf;
    }
  }
  return T(1);
}
}  // namespace act

}  // namespace hepnn
