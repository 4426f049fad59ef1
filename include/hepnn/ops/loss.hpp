/// @file ops/loss.hpp
/// @brief Weighted losses with their gradients. Front door: dispatches on the device tag to backend::cpu or backend::cuda.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <type_traits>

#include "hepnn/backend/cpu/loss.hpp"
#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"

namespace hepnn::inline HEPNN_ABI::ops {

/// pred (B,C); target (B,C) or (B,1) class labels (categorical CE); w (B) or null.
/// Returns sum_i w_i l_i; writes dpred = (w_i / norm) dl_i/dpred when dpred is not null.
template <class Device, class T>
double loss_forward_backward(const LossParams& p, std::int64_t B, std::int64_t C, std::int64_t target_cols, const T* pred, const T* target, const T* w, double norm, T* dpred) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::loss_forward_backward(p, B, C, target_cols, pred, target, w, norm, dpred);
  else return backend::cuda::loss_forward_backward(p, B, C, target_cols, pred, target, w, norm, dpred);
}

}  // namespace hepnn::ops
