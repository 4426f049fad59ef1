/// @file ops/sequence.hpp
/// @brief Padded sequences: masks, zeroing padding, pooling over real elements, layer
/// normalisation. Front door: dispatches on the device tag to backend::cpu or backend::cuda.
///
/// Shapes: a batch of sequences is (B, L, F), its mask (B, L) with nonzero for a real element.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <type_traits>

#include "hepnn/backend/cpu/sequence.hpp"
#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"

namespace hepnn::inline HEPNN_ABI::ops {

/// y (n) = 0.
template <class Device, class T>
void zero_fill(std::int64_t n, T* y) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::zero_fill(n, y);
  else return backend::cuda::zero_fill(n, y);
}

/// mask (rows) = 1 where a row of x (rows, F) has a feature other than value.
template <class Device, class T>
void mask_from_value(std::int64_t rows, std::int64_t F, T value, const T* x, T* mask) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::mask_from_value(rows, F, value, x, mask);
  else return backend::cuda::mask_from_value(rows, F, value, x, mask);
}

/// mask (B, L) = 1 for the first lengths[b] elements of each sample. The CPU returns the first
/// sample whose length is not a whole number in [0, L] (or -1); the GPU clamps such lengths to
/// [0, L] (rounding down) and returns -1.
template <class Device, class T>
std::int64_t mask_from_lengths(std::int64_t B, std::int64_t L, const T* lengths, T* mask) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::mask_from_lengths(B, L, lengths, mask);
  else return backend::cuda::mask_from_lengths(B, L, lengths, mask);
}

/// y (rows, F) = x on real rows (mask != 0), 0 on padded ones; y may alias x.
template <class Device, class T>
void apply_mask(std::int64_t rows, std::int64_t F, const T* x, const T* mask, T* y) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::apply_mask(rows, F, x, mask, y);
  else return backend::cuda::apply_mask(rows, F, x, mask, y);
}

/// y (B, F) = sum, mean or max of x (B, L, F) over the real elements (mask null: all); 0 for a
/// sample without any.
template <class Device, class T>
void sequence_pool_forward(SequencePool kind, std::int64_t B, std::int64_t L, std::int64_t F, const T* x,
                           const T* mask, T* y) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::sequence_pool_forward(kind, B, L, F, x, mask, y);
  else return backend::cuda::sequence_pool_forward(kind, B, L, F, x, mask, y);
}

/// dx (B, L, F) of sequence_pool_forward given dy (B, F) and its x and y.
template <class Device, class T>
void sequence_pool_backward(SequencePool kind, std::int64_t B, std::int64_t L, std::int64_t F, const T* x,
                            const T* mask, const T* y, const T* dy, T* dx) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::sequence_pool_backward(kind, B, L, F, x, mask, y, dy, dx);
  else return backend::cuda::sequence_pool_backward(kind, B, L, F, x, mask, y, dy, dx);
}

/// Layer normalisation of the rows of x (rows, F); stats (rows, 2) keeps mean and 1/std when given.
template <class Device, class T>
void layer_norm_forward(std::int64_t rows, std::int64_t F, T eps, const T* x, const T* gamma, const T* beta, T* y,
                        T* stats) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::layer_norm_forward(rows, F, eps, x, gamma, beta, y, stats);
  else return backend::cuda::layer_norm_forward(rows, F, eps, x, gamma, beta, y, stats);
}

/// dx, dgamma and dbeta of layer_norm_forward (null ones skipped; dgamma and dbeta overwritten).
template <class Device, class T>
void layer_norm_backward(std::int64_t rows, std::int64_t F, const T* x, const T* gamma, const T* stats, const T* dy,
                         T* dx, T* dgamma, T* dbeta) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::layer_norm_backward(rows, F, x, gamma, stats, dy, dx, dgamma, dbeta);
  else return backend::cuda::layer_norm_backward(rows, F, x, gamma, stats, dy, dx, dgamma, dbeta);
}

}  // namespace hepnn::ops
