/// @file losses/compute.hpp
/// @brief Evaluating a loss on tensors, with the shape and label checks a user needs.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>

#include "hepnn/core/tensor.hpp"
#include "hepnn/losses/loss.hpp"
#include "hepnn/ops/elementwise.hpp"
#include "hepnn/ops/loss.hpp"

namespace hepnn::inline HEPNN_ABI {

namespace detail {
/// Checks prediction/target/weight shapes for a loss; returns the number of target columns.
inline std::int64_t check_loss_shapes(const LossSpec& spec, const Shape& pred, const Shape& target,
                                      std::int64_t n_weights) {
  const std::string who = loss_name(spec);
  HEPNN_CHECK(pred.rank() == 2, who, ": predictions must be (batch, outputs), got ", pred.str());
  const std::int64_t B = pred[0], C = pred[1];
  const std::int64_t tcols = target.rank() == 1 ? 1 : (target.rank() == 2 ? target[1] : -1);
  HEPNN_CHECK(target.rank() >= 1 && target[0] == B && tcols >= 1, who, ": targets of shape ", target.str(),
              " do not match predictions of shape ", pred.str());
  const bool sparse_ok = std::holds_alternative<CategoricalCrossEntropy>(spec) && tcols == 1 && C > 1;
  HEPNN_CHECK(tcols == C || sparse_ok, who, ": targets of shape ", target.str(), " do not match predictions of shape ",
              pred.str(),
              std::holds_alternative<CategoricalCrossEntropy>(spec) ? " (expected one-hot rows or one label column)" : "");
  HEPNN_CHECK(n_weights < 0 || n_weights == B, who, ": ", n_weights, " weights for ", B, " predictions");
  return tcols;
}
}  // namespace detail

/// The weighted mean loss sum_i w_i l_i / sum_i w_i of host tensors (weights: null for all ones).
/// When grad is not null it receives d(loss)/d(pred), shape of pred.
/// requires: pred (B, C); target (B, C) or, for CategoricalCrossEntropy, (B) / (B, 1) labels in [0, C).
template <class T>
double compute_loss(const LossSpec& spec, const Tensor<T, cpu>& pred, const Tensor<T, cpu>& target,
                    const Tensor<T, cpu>* weights = nullptr, Tensor<T, cpu>* grad = nullptr) {
  const std::int64_t tcols =
      detail::check_loss_shapes(spec, pred.shape(), target.shape(), weights ? weights->size() : -1);
  const std::int64_t B = pred.shape()[0], C = pred.shape()[1];
  HEPNN_CHECK(B > 0, loss_name(spec), ": empty batch");
  if (tcols == 1 && C > 1)
    for (std::int64_t i = 0; i < B; ++i) {
      const T y = target.data()[i];
      HEPNN_CHECK(y >= 0 && y < T(C) && y == std::floor(y), loss_name(spec), ": label ", y, " of sample ", i,
                  " is not a class index in [0, ", C, ")");
    }
  const double wsum = weights ? ops::sum<cpu>(B, weights->data()) : double(B);
  HEPNN_CHECK(wsum > 0, loss_name(spec), ": the sum of weights is ", wsum, "; it must be positive");
  if (grad) {
    HEPNN_CHECK(grad->shape() == pred.shape(), loss_name(spec), ": gradient tensor has shape ", grad->shape().str(),
                ", expected ", pred.shape().str());
  }
  const double total = ops::loss_forward_backward<cpu>(loss_params(spec), B, C, tcols, pred.data(), target.data(),
                                                       weights ? weights->data() : nullptr, wsum,
                                                       grad ? grad->data() : nullptr);
  return total / wsum;
}

}  // namespace hepnn
