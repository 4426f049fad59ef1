/// @file ops/loss_kind.hpp
/// @brief The loss functions every backend implements, as plain data.
#pragma once

namespace hepnn {

enum class LossKind { mse, mae, huber, binary_crossentropy, categorical_crossentropy };

/// Everything a backend needs to evaluate one loss.
struct LossParams {
  LossKind kind = LossKind::mse;
  bool from_logits = false;  // cross-entropies: predictions are logits, not probabilities
  double delta = 1.0;        // Huber threshold
  double epsilon = 1e-7;     // cross-entropies on probabilities: clip to [eps, 1 - eps]
};

}  // namespace hepnn
