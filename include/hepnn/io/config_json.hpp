/// @file io/config_json.hpp
/// @brief JSON for what a model file records besides arrays: layer configs, the loss, the
/// optimizer (with its schedule) and the metrics. Reading checks every field and names it.
#pragma once
#include "hepnn/core/config.hpp"
#include "hepnn/io/requirements.hpp"
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "hepnn/layers/layer_config.hpp"
#include "hepnn/losses/loss.hpp"
#include "hepnn/optim/optimizer.hpp"
#include "hepnn/train/history.hpp"
#include "hepnn/train/metric_spec.hpp"

namespace hepnn::inline HEPNN_ABI::io {

using json = nlohmann::json;

namespace detail {
/// The member `key` of object j as V; `where` names the place in errors.
template <class V>
V field(const json& j, const std::string& key, const std::string& where) {
  HEPNN_CHECK(j.is_object(), where, ": expected a JSON object");
  auto it = j.find(key);
  HEPNN_CHECK(it != j.end(), where, ": field '", key, "' is missing");
  if constexpr (std::is_same_v<V, bool>) {
    HEPNN_CHECK(it->is_boolean(), where, ": field '", key, "' must be true or false");
  } else if constexpr (std::is_same_v<V, std::string>) {
    HEPNN_CHECK(it->is_string(), where, ": field '", key, "' must be a string");
  } else if constexpr (std::is_integral_v<V>) {
    HEPNN_CHECK(it->is_number_integer(), where, ": field '", key, "' must be an integer");
  } else {
    HEPNN_CHECK(it->is_number(), where, ": field '", key, "' must be a number");
  }
  return it->template get<V>();
}
}  // namespace detail

// ---- layers ----
namespace detail {
/// Integer options (units, kernel sizes) stay below 2^31, so products of a few of them cannot overflow.
inline std::int64_t bounded(const json& v, const std::string& where, const std::string& key) {
  const bool neg = v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() < 0;
  const std::int64_t x = neg ? v.get<std::int64_t>() : std::int64_t(std::min<std::uint64_t>(v.get<std::uint64_t>(), 1ull << 40));
  HEPNN_CHECK(x > -(std::int64_t(1) << 31) && x < (std::int64_t(1) << 31), where, ": option '", key, "' = ", x,
              " is out of range");
  return x;
}
}  // namespace detail

inline json to_json(const LayerConfig& c) {
  json opts = json::object();
  for (const auto& [k, v] : c.options) std::visit([&, key = k](const auto& x) { opts[key] = x; }, v);
  return json{{"type", c.type}, {"name", c.name}, {"options", opts}};
}
inline LayerConfig layer_config_from_json(const json& j, const std::string& where) {
  LayerConfig c;
  c.type = detail::field<std::string>(j, "type", where);
  c.name = detail::field<std::string>(j, "name", where);
  const std::string w = where + " ('" + c.name + "')";
  auto it = j.find("options");
  HEPNN_CHECK(it != j.end() && it->is_object(), w, ": 'options' must be an object");
  for (const auto& [k, v] : it->items()) {
    if (v.is_boolean()) c.options[k] = v.get<bool>();
    else if (v.is_number_integer()) c.options[k] = detail::bounded(v, w, k);
    else if (v.is_number()) c.options[k] = v.get<double>();
    else if (v.is_string()) c.options[k] = v.get<std::string>();
    else if (v.is_array()) {
      std::vector<std::int64_t> ints;
      for (const auto& e : v) {
        HEPNN_CHECK(e.is_number_integer(), w, ": option '", k, "' must be a list of integers");
        ints.push_back(detail::bounded(e, w, k));
      }
      c.options[k] = ints;
    } else {
      throw Error(w + ": option '" + k + "' has an unsupported kind of value");
    }
  }
  return c;
}

// ---- loss ----
inline json to_json(const LossSpec& l) {
  if (const auto* c = std::get_if<CustomLoss>(&l))
    return json{{"type", "CustomLoss"}, {"name", c->name}, {"from_logits", c->from_logits}, {"params", c->params}};
  json j{{"type", loss_name(l)}};
  std::visit(
      [&](const auto& s) {
        using S = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<S, Huber>) j["delta"] = s.delta;
        if constexpr (requires { s.from_logits; }) j["from_logits"] = s.from_logits;
        if constexpr (requires { s.soft_targets; }) j["soft_targets"] = s.soft_targets;
      },
      l);
  return j;
}
namespace detail {
/// An optional boolean field (files written before it existed lack it).
inline bool optional_bool(const json& j, const char* key, bool fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  return field<bool>(j, key, where);
}
/// The "params" object of a custom loss or metric: names to numbers.
inline std::map<std::string, double> params_from_json(const json& j, const std::string& where) {
  std::map<std::string, double> p;
  if (!j.contains("params")) return p;
  HEPNN_CHECK(j["params"].is_object(), where, ": 'params' must be an object of numbers");
  for (const auto& [k, v] : j["params"].items()) {
    HEPNN_CHECK(v.is_number(), where, ": params '", k, "' must be a number");
    p[k] = v.get<double>();
  }
  return p;
}
}  // namespace detail
inline LossSpec loss_from_json(const json& j) {
  const std::string w = "training_config.loss";
  const auto type = detail::field<std::string>(j, "type", w);
  if (type == "MeanSquaredError") return MeanSquaredError{};
  if (type == "MeanAbsoluteError") return MeanAbsoluteError{};
  if (type == "Huber") return Huber{detail::field<double>(j, "delta", w)};
  if (type == "BinaryCrossEntropy")
    return BinaryCrossEntropy{detail::field<bool>(j, "from_logits", w), detail::optional_bool(j, "soft_targets", false, w)};
  if (type == "CategoricalCrossEntropy")
    return CategoricalCrossEntropy{detail::field<bool>(j, "from_logits", w),
                                   detail::optional_bool(j, "soft_targets", false, w)};
  if (type == "CustomLoss") {
    CustomLoss c = make_registered_loss(detail::field<std::string>(j, "name", w), detail::params_from_json(j, w));
    c.from_logits = detail::optional_bool(j, "from_logits", c.from_logits, w);
    return c;
  }
  throw Error(w + ": unknown loss '" + type + "'");
}

