/// @file losses/loss.hpp
/// @brief Loss specs (device-free) and the weighted-mean policy.
///
/// Per-sample loss l_i: the mean over outputs (MSE, MAE, Huber, binary cross-entropy) or the
/// sum over classes (categorical cross-entropy). The loss of a set of events is the weighted
/// mean  L = sum_i w_i l_i / sum_i w_i.  Negative weights are allowed (NLO Monte Carlo); the
/// normaliser sum_i w_i must be positive. In training each batch is normalised by
/// (batch size x mean weight of the whole training set), not by its own weight sum, so a batch
/// whose net weight is small or negative neither explodes nor flips the gradient, and the batch
/// losses average to the weighted mean over the set (docs/losses.md).
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <variant>

#include "hepnn/core/error.hpp"
#include "hepnn/core/registry.hpp"
#include "hepnn/ops/loss_kind.hpp"

namespace hepnn::inline HEPNN_ABI {

/// (p - t)^2, averaged over outputs.
struct MeanSquaredError {};
/// |p - t|, averaged over outputs.
struct MeanAbsoluteError {};
/// 0.5 d^2 for |d| <= delta, delta (|d| - delta / 2) beyond, averaged over outputs.
struct Huber {
  double delta = 1.0;
};
/// -(t log p + (1 - t) log(1 - p)); with from_logits the output is a logit z, p = sigmoid(z),
/// computed stably as max(z, 0) - z t + log(1 + e^-|z|). Probabilities are clipped to [1e-7, 1 - 1e-7].
/// Targets must be 0 or 1 (checked before training); soft_targets allows any value in [0, 1].
struct BinaryCrossEntropy {
  bool from_logits = false;   ///< the output is a logit z (p = sigmoid(z)), not a probability
  bool soft_targets = false;  ///< accept targets anywhere in [0, 1], not only 0 or 1
};
/// -sum_c t_c log p_c over classes; targets are one-hot rows, or a single column of integer
/// class labels. With from_logits the softmax is fused in (log-sum-exp, stable). Rows must be
/// one-hot (checked before training); soft_targets allows rows of values in [0, 1] (label smoothing).
struct CategoricalCrossEntropy {
  bool from_logits = false;   ///< the outputs are logits (softmax fused in), not probabilities
  bool soft_targets = false;  ///< accept target rows of values in [0, 1], not only one-hot rows
};

/// A user-defined loss, evaluated on the host in double precision one event at a time.
///
/// `row(outputs, targets, grad)` returns the loss l_i of one event (unweighted) and writes
/// dl_i/d(outputs) into grad (size = number of outputs); hepnn applies the event weights and the
/// normalisation of the built-in losses (docs/losses.md). `check_target` (optional) throws on a
/// target row the loss cannot use; fit calls it on every row before the first step and names the
/// data set and row. `from_logits` tells metrics to see sigmoid/softmax of the outputs, as for the
/// built-in losses. The name (and `params`, for the user's own reconstruction) goes into model
/// files; loading one needs `register_loss(name, ...)` in the loading program.
/// On the GPU the outputs are copied to the host for the loss and the gradient is copied back.
struct CustomLoss {
  std::string name;  ///< recorded in model files; not the name of a built-in loss
  /// loss of one event (unweighted); writes d loss / d outputs into grad
  std::function<double(std::span<const double> outputs, std::span<const double> targets, std::span<double> grad)> row = {};
  std::function<void(std::span<const double> targets)> check_target = {};  ///< throws on a target row it cannot use
  bool from_logits = false;                   ///< metrics see sigmoid/softmax of the outputs
  std::map<std::string, double> params = {};  ///< recorded in model files, given to the registered factory
};

using MSE = MeanSquaredError;
using MAE = MeanAbsoluteError;

using LossSpec = std::variant<MeanSquaredError, MeanAbsoluteError, Huber, BinaryCrossEntropy, CategoricalCrossEntropy,
                              CustomLoss>;

namespace detail {
inline NamedFactories<CustomLoss>& loss_registry() {
  static NamedFactories<CustomLoss> r;
  return r;
}
inline bool is_builtin_loss_name(const std::string& n) {
  for (const char* b : {"MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossEntropy", "CategoricalCrossEntropy"})
    if (n == b) return true;
  return false;
}
}  // namespace detail

/// Makes a custom loss known by name, so that load_model can rebuild it: `make(params)` returns
/// the CustomLoss for the parameters recorded in the file. Registering a name again replaces it.
inline void register_loss(const std::string& name, std::function<CustomLoss(const std::map<std::string, double>&)> make) {
  HEPNN_CHECK(!name.empty() && !detail::is_builtin_loss_name(name), "register_loss: '", name,
              "' is empty or the name of a built-in loss");
  HEPNN_CHECK(bool(make), "register_loss('", name, "'): no factory given");
  detail::loss_registry().add(name, std::move(make));
}

/// The registered custom loss `name` with `params`; an error naming the loss when it is not registered.
inline CustomLoss make_registered_loss(const std::string& name, const std::map<std::string, double>& params) {
  return detail::loss_registry().make(name, params, "custom loss", "hepnn::register_loss");
}

inline LossParams loss_params(const LossSpec& spec) {
  struct V {
    LossParams operator()(const MeanSquaredError&) const { return {LossKind::mse}; }
    LossParams operator()(const MeanAbsoluteError&) const { return {LossKind::mae}; }
    LossParams operator()(const Huber& h) const {
      HEPNN_CHECK(h.delta > 0, "Huber: delta must be positive, got ", h.delta);
      return {LossKind::huber, false, h.delta};
    }
    LossParams operator()(const BinaryCrossEntropy& b) const { return {LossKind::binary_crossentropy, b.from_logits}; }
    LossParams operator()(const CategoricalCrossEntropy& c) const {
      return {LossKind::categorical_crossentropy, c.from_logits};
    }
    LossParams operator()(const CustomLoss& c) const {
      throw Error("custom loss '" + c.name + "': has no built-in kernel (evaluated through its row function)");
    }
  };
  return std::visit(V{}, spec);
}

/// Whether the loss is a CustomLoss (evaluated on the host through its row function).
inline bool is_custom(const LossSpec& spec) { return std::holds_alternative<CustomLoss>(spec); }

/// Checks a custom loss's options; built-in ones through loss_params.
inline void validate_loss(const LossSpec& spec) {
  if (const auto* c = std::get_if<CustomLoss>(&spec)) {
    HEPNN_CHECK(!c->name.empty(), "CustomLoss: give it a name (model files record it)");
    HEPNN_CHECK(!detail::is_builtin_loss_name(c->name), "CustomLoss: '", c->name, "' is the name of a built-in loss");
    HEPNN_CHECK(bool(c->row), "CustomLoss '", c->name, "': no row function");
  } else {
    (void)loss_params(spec);
  }
}

inline std::string loss_name(const LossSpec& spec) {
  if (const auto* c = std::get_if<CustomLoss>(&spec)) return c->name;
  static const char* names[] = {"MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossEntropy",
                                "CategoricalCrossEntropy"};
  return names[spec.index()];
}

}  // namespace hepnn
