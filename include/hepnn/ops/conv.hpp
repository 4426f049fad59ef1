/// @file ops/conv.hpp
/// @brief 2-D convolution (NCHW). Front door: dispatches on the device tag to backend::cpu or backend::cuda.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <type_traits>

#include "hepnn/backend/cpu/conv.hpp"
#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"
#include "hepnn/ops/conv_geometry.hpp"

namespace hepnn::inline HEPNN_ABI::ops {

/// x (S, C, H, W) -> col (C*KH*KW, S*OH*OW), zeros at padding positions.
template <class Device, class T>
void im2col(const Conv2DGeometry& g, std::int64_t S, const T* x, T* col) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::im2col(g, S, x, col);
  else return backend::cuda::im2col(g, S, x, col);
}

/// The adjoint of im2col: dx (S, C, H, W) = the columns added back into place (overwrites dx).
template <class Device, class T>
void col2im(const Conv2DGeometry& g, std::int64_t S, const T* col, T* dx) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::col2im(g, S, col, dx);
  else return backend::cuda::col2im(g, S, col, dx);
}

/// Scratch elements conv2d_forward and conv2d_backward need for batches of up to `batch` samples.
template <class Device>
std::int64_t conv2d_scratch_size(const Conv2DGeometry& g, std::int64_t batch) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::conv2d_scratch_size(g, batch);
  else return backend::cuda::conv2d_scratch_size(g, batch);
}

/// y (B, F, OH, OW) = conv(x (B, C, H, W), w (F, C, KH, KW)) + b (F, or null).
/// requires: scratch of conv2d_scratch_size(g, B) elements; y aliases nothing.
template <class Device, class T>
void conv2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, const T* w, const T* b, T* y, T* scratch) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::conv2d_forward(g, B, x, w, b, y, scratch);
  else return backend::cuda::conv2d_forward(g, B, x, w, b, y, scratch);
}

/// Given dy (B, F, OH, OW): dw (F, C, KH, KW), db (F) unless null, dx (B, C, H, W) unless null;
/// all overwritten. requires: scratch of conv2d_scratch_size(g, B) elements.
template <class Device, class T>
void conv2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db,
                     T* scratch) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::conv2d_backward(g, B, x, w, dy, dx, dw, db, scratch);
  else return backend::cuda::conv2d_backward(g, B, x, w, dy, dx, dw, db, scratch);
}

}  // namespace hepnn::ops
