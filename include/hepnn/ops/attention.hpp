/// @file ops/attention.hpp
/// @brief Scaled dot-product attention of several heads with a key mask (layouts in
/// backend/cpu/attention.hpp). Front door: dispatches on the device tag.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <type_traits>

#include "hepnn/backend/cpu/attention.hpp"
#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"

namespace hepnn::inline HEPNN_ABI::ops {

/// o = softmax(scale q k^T over the real keys) v per sample and head; p keeps the probabilities.
template <class Device, class T>
void attention_forward(std::int64_t B, std::int64_t heads, std::int64_t L, std::int64_t dk, std::int64_t dv,
                       const T* q, const T* k, const T* v, const T* mask, T scale, T* p, T* o) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::attention_forward(B, heads, L, dk, dv, q, k, v, mask, scale, p, o);
  else return backend::cuda::attention_forward(B, heads, L, dk, dv, q, k, v, mask, scale, p, o);
}

/// dq, dk, dv of attention_forward given dout and its p; ds (B, heads, L, L) scratch.
template <class Device, class T>
void attention_backward(std::int64_t B, std::int64_t heads, std::int64_t L, std::int64_t dk, std::int64_t dv,
                        const T* q, const T* k, const T* v, const T* p, const T* dout, T scale, T* ds, T* dq,
                        T* dkey, T* dval) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::attention_backward(B, heads, L, dk, dv, q, k, v, p, dout, scale, ds, dq, dkey, dval);
  else return backend::cuda::attention_backward(B, heads, L, dk, dv, q, k, v, p, dout, scale, ds, dq, dkey, dval);
}

}  // namespace hepnn::ops
