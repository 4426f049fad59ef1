/// @file losses/kl.hpp
/// @brief The KL term of a variational autoencoder: KL(N(mean, exp(log_var)) || N(0, 1)) of
/// each sample, summed over its latent dimensions,
///   KL_i = -1/2 sum_j (1 + log_var_ij - mean_ij^2 - exp(log_var_ij)),
/// and its event-weighted mean with the gradient, for your own training step
/// (docs/functional.md). GaussianSample (layers/sampling.hpp) draws the samples it goes with.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <string>
#include <type_traits>

#include "hepnn/core/error.hpp"
#include "hepnn/core/tensor.hpp"

namespace hepnn::inline HEPNN_ABI {

namespace detail {
template <class T>
void check_kl_args(const Tensor<T, cpu>& mean, const Tensor<T, cpu>& log_var, const char* who) {
  HEPNN_CHECK(mean.rank() == 2 && mean.shape() == log_var.shape(), who, ": mean and log_var must both be (events, latent), got ",
              mean.shape().str(), " and ", log_var.shape().str());
}
}  // namespace detail

/// KL_i of every sample i: a (events) tensor (an anomaly score of a VAE).
template <class T>
Tensor<T, cpu> gaussian_kl_per_sample(const Tensor<T, cpu>& mean, const Tensor<T, cpu>& log_var) {
  detail::check_kl_args(mean, log_var, "gaussian_kl_per_sample");
  const std::int64_t B = mean.shape()[0], L = mean.shape()[1];
  Tensor<T, cpu> kl(Shape{B});
  for (std::int64_t i = 0; i < B; ++i) {
    double s = 0;
    for (std::int64_t j = 0; j < L; ++j) {
      const double m = double(mean(i, j)), lv = double(log_var(i, j));
      s += 1.0 + lv - m * m - std::exp(lv);
    }
    kl(i) = T(-0.5 * s);
  }
  return kl;
}

/// The weighted mean sum_i w_i KL_i / sum_i w_i (weights: null for all ones; negative ones are
/// allowed, their sum must be positive). When dmean and dlog_var are given they receive its
/// gradient, w_i mean_ij / W and w_i (exp(log_var_ij) - 1) / (2 W) (shapes of mean).
template <class T>
double gaussian_kl(const Tensor<T, cpu>& mean, const Tensor<T, cpu>& log_var,
                   const std::type_identity_t<Tensor<T, cpu>>* weights = nullptr,
                   std::type_identity_t<Tensor<T, cpu>>* dmean = nullptr,
                   std::type_identity_t<Tensor<T, cpu>>* dlog_var = nullptr) {
  detail::check_kl_args(mean, log_var, "gaussian_kl");
  const std::int64_t B = mean.shape()[0], L = mean.shape()[1];
  HEPNN_CHECK(!weights || (weights->rank() == 1 && weights->shape()[0] == B), "gaussian_kl: weights must be (", B,
              "), got ", weights ? weights->shape().str() : std::string());
  double wsum = 0;
  for (std::int64_t i = 0; i < B; ++i) wsum += weights ? double((*weights)(i)) : 1.0;
  HEPNN_CHECK(wsum > 0, "gaussian_kl: the weights sum to ", wsum, "; the sum must be positive");
  if (dmean) *dmean = Tensor<T, cpu>(mean.shape());
  if (dlog_var) *dlog_var = Tensor<T, cpu>(mean.shape());
  const Tensor<T, cpu> kl = gaussian_kl_per_sample(mean, log_var);
  double total = 0;
  for (std::int64_t i = 0; i < B; ++i) {
    const double wi = weights ? double((*weights)(i)) : 1.0;
    total += wi * double(kl(i));
    for (std::int64_t j = 0; j < L; ++j) {
      if (dmean) (*dmean)(i, j) = T(wi * double(mean(i, j)) / wsum);
      if (dlog_var) (*dlog_var)(i, j) = T(wi * 0.5 * (std::exp(double(log_var(i, j))) - 1.0) / wsum);
    }
  }
  return total / wsum;
}

}  // namespace hepnn