// ---- schedules and optimizers ----
inline json to_json(const Schedule& s) {
  struct V {
    json operator()(const ConstantLR&) const { return {{"type", "ConstantLR"}}; }
    json operator()(const StepDecay& d) const { return {{"type", "StepDecay"}, {"step_size", d.step_size}, {"gamma", d.gamma}}; }
    json operator()(const ExponentialDecay& d) const {
      return {{"type", "ExponentialDecay"}, {"decay_steps", d.decay_steps}, {"decay_rate", d.decay_rate},
              {"staircase", d.staircase}};
    }
    json operator()(const CosineDecay& d) const {
      return {{"type", "CosineDecay"}, {"decay_steps", d.decay_steps}, {"alpha", d.alpha}};
    }
  };
  return std::visit(V{}, s);
}
inline Schedule schedule_from_json(const json& j) {
  const std::string w = "training_config.optimizer.schedule";
  const auto type = detail::field<std::string>(j, "type", w);
  if (type == "ConstantLR") return ConstantLR{};
  if (type == "StepDecay")
    return StepDecay{detail::field<std::int64_t>(j, "step_size", w), detail::field<double>(j, "gamma", w)};
  if (type == "ExponentialDecay")
    return ExponentialDecay{detail::field<std::int64_t>(j, "decay_steps", w), detail::field<double>(j, "decay_rate", w),
                            detail::field<bool>(j, "staircase", w)};
  if (type == "CosineDecay")
    return CosineDecay{detail::field<std::int64_t>(j, "decay_steps", w), detail::field<double>(j, "alpha", w)};
  throw Error(w + ": unknown schedule '" + type + "'");
}

inline json to_json(const OptimizerSpec& o) {
  json j{{"type", optimizer_name(o)}};
  std::visit(
      [&](const auto& s) {
        using S = std::decay_t<decltype(s)>;
        j["learning_rate"] = s.learning_rate;
        j["weight_decay"] = s.weight_decay;
        j["clip_norm"] = s.clip_norm;
        j["schedule"] = to_json(s.schedule);
        if constexpr (std::is_same_v<S, SGD>) {
          j["momentum"] = s.momentum;
          j["nesterov"] = s.nesterov;
        } else if constexpr (std::is_same_v<S, Adam> || std::is_same_v<S, AdamW>) {
          j["beta1"] = s.beta1;
          j["beta2"] = s.beta2;
          j["epsilon"] = s.epsilon;
        } else if constexpr (std::is_same_v<S, RMSprop>) {
          j["rho"] = s.rho;
          j["epsilon"] = s.epsilon;
        } else {
          j["initial_accumulator_value"] = s.initial_accumulator_value;
          j["epsilon"] = s.epsilon;
        }
      },
      o);
  return j;
}
inline OptimizerSpec optimizer_from_json(const json& j) {
  const std::string w = "training_config.optimizer";
  const auto type = detail::field<std::string>(j, "type", w);
  auto common = [&](auto s) {
    s.learning_rate = detail::field<double>(j, "learning_rate", w);
    s.weight_decay = detail::field<double>(j, "weight_decay", w);
    s.clip_norm = detail::field<double>(j, "clip_norm", w);
    HEPNN_CHECK(j.contains("schedule"), w, ": field 'schedule' is missing");
    s.schedule = schedule_from_json(j["schedule"]);
    return s;
  };
  if (type == "SGD") {
    SGD s = common(SGD{});
    s.momentum = detail::field<double>(j, "momentum", w);
    s.nesterov = detail::field<bool>(j, "nesterov", w);
    return s;
  }
  auto adam = [&](auto s) {
    s = common(s);
    s.beta1 = detail::field<double>(j, "beta1", w);
    s.beta2 = detail::field<double>(j, "beta2", w);
    s.epsilon = detail::field<double>(j, "epsilon", w);
    return s;
  };
  if (type == "Adam") return adam(Adam{});
  if (type == "AdamW") return adam(AdamW{});
  if (type == "RMSprop") {
    RMSprop s = common(RMSprop{});
    s.rho = detail::field<double>(j, "rho", w);
    s.epsilon = detail::field<double>(j, "epsilon", w);
    return s;
  }
  if (type == "Adagrad") {
    Adagrad s = common(Adagrad{});
    s.initial_accumulator_value = detail::field<double>(j, "initial_accumulator_value", w);
    s.epsilon = detail::field<double>(j, "epsilon", w);
    return s;
  }
  throw Error(w + ": unknown optimizer '" + type + "'");
}

