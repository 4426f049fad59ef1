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
#include <string>
#include <variant>

#include "hepnn/core/error.hpp"
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
struct BinaryCrossEntropy {
  bool from_logits = false;
};
/// -sum_c t_c log p_c over classes; targets are one-hot (or soft) rows, or a single column of
/// integer class labels. With from_logits the softmax is fused in (log-sum-exp, stable).
struct CategoricalCrossEntropy {
  bool from_logits = false;
};
using MSE = MeanSquaredError;
using MAE = MeanAbsoluteError;

using LossSpec = std::variant<MeanSquaredError, MeanAbsoluteError, Huber, BinaryCrossEntropy, CategoricalCrossEntropy>;

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
  };
  return std::visit(V{}, spec);
}

inline std::string loss_name(const LossSpec& spec) {
  static const char* names[] = {"MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossEntropy",
                                "CategoricalCrossEntropy"};
  return names[spec.index()];
}

}  // namespace hepnn
