/// @file ops/recurrent.hpp
/// @brief The element-wise steps of recurrent layers (LSTM, GRU). Front door: dispatches on the
/// device tag to backend::cpu or backend::cuda. The products are ops::gemm calls of the layer.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <type_traits>

#include "hepnn/backend/cpu/recurrent.hpp"
#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"

namespace hepnn::inline HEPNN_ABI::ops {

/// One LSTM step: z (B, 4H) pre-activations in, activated gates out; writes c, h (B, H). Masked
/// samples (mask[b * mask_stride] == 0) carry c_prev, h_prev over (null: zeros).
template <class Device, class T>
void lstm_cell_forward(std::int64_t B, std::int64_t H, T* z, const T* c_prev, const T* h_prev, const T* mask,
                       std::int64_t mask_stride, T* c, T* h) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::lstm_cell_forward(B, H, z, c_prev, h_prev, mask, mask_stride, c, h);
  else return backend::cuda::lstm_cell_forward(B, H, z, c_prev, h_prev, mask, mask_stride, c, h);
}

/// Backward of one LSTM step (see backend/cpu/recurrent.hpp): gates -> dz in place, dc -> dc_prev,
/// dh_carry = dh on masked samples and 0 on real ones.
template <class Device, class T>
void lstm_cell_backward(std::int64_t B, std::int64_t H, T* gates, const T* c, const T* c_prev, const T* mask,
                        std::int64_t mask_stride, const T* dh, const T* dy, std::int64_t dy_stride, T* dc,
                        T* dh_carry) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::lstm_cell_backward(B, H, gates, c, c_prev, mask, mask_stride, dh, dy, dy_stride, dc, dh_carry);
  else
    return backend::cuda::lstm_cell_backward(B, H, gates, c, c_prev, mask, mask_stride, dh, dy, dy_stride, dc,
                                             dh_carry);
}

/// One GRU step (see backend/cpu/recurrent.hpp): xw (B, 3H) x W + b_in in, gates out; hu (B, 3H)
/// = h_prev U + b_rec, read; writes h (B, H).
template <class Device, class T>
void gru_cell_forward(std::int64_t B, std::int64_t H, T* xw, const T* hu, const T* h_prev, const T* mask,
                      std::int64_t mask_stride, T* h) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::gru_cell_forward(B, H, xw, hu, h_prev, mask, mask_stride, h);
  else return backend::cuda::gru_cell_forward(B, H, xw, hu, h_prev, mask, mask_stride, h);
}

/// Backward of one GRU step: gates -> d(xw), hu -> d(hu) in place; dh_carry the direct part of dh_prev.
template <class Device, class T>
void gru_cell_backward(std::int64_t B, std::int64_t H, T* gates, T* hu, const T* h_prev, const T* mask,
                       std::int64_t mask_stride, const T* dh, const T* dy, std::int64_t dy_stride, T* dh_carry) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::gru_cell_backward(B, H, gates, hu, h_prev, mask, mask_stride, dh, dy, dy_stride, dh_carry);
  else return backend::cuda::gru_cell_backward(B, H, gates, hu, h_prev, mask, mask_stride, dh, dy, dy_stride, dh_carry);
}

}  // namespace hepnn::ops
