/// @file ops/elementwise.hpp
/// @brief Bias, activations, softmax, dropout and reductions. Front door: dispatches on the device tag to backend::cpu or backend::cuda.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <type_traits>

#include "hepnn/backend/cpu/elementwise.hpp"
#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"

namespace hepnn::inline HEPNN_ABI::ops {

/// y (rows,cols) += b (cols) on every row.
template <class Device, class T>
void bias_add_forward(std::int64_t rows, std::int64_t cols, const T* b, T* y) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::bias_add_forward(rows, cols, b, y);
  else return backend::cuda::bias_add_forward(rows, cols, b, y);
}

/// db (cols) = column sums of dy (rows,cols); overwrites db.
template <class Device, class T>
void bias_add_backward(std::int64_t rows, std::int64_t cols, const T* dy, T* db) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::bias_add_backward(rows, cols, dy, db);
  else return backend::cuda::bias_add_backward(rows, cols, dy, db);
}

/// y = act(x) element-wise; y may alias x. alpha: slope (LeakyReLU) or scale (ELU).
template <class Device, class T>
void activation_forward(Activation a, T alpha, std::int64_t n, const T* x, T* y) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::activation_forward(a, alpha, n, x, y);
  else return backend::cuda::activation_forward(a, alpha, n, x, y);
}

/// dx = dy * act'(x), given x and y = act(x); dx may alias dy.
template <class Device, class T>
void activation_backward(Activation a, T alpha, std::int64_t n, const T* x, const T* y, const T* dy, T* dx) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::activation_backward(a, alpha, n, x, y, dy, dx);
  else return backend::cuda::activation_backward(a, alpha, n, x, y, dy, dx);
}

/// Fused: z += b on every row, then y = act(z). z (rows,cols) keeps the pre-activation.
template <class Device, class T>
void bias_activation_forward(Activation a, T alpha, std::int64_t rows, std::int64_t cols, const T* b, T* z, T* y) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::bias_activation_forward(a, alpha, rows, cols, b, z, y);
  else return backend::cuda::bias_activation_forward(a, alpha, rows, cols, b, z, y);
}

/// Row-wise softmax (or log-softmax when log) of x (rows,cols); y may alias x.
template <class Device, class T>
void softmax_forward(std::int64_t rows, std::int64_t cols, const T* x, T* y, bool log) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::softmax_forward(rows, cols, x, y, log);
  else return backend::cuda::softmax_forward(rows, cols, x, y, log);
}

/// Gradient of the row-wise (log-)softmax given its output y.
template <class Device, class T>
void softmax_backward(std::int64_t rows, std::int64_t cols, const T* y, const T* dy, T* dx, bool log) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::softmax_backward(rows, cols, y, dy, dx, log);
  else return backend::cuda::softmax_backward(rows, cols, y, dy, dx, log);
}

/// Inverted dropout with the Philox mask of (seed, stream): y = keep ? x / (1 - rate) : 0, element
/// i keyed by Philox number first + i (first: where a data-parallel rank's part of the batch starts).
template <class Device, class T>
void dropout_forward(std::int64_t n, T rate, std::uint64_t seed, std::uint64_t stream, const T* x, T* y,
                     std::uint64_t first = 0) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::dropout_forward(n, rate, seed, stream, x, y, first);
  else return backend::cuda::dropout_forward(n, rate, seed, stream, x, y, first);
}

/// Gradient of dropout_forward with the same (seed, stream, first): the mask is drawn again.
template <class Device, class T>
void dropout_backward(std::int64_t n, T rate, std::uint64_t seed, std::uint64_t stream, const T* dy, T* dx,
                      std::uint64_t first = 0) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::dropout_backward(n, rate, seed, stream, dy, dx, first);
  else return backend::cuda::dropout_backward(n, rate, seed, stream, dy, dx, first);
}

/// z = mean + exp(log_var / 2) eps, eps_i = philox_normal(seed, stream, first + i): the same noise on
/// every device.
template <class Device, class T>
void gaussian_sample(std::int64_t n, std::uint64_t seed, std::uint64_t stream, const T* mean, const T* log_var, T* z,
                     std::uint64_t first = 0) {
  if constexpr (std::is_same_v<Device, cpu>)
    return backend::cpu::gaussian_sample(n, seed, stream, mean, log_var, z, first);
  else return backend::cuda::gaussian_sample(n, seed, stream, mean, log_var, z, first);
}

/// Sum (or sum of squares) of n elements, accumulated in double; the same bits for any thread count.
template <class Device, class T>
double sum(std::int64_t n, const T* x, bool squares = false) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::sum(n, x, squares);
  else return backend::cuda::sum(n, x, squares);
}

/// x *= s.
template <class Device, class T>
void scale(std::int64_t n, T s, T* x) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::scale(n, s, x);
  else return backend::cuda::scale(n, s, x);
}

/// True when no element is NaN or infinite.
template <class Device, class T>
bool all_finite(std::int64_t n, const T* x) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::all_finite(n, x);
  else return backend::cuda::all_finite(n, x);
}

/// y = a x + b y over n elements (b == 0: y = a x, and y is not read).
template <class Device, class T>
void axpby(std::int64_t n, T a, const T* x, T b, T* y) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::axpby(n, a, x, b, y);
  else return backend::cuda::axpby(n, a, x, b, y);
}

/// z = x * y + beta z element by element (beta == 0: z is not read).
template <class Device, class T>
void multiply(std::int64_t n, const T* x, const T* y, T beta, T* z) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::multiply(n, x, y, beta, z);
  else return backend::cuda::multiply(n, x, y, beta, z);
}

/// Copies a rows x cols block from src (row stride src_stride elements) to dst (dst_stride).
template <class Device, class T>
void copy_2d(std::int64_t rows, std::int64_t cols, const T* src, std::int64_t src_stride, T* dst,
             std::int64_t dst_stride) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::copy_2d(rows, cols, src, src_stride, dst, dst_stride);
  else return backend::cuda::copy_2d(rows, cols, src, src_stride, dst, dst_stride);
}

/// y = x with each sample's axes reordered as g describes (ops/permute_geometry.hpp); y must
/// not alias x.
template <class Device, class T>
void permute(const PermuteGeometry& g, std::int64_t batch, const T* x, T* y) {
  if constexpr (std::is_same_v<Device, cpu>) return backend::cpu::permute(g, batch, x, y);
  else return backend::cuda::permute(g, batch, x, y);
}

}  // namespace hepnn::ops
