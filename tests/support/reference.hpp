/// @file tests/support/reference.hpp
/// @brief Independent reference formulas for the tests: the activations and their derivatives
/// written out naively in double (accurate for the moderate |x| the tests use them at).
#pragma once
#include <cmath>

#include "hepnn/ops/activation_kind.hpp"

namespace hepnn::test {

// The SELU constants of Klambauer et al. (2017), and their product.
inline constexpr double selu_lambda = 1.0507009873554804934;
inline constexpr double selu_alpha = 1.6732632423543772848;
inline constexpr double selu_lambda_alpha = 1.7580993408473768599;

/// The activations written out naively in double (accurate for the moderate |x| used with them).
inline double ref_forward(Activation a, double alpha, double x) {
  switch (a) {
    case Activation::linear: return x;
    case Activation::relu: return x > 0 ? x : 0.0;
    case Activation::leaky_relu: return x > 0 ? x : alpha * x;
    case Activation::elu: return x > 0 ? x : alpha * (std::exp(x) - 1.0);
    case Activation::selu: return x > 0 ? selu_lambda * x : selu_lambda_alpha * (std::exp(x) - 1.0);
    case Activation::tanh: return (std::exp(2 * x) - 1.0) / (std::exp(2 * x) + 1.0);
    case Activation::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case Activation::softplus: return std::log(1.0 + std::exp(x));
    case Activation::gelu: return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
  }
  return 0;
}

/// Their derivatives, also written out.
inline double ref_derivative(Activation a, double alpha, double x) {
  const double pi = 3.14159265358979323846;
  switch (a) {
    case Activation::linear: return 1;
    case Activation::relu: return x > 0 ? 1.0 : 0.0;
    case Activation::leaky_relu: return x > 0 ? 1.0 : alpha;
    case Activation::elu: return x > 0 ? 1.0 : alpha * std::exp(x);
    case Activation::selu: return x > 0 ? selu_lambda : selu_lambda_alpha * std::exp(x);
    case Activation::tanh: return 1.0 / (std::cosh(x) * std::cosh(x));
    case Activation::sigmoid: return std::exp(-x) / ((1.0 + std::exp(-x)) * (1.0 + std::exp(-x)));
    case Activation::softplus: return 1.0 / (1.0 + std::exp(-x));
    case Activation::gelu: return 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * pi);
  }
  return 0;
}

inline constexpr Activation all_activations[] = {Activation::linear, Activation::relu,     Activation::leaky_relu,
                                                 Activation::elu,    Activation::selu,     Activation::tanh,
                                                 Activation::sigmoid, Activation::softplus, Activation::gelu};

}  // namespace hepnn::test
