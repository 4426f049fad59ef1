/// @file train/metric_spec.hpp
/// @brief Metrics that compile() accepts, evaluated on the event-weighted predictions of an epoch.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "hepnn/core/registry.hpp"
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

/// What a custom metric sees: every event of the data set at once, in double precision.
struct MetricInput {
  std::span<const double> scores;   ///< events x outputs, row-major: probabilities when the loss works on logits
  std::int64_t outputs = 0;         ///< scores per event
  std::span<const double> targets;  ///< events x target_cols, row-major
  std::int64_t target_cols = 0;    ///< target columns per event
  std::span<const double> weights;  ///< one event weight per event (negative ones too)
  std::int64_t events() const { return std::int64_t(weights.size()); }
};

/// A user-defined metric: `compute` returns one number for a whole data set. It appears in the
/// logs, History and callbacks under `name` (and `val_<name>` on validation data). Callbacks in
/// mode "auto" maximise it when `higher_is_better`. Model files record the name and `params`;
/// loading one needs `register_metric(name, ...)` in the loading program.
struct CustomMetric {
  std::string name;                                        ///< the log key (and val_<name>)
  std::function<double(const MetricInput&)> compute = {};  ///< one number for the whole data set
  bool higher_is_better = true;                            ///< for callbacks in mode "auto"
  std::map<std::string, double> params = {};               ///< recorded in model files
};

using MetricSpec = std::variant<Accuracy, AUC, SignalEfficiency, MeanSquaredError, MeanAbsoluteError, R2, LogLoss,
                                CustomMetric>;

namespace detail {
using MetricFactory = std::function<CustomMetric(const std::map<std::string, double>&)>;
inline hepnn::detail::NamedFactories<CustomMetric>& metric_registry() {
  static hepnn::detail::NamedFactories<CustomMetric> r;
  return r;
}
inline std::mutex& metric_directions_mutex() {
  static std::mutex m;
  return m;
}
/// The direction of every custom metric a model was compiled with (for callbacks in mode "auto").
inline std::map<std::string, bool>& metric_directions() {
  static std::map<std::string, bool> r;
  return r;
}
}  // namespace detail

/// Makes a custom metric known by name, so that load_model can rebuild it from `params`.
inline void register_metric(const std::string& name, detail::MetricFactory make) {
  HEPNN_CHECK(!name.empty() && bool(make), "register_metric: give a name and a factory");
  detail::metric_registry().add(name, std::move(make));
}

/// The registered custom metric `name` with `params`; an error naming it when it is not registered.
inline CustomMetric make_registered_metric(const std::string& name, const std::map<std::string, double>& params) {
  return detail::metric_registry().make(name, params, "custom metric", "hepnn::metrics::register_metric");
}

/// Whether a log key names a custom metric that is better when higher (nullopt: not a custom metric).
inline std::optional<bool> custom_metric_maximises(const std::string& key) {
  const std::string k = key.rfind("val_", 0) == 0 ? key.substr(4) : key;
  const std::lock_guard<std::mutex> lock(detail::metric_directions_mutex());
  const auto it = detail::metric_directions().find(k);
  if (it == detail::metric_directions().end()) return std::nullopt;
  return it->second;
}

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
    std::string operator()(const CustomMetric& c) const { return c.name; }
  };
  return std::visit(V{}, m);
}

/// Checks a list of metrics before training: custom ones complete, no two with the same log key,
/// none named like the loss; records the custom metrics' directions for callbacks.
inline void validate_metrics(const std::vector<MetricSpec>& ms) {
  std::map<std::string, int> seen;
  for (const auto& m : ms) {
    const std::string n = metric_name(m);
    if (const auto* c = std::get_if<CustomMetric>(&m)) {
      HEPNN_CHECK(!c->name.empty() && bool(c->compute), "CustomMetric '", c->name, "': give a name and a compute function");
      HEPNN_CHECK(n != "loss" && n != "lr" && n.rfind("val_", 0) != 0, "CustomMetric '", n,
                  "': the names 'loss', 'lr' and 'val_...' are taken by the logs");
      const std::lock_guard<std::mutex> lock(detail::metric_directions_mutex());
      detail::metric_directions()[n] = c->higher_is_better;
    }
    HEPNN_CHECK(++seen[n] == 1, "compile: two metrics log under the name '", n, "'");
  }
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
        } else if constexpr (std::is_same_v<M, CustomMetric>) {
          const std::vector<double> sd(s.begin(), s.end()), td(t.begin(), t.end()), wd(w.begin(), w.end());
          const double v = spec.compute(MetricInput{sd, c, td, tc, wd});
          return v;
        } else {
          need_one_output("log_loss");
          return log_loss(s, t, w);
        }
      },
      m);
}

}  // namespace hepnn::metrics
