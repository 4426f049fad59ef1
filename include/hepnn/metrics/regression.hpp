/// @file metrics/regression.hpp
/// @brief Event-weighted regression metrics (MSE, MAE, R^2) and binary log loss.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>

#include "hepnn/metrics/check.hpp"

namespace hepnn::inline HEPNN_ABI::metrics {

namespace detail {

/// sum_i w_i f(pred_i, target_i) / sum_i w_i of already validated inputs.
template <class T, class F>
double weighted_mean(const char* who, std::span<const T> pred, std::span<const T> target, std::span<const T> weights,
                     F f) {
  double sum = 0, total = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    const double w = weight_at(weights, i);
    sum += w * f(double(pred[i]), double(target[i]));
    total += w;
  }
  return sum / nonzero_total(who, total);
}

}  // namespace detail

/// Weighted mean squared error.
/// requires: equal non-empty lengths (weights may be empty), finite values, weights not summing to 0.
template <class T>
double mse(std::span<const T> pred, EventSpan<T> target, EventSpan<T> weights = {}) {
  detail::check_events("mse", pred, "predictions", target, "targets", weights);
  return detail::weighted_mean("mse", pred, target, weights, [](double p, double y) { return (p - y) * (p - y); });
}

/// Weighted mean absolute error.
/// requires: as mse.
template <class T>
double mae(std::span<const T> pred, EventSpan<T> target, EventSpan<T> weights = {}) {
  detail::check_events("mae", pred, "predictions", target, "targets", weights);
  return detail::weighted_mean("mae", pred, target, weights, [](double p, double y) { return std::abs(p - y); });
}

/// Weighted coefficient of determination 1 - sum w (y - p)^2 / sum w (y - ybar_w)^2.
/// requires: as mse; the weighted variance of the targets is nonzero.
/// ensures: 1 for a perfect prediction, 0 for predicting the weighted mean.
template <class T>
double r2(std::span<const T> pred, EventSpan<T> target, EventSpan<T> weights = {}) {
  constexpr const char* who = "r2";
  detail::check_events(who, pred, "predictions", target, "targets", weights);
  const double residual =
      detail::weighted_mean(who, pred, target, weights, [](double p, double y) { return (p - y) * (p - y); });
  // The mean is taken relative to a target of nonzero weight so that constant targets give exactly 0 variance
  // instead of rounding noise.
  std::size_t ref = 0;
  while (ref + 1 < target.size() && detail::weight_at(weights, ref) == 0) ++ref;
  const double y0 = double(target[ref]);
  const double shift = detail::weighted_mean(who, target, target, weights, [y0](double y, double) { return y - y0; });
  const double ybar = y0 + shift;
  const double variance =
      detail::weighted_mean(who, target, target, weights, [ybar](double y, double) { return (y - ybar) * (y - ybar); });
  HEPNN_CHECK(variance != 0, who, ": the weighted variance of the targets is 0; R^2 is undefined");
  return 1 - residual / variance;
}

/// Weighted mean binary cross-entropy -(y log p + (1 - y) log(1 - p)), with p clipped to [eps, 1 - eps] so that
/// confident mistakes cost -log(eps) instead of infinity.
/// requires: as mse; probabilities in [0, 1]; labels 0/1; eps in (0, 0.5).
template <class T>
double log_loss(std::span<const T> probs, EventSpan<T> labels, EventSpan<T> weights = {}, double eps = 1e-7) {
  constexpr const char* who = "log_loss";
  HEPNN_CHECK(eps > 0 && eps < 0.5, who, ": eps ", eps, " is outside (0, 0.5)");
  detail::check_events(who, probs, "probabilities", labels, "labels", weights);
  detail::check_binary_labels(who, labels);
  for (std::size_t i = 0; i < probs.size(); ++i)
    HEPNN_CHECK(probs[i] >= T(0) && probs[i] <= T(1), who, ": probabilities[", i, "] is ", probs[i],
                "; expected a probability in [0, 1] (logits passed by mistake?)");
  return detail::weighted_mean(who, probs, labels, weights, [eps](double p, double y) {
    p = std::clamp(p, eps, 1 - eps);
    return -(y * std::log(p) + (1 - y) * std::log(1 - p));
  });
}

}  // namespace hepnn::metrics