// ---- metrics ----
inline json to_json(const metrics::MetricSpec& m) {
  struct V {
    json operator()(const metrics::Accuracy& a) const { return {{"type", "Accuracy"}, {"threshold", a.threshold}}; }
    json operator()(const metrics::AUC&) const { return {{"type", "AUC"}}; }
    json operator()(const metrics::SignalEfficiency& s) const {
      return {{"type", "SignalEfficiency"}, {"background_rejection", s.background_rejection}};
    }
    json operator()(const metrics::MeanSquaredError&) const { return {{"type", "MeanSquaredError"}}; }
    json operator()(const metrics::MeanAbsoluteError&) const { return {{"type", "MeanAbsoluteError"}}; }
    json operator()(const metrics::R2&) const { return {{"type", "R2"}}; }
    json operator()(const metrics::LogLoss&) const { return {{"type", "LogLoss"}}; }
    json operator()(const metrics::CustomMetric& c) const {
      return {{"type", "CustomMetric"}, {"name", c.name}, {"higher_is_better", c.higher_is_better}, {"params", c.params}};
    }
  };
  return std::visit(V{}, m);
}
inline metrics::MetricSpec metric_from_json(const json& j) {
  const std::string w = "training_config.metrics";
  const auto type = detail::field<std::string>(j, "type", w);
  if (type == "Accuracy") return metrics::Accuracy{detail::field<double>(j, "threshold", w)};
  if (type == "AUC") return metrics::AUC{};
  if (type == "SignalEfficiency") return metrics::SignalEfficiency{detail::field<double>(j, "background_rejection", w)};
  if (type == "MeanSquaredError") return metrics::MeanSquaredError{};
  if (type == "MeanAbsoluteError") return metrics::MeanAbsoluteError{};
  if (type == "R2") return metrics::R2{};
  if (type == "LogLoss") return metrics::LogLoss{};
  if (type == "CustomMetric")
    return metrics::make_registered_metric(detail::field<std::string>(j, "name", w), detail::params_from_json(j, w));
  throw Error(w + ": unknown metric '" + type + "'");
}

// ---- history ----
inline json to_json(const History& h) {
  json values = json::object();
  for (const auto& [k, v] : h.values) values[k] = v;
  return json{{"epochs", h.epochs}, {"values", values}, {"stop_reason", h.stop_reason}};
}
inline History history_from_json(const json& j) {
  const std::string w = "history";
  History h;
  HEPNN_CHECK(j.is_object() && j.contains("epochs") && j["epochs"].is_array(), w, ": 'epochs' must be a list");
  for (const auto& e : j["epochs"]) {
    HEPNN_CHECK(e.is_number_integer(), w, ": epochs must be integers");
    h.epochs.push_back(e.get<int>());
  }
  HEPNN_CHECK(j.contains("values") && j["values"].is_object(), w, ": 'values' must be an object");
  for (const auto& [k, v] : j["values"].items()) {
    HEPNN_CHECK(v.is_array() && v.size() == h.epochs.size(), w, ": series '", k, "' must have one value per epoch");
    for (const auto& x : v) {
      HEPNN_CHECK(x.is_number() || x.is_null(), w, ": series '", k, "' must hold numbers");
      h.values[k].push_back(x.is_null() ? std::numeric_limits<double>::quiet_NaN() : x.get<double>());
    }
  }
  h.stop_reason = detail::field<std::string>(j, "stop_reason", w);
  return h;
}

}  // namespace hepnn::io
