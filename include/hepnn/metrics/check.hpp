/// @file metrics/check.hpp
/// @brief Input validation shared by the event-weighted metrics.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>

#include "hepnn/core/error.hpp"

namespace hepnn::inline HEPNN_ABI::metrics {

/// A per-event input whose element type follows the first (scores/predictions) argument, so that T is deduced
/// from one span only and the others may be passed as std::span<T>, braces or `{}`.
template <class T>
using EventSpan = std::type_identity_t<std::span<const T>>;

namespace detail {

/// Weight of event i; an empty weight span means every event weighs 1.
template <class T>
double weight_at(std::span<const T> w, std::size_t i) {
  return w.empty() ? 1.0 : double(w[i]);
}

template <class T>
void check_finite(const char* who, std::span<const T> v, const char* name) {
  for (std::size_t i = 0; i < v.size(); ++i)
    HEPNN_CHECK(std::isfinite(v[i]), who, ": ", name, "[", i, "] is ", v[i], "; expected a finite value");
}

/// The contract every per-event metric shares: equal lengths, at least one event, finite values.
template <class T>
void check_events(const char* who, std::span<const T> x, const char* x_name, std::span<const T> y, const char* y_name,
                  std::span<const T> w) {
  HEPNN_CHECK(x.size() == y.size(), who, ": ", x.size(), " ", x_name, " but ", y.size(), " ", y_name);
  HEPNN_CHECK(w.empty() || w.size() == x.size(), who, ": ", x.size(), " ", x_name, " but ", w.size(), " weights");
  HEPNN_CHECK(!x.empty(), who, ": empty input");
  check_finite(who, x, x_name);
  check_finite(who, y, y_name);
  check_finite(who, w, "weights");
}

template <class T>
void check_binary_labels(const char* who, std::span<const T> labels) {
  for (std::size_t i = 0; i < labels.size(); ++i)
    HEPNN_CHECK(labels[i] == T(0) || labels[i] == T(1), who, ": labels[", i, "] is ", labels[i], "; expected 0 or 1");
}

/// Negative weights are legal (NLO Monte Carlo), so only an exactly vanishing normaliser is an error.
inline double nonzero_total(const char* who, double total) {
  HEPNN_CHECK(total != 0, who, ": the event weights sum to 0; the metric is undefined");
  return total;
}

}  // namespace detail
}  // namespace hepnn::metrics
