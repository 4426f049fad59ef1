/// @file train/metric_spec.hpp
/// @brief Metrics that compile() accepts, evaluated on the event-weighted predictions of an epoch.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "hepnn/core/tensor.hpp"
#include "hepnn/losses/loss.hpp"
#include "hepnn/metrics/metrics.hpp"
#include "hepnn/ops/activation_kind.hpp"

namespace hepnn::inline HEPNN_ABI::metrics {

/// Binary (one output, threshold on the probability) or categorical (argmax) accuracy.
struct Accuracy {
  double threshold = 0.5;
};
/// Exact weighted area under the ROC curve (one output).
struct AUC {};
/// Signal efficiency at a background rejection (1 - background efficiency), e.g. 0.99.
struct SignalEfficiency {
  double background_rejection = 0.99;
};
struct MeanSquaredError {};
struct MeanAbsoluteError {};
struct R2 {};
/// Binary log loss of the probabilities.
struct LogLoss {};

using MetricSpec = std::variant<Accuracy, AUC, SignalEfficiency, MeanSquaredError, MeanAbsoluteError, R2, LogLoss>;

inline std::string metric_name(const MetricSpec& m) {
  struct V {
    std::string operator()(const Accuracy&) const { return "accuracy"; }
    std::string operator()(const AUC&) const { return "auc"; }
    std::string operator()(const SignalEfficiency& s) const {
      char buf[48];
      std::snprintf(buf, sizeof buf, "sig_eff_at_rej_%g", s.background_rejection);
      return buf;
    }
    std::string operator()(const MeanSquaredError&) const { return "mse"; }
    std::string operator()(const MeanAbsoluteError&) const { return "mae"; }
    std::string operator()(const R2&) const { return "r2"; }
    std::string operator()(const LogLoss&) const { return "log_loss"; }
  };
  return std::visit(V{}, m);
}

/// Turns model outputs (N, C) into what metrics compare: probabilities when the loss works on
/// logits (sigmoid for one output, softmax for several), the outputs themselves otherwise.
template <class T>
std::vector<T> scores_for_metrics(const LossSpec& loss, const T* out, std::int64_t n, std::int64_t c) {
  std::vector<T> s(out, out + n * c);
  const bool logits = std::visit(
      [](const auto& l) {
        if constexpr (requires { l.from_logits; }) return l.from_logits;
        else return false;
      },
      loss);
  if (!logits) return s;
  if (c == 1) {
    for (T& v : s) v = act::sigmoid(v);
  } else {
    for (std::int64_t i = 0; i < n; ++i) {
      T* r = s.data() + i * c;
      T mx = r[0];
      for (std::int64_t k = 1; k < c; ++k) mx = std::max(mx, r[k]);
      T sum = 0;
      for (std::int64_t k = 0; k < c; ++k) sum += (r[k] = std::exp(r[k] - mx));
      for (std::int64_t k = 0; k < c; ++k) r[k] /= sum;
    }
  }
  return s;
}

/// One metric over n events: scores (n, c) as given by scores_for_metrics, targets (n, tc), weights (n).
template <class T>
double evaluate_metric(const MetricSpec& m, const std::vector<T>& scores, std::int64_t n, std::int64_t c,
                       const T* targets, std::int64_t tc, const T* weights) {
  const std::span<const T> s(scores.data(), scores.size());
  const std::span<const T> t(targets, static_cast<std::size_t>(n * tc));
  const std::span<const T> w(weights, static_cast<std::size_t>(n));
  auto need_one_output = [&](const char* who) {
    HEPNN_CHECK(c == 1 && tc == 1, "metric ", who, ": needs one output and one target column, got ", c,
                " outputs and ", tc, " target columns");
  };
  return std::visit(
      [&](const auto& spec) -> double {
        using M = std::decay_t<decltype(spec)>;
        if constexpr (std::is_same_v<M, Accuracy>) {
          return c == 1 ? accuracy_binary(s, t, w, spec.threshold) : accuracy_categorical(s, c, t, w);
        } else if constexpr (std::is_same_v<M, AUC>) {
          need_one_output("auc");
          return auc(s, t, w);
        } else if constexpr (std::is_same_v<M, SignalEfficiency>) {
          need_one_output("signal_efficiency");
          return signal_efficiency_at_rejection(s, t, w, spec.background_rejection);
        } else if constexpr (std::is_same_v<M, MeanSquaredError>) {
          return mse(s, t, w);
        } else if constexpr (std::is_same_v<M, MeanAbsoluteError>) {
          return mae(s, t, w);
        } else if constexpr (std::is_same_v<M, R2>) {
          return r2(s, t, w);
        } else {
          need_one_output("log_loss");
          return log_loss(s, t, w);
        }
      },
      m);
}

}  // namespace hepnn::metrics
