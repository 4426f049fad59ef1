/// @file tests/support/reference.hpp
/// @brief Independent reference formulas for the tests: the activations and their derivatives
/// written out naively in double (accurate for the moderate |x| the tests use them at), and
/// convolution geometries built directly from their sizes.
#pragma once
#include <cmath>
#include <cstdint>

#include "hepnn/ops/activation_kind.hpp"
#include "hepnn/ops/conv_geometry.hpp"

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

/// The geometry of a KH x KW window over (C, H, W) images with F filters: stride S and dilation D
/// on both axes, padding pt on top and bottom and pl left and right.
inline Conv2DGeometry geometry(std::int64_t C, std::int64_t H, std::int64_t W, std::int64_t F, std::int64_t KH,
                               std::int64_t KW, std::int64_t S, std::int64_t D, std::int64_t pt, std::int64_t pl) {
  Conv2DGeometry g;
  g.C = C, g.H = H, g.W = W, g.F = F, g.KH = KH, g.KW = KW, g.SH = S, g.SW = S, g.DH = D, g.DW = D;
  g.PT = g.PB = pt;
  g.PL = g.PR = pl;
  g.OH = Conv2DGeometry::output_extent(H, KH, S, D, 2 * pt);
  g.OW = Conv2DGeometry::output_extent(W, KW, S, D, 2 * pl);
  return g;
}

}  // namespace hepnn::test
