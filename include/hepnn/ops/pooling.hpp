/// @file ops/pooling.hpp
/// @brief Max and average pooling (NCHW). Front door: dispatches on the device tag to backend::cpu or backend::cuda.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <type_traits>

#include "hepnn/backend/cpu/pooling.hpp"
#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"
#include "hepnn/ops/conv_geometry.hpp"

namespace hepnn::inline HEPNN_ABI::ops {

/// y (B, C, OH, OW) = window maxima of x (B, C, H, W); argmax (same shape as y, or null) keeps
/// the in-plane index of each maximum as a T value for the backward pass.
template <class Device, class T>
void maxpool2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, T* y, T* argmax) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::maxpool2d_forward(g, B, x, y, argmax);
  else return backend::cuda::maxpool2d_forward(g, B, x, y, argmax);
}

/// dx (B, C, H, W) = dy routed to the maxima recorded in argmax (overwrites dx).
template <class Device, class T>
void maxpool2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* dy, const T* argmax, T* dx) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::maxpool2d_backward(g, B, dy, argmax, dx);
  else return backend::cuda::maxpool2d_backward(g, B, dy, argmax, dx);
}

/// y (B, C, OH, OW) = window means of x over the real (non-padding) pixels.
template <class Device, class T>
void avgpool2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, T* y) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::avgpool2d_forward(g, B, x, y);
  else return backend::cuda::avgpool2d_forward(g, B, x, y);
}

/// dx (B, C, H, W): each window's real pixels receive dy / their count (overwrites dx).
template <class Device, class T>
void avgpool2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* dy, T* dx) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::avgpool2d_backward(g, B, dy, dx);
  else return backend::cuda::avgpool2d_backward(g, B, dy, dx);
}

}  // namespace hepnn::ops
