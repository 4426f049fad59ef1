/// @file losses/compute.hpp
/// @brief Evaluating a loss on tensors, with the shape and label checks a user needs.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <vector>

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
  HEPNN_CHECK(tcols == C || sparse_ok || is_custom(spec), who, ": targets of shape ", target.str(),
              " do not match predictions of shape ", pred.str(),
              std::holds_alternative<CategoricalCrossEntropy>(spec) ? " (expected one-hot rows or one label column)" : "");
  HEPNN_CHECK(n_weights < 0 || n_weights == B, who, ": ", n_weights, " weights for ", B, " predictions");
  return tcols;
}

/// Checks that every target row is one the loss can learn from, before any training step:
/// binary cross-entropy 0 or 1 (soft_targets: [0, 1]), categorical cross-entropy class indices
/// in [0, C) or one-hot rows (soft_targets: values in [0, 1]), a custom loss's own check_target.
/// `where` names the data set ("fit (training data)"); the error adds the row and the loss.
template <class T>
void check_loss_targets(const LossSpec& spec, const T* targets, std::int64_t n, std::int64_t tc, std::int64_t C,
                        const std::string& where) {
  const std::string loss = loss_name(spec);
  auto fail = [&](std::int64_t i, const std::string& what) {
    std::string row;
    for (std::int64_t j = 0; j < std::min<std::int64_t>(tc, 8); ++j) row += (j ? ", " : "") + detail::concat(targets[i * tc + j]);
    if (tc > 8) row += ", ...";
    throw Error(detail::concat(where, ": row ", i, " has target ", tc == 1 ? row : "(" + row + ")", ", which ", loss,
                               " cannot learn from: ", what));
  };
  if (const auto* b = std::get_if<BinaryCrossEntropy>(&spec)) {
    for (std::int64_t k = 0; k < n * tc; ++k) {
      const double t = double(targets[k]);
      if (b->soft_targets ? !(t >= 0 && t <= 1) : !(t == 0 || t == 1))
        fail(k / tc, b->soft_targets ? "targets must lie in [0, 1]"
                                     : "labels must be 0 or 1 (TMVA-style -1/+1 labels: map -1 to 0; for targets in "
                                       "[0, 1] use BinaryCrossEntropy{.soft_targets = true})");
    }
  } else if (const auto* c = std::get_if<CategoricalCrossEntropy>(&spec)) {
    if (tc == 1 && C > 1) {
      for (std::int64_t i = 0; i < n; ++i) {
        const double y = double(targets[i]);
        if (!(y >= 0 && y < double(C) && y == std::floor(y)))
          fail(i, detail::concat("class labels must be integers in [0, ", C, ")"));
      }
    } else {
      for (std::int64_t i = 0; i < n; ++i) {
        int ones = 0;
        for (std::int64_t j = 0; j < tc; ++j) {
          const double t = double(targets[i * tc + j]);
          if (c->soft_targets ? !(t >= 0 && t <= 1) : !(t == 0 || t == 1))
            fail(i, c->soft_targets ? "target rows must hold values in [0, 1]"
                                    : "rows must be one-hot (0 or 1, one 1 per row; for label smoothing use "
                                      "CategoricalCrossEntropy{.soft_targets = true})");
          ones += t == 1;
        }
        if (!c->soft_targets && ones != 1)
          fail(i, "rows must be one-hot (exactly one 1 per row; for soft targets use "
                  "CategoricalCrossEntropy{.soft_targets = true})");
      }
    }
  } else if (const auto* u = std::get_if<CustomLoss>(&spec); u && u->check_target) {
    std::vector<double> row(static_cast<std::size_t>(tc));
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < tc; ++j) row[std::size_t(j)] = double(targets[i * tc + j]);
      try {
        u->check_target(std::span<const double>(row));
      } catch (const std::exception& e) {
        const std::string m = e.what();
        fail(i, m.rfind("hepnn: ", 0) == 0 ? m.substr(7) : m);
      }
    }
  }
}

/// sum_i w_i l_i of a batch on the host, and (when dpred is not null) the gradient w_i dl_i/dpred / norm,
/// for any loss: the built-in kernels, or a custom loss's row function in double precision.
template <class T>
double loss_on_host(const LossSpec& spec, std::int64_t B, std::int64_t C, std::int64_t tc, const T* pred,
                    const T* target, const T* w, double norm, T* dpred) {
  const auto* u = std::get_if<CustomLoss>(&spec);
  if (!u) return backend::cpu::loss_forward_backward(loss_params(spec), B, C, tc, pred, target, w, norm, dpred);
  std::vector<double> out(static_cast<std::size_t>(C)), tgt(static_cast<std::size_t>(tc)), g(static_cast<std::size_t>(C));
  double total = 0;
  for (std::int64_t i = 0; i < B; ++i) {
    for (std::int64_t c = 0; c < C; ++c) out[std::size_t(c)] = double(pred[i * C + c]);
    for (std::int64_t c = 0; c < tc; ++c) tgt[std::size_t(c)] = double(target[i * tc + c]);
    std::fill(g.begin(), g.end(), 0.0);
    const double l = u->row(std::span<const double>(out), std::span<const double>(tgt), std::span<double>(g));
    const double wi = w ? double(w[i]) : 1.0;
    total += wi * l;
    if (dpred)
      for (std::int64_t c = 0; c < C; ++c) dpred[i * C + c] = T(wi * g[std::size_t(c)] / norm);
  }
  return total;
}
}  // namespace detail

/// The weighted mean loss sum_i w_i l_i / sum_i w_i of host tensors (weights: null for all ones).
/// When grad is not null it receives d(loss)/d(pred), shape of pred.
/// requires: pred (B, C); target (B, C) or, for CategoricalCrossEntropy, (B) / (B, 1) labels in [0, C);
/// targets the loss can learn from (detail::check_loss_targets).
template <class T>
double compute_loss(const LossSpec& spec, const Tensor<T, cpu>& pred, const Tensor<T, cpu>& target,
                    const Tensor<T, cpu>* weights = nullptr, Tensor<T, cpu>* grad = nullptr) {
  const std::int64_t tcols =
      detail::check_loss_shapes(spec, pred.shape(), target.shape(), weights ? weights->size() : -1);
  const std::int64_t B = pred.shape()[0], C = pred.shape()[1];
  HEPNN_CHECK(B > 0, loss_name(spec), ": empty batch");
  validate_loss(spec);
  detail::check_loss_targets(spec, target.data(), B, tcols, C, "compute_loss");
  const double wsum = weights ? ops::sum<cpu>(B, weights->data()) : double(B);
  HEPNN_CHECK(wsum > 0, loss_name(spec), ": the sum of weights is ", wsum, "; it must be positive");
  if (grad) {
    HEPNN_CHECK(grad->shape() == pred.shape(), loss_name(spec), ": gradient tensor has shape ", grad->shape().str(),
                ", expected ", pred.shape().str());
  }
  const double total = detail::loss_on_host(spec, B, C, tcols, pred.data(), target.data(),
                                            weights ? weights->data() : nullptr, wsum, grad ? grad->data() : nullptr);
  return total / wsum;
}

}  // namespace hepnn
