/// @file metrics/roc.hpp
/// @brief Event-weighted ROC curve, AUC and working points (signal efficiency vs background rejection).
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cstddef>
#include <limits>
#include <numeric>
#include <span>
#include <utility>
#include <vector>

#include "hepnn/metrics/check.hpp"

namespace hepnn::inline HEPNN_ABI::metrics {

/// Points of a ROC curve, ordered by decreasing threshold; point k selects events with score >= thresholds[k].
struct RocCurve {
  std::vector<double> fpr, tpr, thresholds;
};

namespace detail {

/// Unnormalised ROC curve: cumulative background (fp) and signal (tp) weight above each distinct score, highest
/// score first, preceded by the empty selection at +infinity.
struct RocSums {
  std::vector<double> fp, tp, thresholds;
};

template <class T>
RocSums roc_sums(const char* who, std::span<const T> scores, std::span<const T> labels, std::span<const T> weights) {
  check_events(who, scores, "scores", labels, "labels", weights);
  check_binary_labels(who, labels);
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  RocSums s{{0.0}, {0.0}, {std::numeric_limits<double>::infinity()}};
  double fp = 0, tp = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::size_t i = order[k];
    (labels[i] == T(1) ? tp : fp) += weight_at(weights, i);
    // A point only after the last event of a tie group: a cut cannot separate equal scores.
    if (k + 1 == order.size() || scores[order[k + 1]] != scores[i]) {
      s.fp.push_back(fp);
      s.tp.push_back(tp);
      s.thresholds.push_back(double(scores[i]));
    }
  }
  HEPNN_CHECK(tp > 0, who, ": the signal (label 1) weights sum to ", tp, "; it must be positive");
  HEPNN_CHECK(fp > 0, who, ": the background (label 0) weights sum to ", fp, "; it must be positive");
  return s;
}

template <class T>
RocCurve roc_points(const char* who, std::span<const T> scores, std::span<const T> labels, std::span<const T> weights) {
  auto s = roc_sums(who, scores, labels, weights);
  // The totals are the last cumulative sums themselves, so the curve ends at exactly (1, 1).
  const double Wb = s.fp.back(), Ws = s.tp.back();
  for (auto& v : s.fp) v /= Wb;
  for (auto& v : s.tp) v /= Ws;
  return {std::move(s.fp), std::move(s.tp), std::move(s.thresholds)};
}

}  // namespace detail

/// The weighted ROC curve, one point per distinct score.
/// requires: equal non-empty lengths (weights may be empty), finite values, labels 0/1, positive signal and
///           background weight totals.
/// ensures: first point (0, 0) at threshold +infinity, last point exactly (1, 1) at the lowest score, thresholds
///          strictly decreasing; fpr and tpr non-decreasing when weights are non-negative (negative weights may make
///          them dip or leave [0, 1]).
template <class T>
RocCurve roc_curve(std::span<const T> scores, EventSpan<T> labels, EventSpan<T> weights = {}) {
  return detail::roc_points("roc_curve", scores, labels, weights);
}

/// Weighted area under the ROC curve by trapezoids, i.e. the weighted probability that a signal event outscores a
/// background event with ties counting 1/2 (sklearn roc_auc_score with sample_weight). O(n log n).
/// requires: as roc_curve.
/// ensures: in [0, 1] when weights are non-negative.
template <class T>
double auc(std::span<const T> scores, EventSpan<T> labels, EventSpan<T> weights = {}) {
  const auto s = detail::roc_sums("auc", scores, labels, weights);
  double area = 0;  // in units of Wb * Ws, normalised once at the end
  for (std::size_t k = 1; k < s.fp.size(); ++k) area += (s.fp[k] - s.fp[k - 1]) * (s.tp[k] + s.tp[k - 1]);
  return area / (2 * s.fp.back() * s.tp.back());
}

/// Signal efficiency (tpr) at background efficiency 1 - background_rejection, linearly interpolated on the ROC curve.
/// Where the curve is vertical at that fpr the highest tpr is taken (the best working point); with negative weights
/// the first crossing in decreasing threshold is used.
/// requires: as roc_curve; background_rejection in [0, 1].
template <class T>
double signal_efficiency_at_rejection(std::span<const T> scores, EventSpan<T> labels, EventSpan<T> weights,
                                      double background_rejection) {
  constexpr const char* who = "signal_efficiency_at_rejection";
  HEPNN_CHECK(background_rejection >= 0 && background_rejection <= 1, who, ": background_rejection ",
              background_rejection, " is outside [0, 1]");
  const auto c = detail::roc_points(who, scores, labels, weights);
  const double f = 1 - background_rejection;
  // First point beyond the target; the one before it is at or below it (fpr[0] = 0 <= f).
  const auto k = static_cast<std::size_t>(std::find_if(c.fpr.begin(), c.fpr.end(), [f](double x) { return x > f; }) -
                                          c.fpr.begin());
  if (k == c.fpr.size()) return c.tpr.back();
  const double t = (f - c.fpr[k - 1]) / (c.fpr[k] - c.fpr[k - 1]);
  return c.tpr[k - 1] + t * (c.tpr[k] - c.tpr[k - 1]);
}

/// Background rejection 1 - fpr at signal efficiency (tpr) signal_efficiency, linearly interpolated on the ROC curve.
/// Where the curve is horizontal at that tpr the lowest fpr is taken (the best working point); with negative weights
/// the first crossing in decreasing threshold is used.
/// requires: as roc_curve; signal_efficiency in [0, 1].
template <class T>
double background_rejection_at_efficiency(std::span<const T> scores, EventSpan<T> labels, EventSpan<T> weights,
                                          double signal_efficiency) {
  constexpr const char* who = "background_rejection_at_efficiency";
  HEPNN_CHECK(signal_efficiency >= 0 && signal_efficiency <= 1, who, ": signal_efficiency ", signal_efficiency,
              " is outside [0, 1]");
  const auto c = detail::roc_points(who, scores, labels, weights);
  const double e = signal_efficiency;
  // First point reaching the target; it exists because the curve ends at tpr = 1.
  const auto k = static_cast<std::size_t>(std::find_if(c.tpr.begin(), c.tpr.end(), [e](double x) { return x >= e; }) -
                                          c.tpr.begin());
  if (k == 0) return 1.0;
  const double t = (e - c.tpr[k - 1]) / (c.tpr[k] - c.tpr[k - 1]);
  return 1 - (c.fpr[k - 1] + t * (c.fpr[k] - c.fpr[k - 1]));
}

}  // namespace hepnn::metrics
