/// @file metrics/accuracy.hpp
/// @brief Event-weighted binary and categorical accuracy.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>

#include "hepnn/metrics/check.hpp"

namespace hepnn::inline HEPNN_ABI::metrics {

/// Weighted fraction of events whose predicted class (score >= threshold) equals the label.
/// requires: equal non-empty lengths (weights may be empty), finite values, labels 0/1, weights not summing to 0.
/// ensures: sum w [correct] / sum w; in [0, 1] when weights are non-negative.
template <class T>
double accuracy_binary(std::span<const T> scores, EventSpan<T> labels, EventSpan<T> weights = {},
                       double threshold = 0.5) {
  constexpr const char* who = "accuracy_binary";
  detail::check_events(who, scores, "scores", labels, "labels", weights);
  detail::check_binary_labels(who, labels);
  HEPNN_CHECK(!std::isnan(threshold), who, ": threshold is NaN");
  double correct = 0, total = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const double w = detail::weight_at(weights, i);
    total += w;
    if ((double(scores[i]) >= threshold) == (labels[i] == T(1))) correct += w;
  }
  return correct / detail::nonzero_total(who, total);
}

/// Weighted fraction of rows whose argmax (first maximum on ties) is the true class.
/// scores: row-major (n, num_classes). labels: n class indices stored as T, or n * num_classes one-hot /
/// probability values whose row argmax is the true class (with num_classes == 1 they are read as indices).
/// requires: num_classes >= 1, n >= 1, finite values, integral labels in [0, num_classes), weights not summing to 0.
/// ensures: sum w [argmax(score row) == class] / sum w.
template <class T>
double accuracy_categorical(std::span<const T> scores, std::int64_t num_classes, EventSpan<T> labels,
                            EventSpan<T> weights = {}) {
  constexpr const char* who = "accuracy_categorical";
  HEPNN_CHECK(num_classes >= 1, who, ": num_classes is ", num_classes, "; it must be at least 1");
  const auto C = static_cast<std::size_t>(num_classes);
  HEPNN_CHECK(scores.size() % C == 0, who, ": ", scores.size(), " scores do not form rows of ", C, " classes");
  const std::size_t n = scores.size() / C;
  const bool one_hot = C > 1 && labels.size() == n * C;
  HEPNN_CHECK(labels.size() == n || one_hot, who, ": ", n, " rows of scores but ", labels.size(), " labels (expected ",
              n, " class indices or ", n * C, " one-hot values)");
  HEPNN_CHECK(weights.empty() || weights.size() == n, who, ": ", n, " rows of scores but ", weights.size(), " weights");
  HEPNN_CHECK(n > 0, who, ": empty input");
  detail::check_finite(who, scores, "scores");
  detail::check_finite(who, labels, "labels");
  detail::check_finite(who, weights, "weights");
  const auto argmax = [C](std::span<const T> v, std::size_t row) {
    const auto r = v.subspan(row * C, C);
    return static_cast<std::size_t>(std::max_element(r.begin(), r.end()) - r.begin());
  };
  double correct = 0, total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t truth;
    if (one_hot) {
      truth = argmax(labels, i);
    } else {
      const T y = labels[i];
      HEPNN_CHECK(y >= T(0) && y < T(C) && y == std::floor(y), who, ": labels[", i, "] is ", y,
                  "; expected a class index in [0, ", C, ")");
      truth = static_cast<std::size_t>(y);
    }
    const double w = detail::weight_at(weights, i);
    total += w;
    if (argmax(scores, i) == truth) correct += w;
  }
  return correct / detail::nonzero_total(who, total);
}

}  // namespace hepnn::metrics
