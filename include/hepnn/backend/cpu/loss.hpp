/// @file backend/cpu/loss.hpp
/// @brief Weighted losses and their gradients on the CPU.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>

#include "hepnn/ops/loss_row.hpp"

namespace hepnn::backend::cpu::inline HEPNN_ABI {

// pred is (B, C); target is (B, C), or (B, 1) integer class labels for the categorical
// cross-entropy (target_cols == 1 < C); w is (B) or null (all ones).
// Returns sum_i w_i * l_i. When dpred is not null: dpred = (w_i / norm) * dl_i/dpred.
// The formulas are ops/loss_row.hpp's, shared with the CUDA backend.
template <class T>
double loss_forward_backward(const LossParams& p, std::int64_t B, std::int64_t C, std::int64_t target_cols,
                             const T* pred, const T* target, const T* w, double norm, T* dpred) {
  double total = 0;
  for (std::int64_t i = 0; i < B; ++i)
    total += loss_math::loss_row(p, C, target_cols, pred + i * C, target + i * target_cols, w ? double(w[i]) : 1.0,
                                 norm, dpred ? dpred + i * C : nullptr);
  return total;
}

}  // namespace hepnn::backend::cpu
