/// @file backend/cpu/recurrent.hpp
/// @brief The element-wise part of one LSTM or GRU step on the CPU (the products are gemm calls
/// of the layers). LSTM gates in Keras' (and PyTorch's) order: input i, forget f, candidate g,
/// output o. GRU gates in Keras' order: update z, reset r, candidate h (PyTorch: r, z, n).
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <cstdint>

namespace hepnn::backend::cpu::inline HEPNN_ABI {

namespace detail {
template <class T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}
}  // namespace detail

// z (B, 4H): x W + b + h_prev U on input, the activated gates (i, f, g, o) on output. c_prev,
// h_prev (B, H): the previous state, null for zeros. mask: sample b's flag at mask[b * stride],
// null for all real; a masked sample carries its state over. Writes c and h (B, H).
template <class T>
void lstm_cell_forward(std::int64_t B, std::int64_t H, T* z, const T* c_prev, const T* h_prev, const T* mask,
                       std::int64_t mask_stride, T* c, T* h) {
  for (std::int64_t b = 0; b < B; ++b) {
    T* zb = z + b * 4 * H;
    if (mask && mask[b * mask_stride] == T(0)) {
      for (std::int64_t j = 0; j < H; ++j) {
        c[b * H + j] = c_prev ? c_prev[b * H + j] : T(0);
        h[b * H + j] = h_prev ? h_prev[b * H + j] : T(0);
      }
      for (std::int64_t j = 0; j < 4 * H; ++j) zb[j] = T(0);
      continue;
    }
    for (std::int64_t j = 0; j < H; ++j) {
      const T i = detail::sigmoid(zb[j]), f = detail::sigmoid(zb[H + j]), g = std::tanh(zb[2 * H + j]),
              o = detail::sigmoid(zb[3 * H + j]);
      const T cn = f * (c_prev ? c_prev[b * H + j] : T(0)) + i * g;
      c[b * H + j] = cn;
      h[b * H + j] = o * std::tanh(cn);
      zb[j] = i;
      zb[H + j] = f;
      zb[2 * H + j] = g;
      zb[3 * H + j] = o;
    }
  }
}

// Backward of one step. gates (B, 4H): the activated gates of the forward step, overwritten by
// the gradient of the pre-activations z. c: the step's cell state, c_prev the one before (null:
// zeros). dh: the gradient of the step's h from later steps; dy (row stride dy_stride, null:
// none): the gradient of the step's output, added on real samples. dc: the gradient of c on
// input, of c_prev on output. dh_carry (B, H): dh passed through on masked samples, 0 on real
// ones (the caller adds dz U^T).
template <class T>
void lstm_cell_backward(std::int64_t B, std::int64_t H, T* gates, const T* c, const T* c_prev, const T* mask,
                        std::int64_t mask_stride, const T* dh, const T* dy, std::int64_t dy_stride, T* dc,
                        T* dh_carry) {
  for (std::int64_t b = 0; b < B; ++b) {
    T* gb = gates + b * 4 * H;
    if (mask && mask[b * mask_stride] == T(0)) {
      for (std::int64_t j = 0; j < H; ++j) dh_carry[b * H + j] = dh[b * H + j];
      for (std::int64_t j = 0; j < 4 * H; ++j) gb[j] = T(0);
      continue;
    }
    for (std::int64_t j = 0; j < H; ++j) {
      const T i = gb[j], f = gb[H + j], g = gb[2 * H + j], o = gb[3 * H + j];
      const T dht = dh[b * H + j] + (dy ? dy[b * dy_stride + j] : T(0));
      const T tc = std::tanh(c[b * H + j]);
      const T dct = dc[b * H + j] + dht * o * (T(1) - tc * tc);
      const T cp = c_prev ? c_prev[b * H + j] : T(0);
      gb[j] = dct * g * i * (T(1) - i);
      gb[H + j] = dct * cp * f * (T(1) - f);
      gb[2 * H + j] = dct * i * (T(1) - g * g);
      gb[3 * H + j] = dht * tc * o * (T(1) - o);
      dc[b * H + j] = dct * f;
      dh_carry[b * H + j] = T(0);
    }
  }
}

// One GRU step (Keras' reset_after form, as PyTorch): xw (B, 3H) holds x W + b_in on input and
// the gates z, r, hh on output; hu (B, 3H) holds h_prev U + b_rec (kept for backward). h_prev
// null: zeros. A masked sample carries h_prev over.
//   z = sigmoid(xw_z + hu_z), r = sigmoid(xw_r + hu_r), hh = tanh(xw_h + r hu_h), h = z h_prev + (1 - z) hh
template <class T>
void gru_cell_forward(std::int64_t B, std::int64_t H, T* xw, const T* hu, const T* h_prev, const T* mask,
                      std::int64_t mask_stride, T* h) {
  for (std::int64_t b = 0; b < B; ++b) {
    T* g = xw + b * 3 * H;
    const T* u = hu + b * 3 * H;
    if (mask && mask[b * mask_stride] == T(0)) {
      for (std::int64_t j = 0; j < H; ++j) h[b * H + j] = h_prev ? h_prev[b * H + j] : T(0);
      for (std::int64_t j = 0; j < 3 * H; ++j) g[j] = T(0);
      continue;
    }
    for (std::int64_t j = 0; j < H; ++j) {
      const T z = detail::sigmoid(g[j] + u[j]), r = detail::sigmoid(g[H + j] + u[H + j]);
      const T hh = std::tanh(g[2 * H + j] + r * u[2 * H + j]);
      const T hp = h_prev ? h_prev[b * H + j] : T(0);
      h[b * H + j] = z * hp + (T(1) - z) * hh;
      g[j] = z;
      g[H + j] = r;
      g[2 * H + j] = hh;
    }
  }
}

// Backward of one GRU step. gates (B, 3H): z, r, hh of the forward step, overwritten by the
// gradient of xw; hu (B, 3H): overwritten by the gradient of hu. dh, dy, dy_stride as for the
// LSTM. dh_carry (B, H): the gradient reaching h_prev directly (dh on masked samples, dh z on
// real ones); the caller adds d(hu) U^T.
template <class T>
void gru_cell_backward(std::int64_t B, std::int64_t H, T* gates, T* hu, const T* h_prev, const T* mask,
                       std::int64_t mask_stride, const T* dh, const T* dy, std::int64_t dy_stride, T* dh_carry) {
  for (std::int64_t b = 0; b < B; ++b) {
    T* g = gates + b * 3 * H;
    T* u = hu + b * 3 * H;
    if (mask && mask[b * mask_stride] == T(0)) {
      for (std::int64_t j = 0; j < H; ++j) dh_carry[b * H + j] = dh[b * H + j];
      for (std::int64_t j = 0; j < 3 * H; ++j) g[j] = u[j] = T(0);
      continue;
    }
    for (std::int64_t j = 0; j < H; ++j) {
      const T z = g[j], r = g[H + j], hh = g[2 * H + j], uh = u[2 * H + j];
      const T dht = dh[b * H + j] + (dy ? dy[b * dy_stride + j] : T(0));
      const T hp = h_prev ? h_prev[b * H + j] : T(0);
      const T da_h = dht * (T(1) - z) * (T(1) - hh * hh);
      const T da_r = da_h * uh * r * (T(1) - r);
      const T da_z = dht * (hp - hh) * z * (T(1) - z);
      g[j] = da_z;
      g[H + j] = da_r;
      g[2 * H + j] = da_h;
      u[j] = da_z;
      u[H + j] = da_r;
      u[2 * H + j] = da_h * r;
      dh_carry[b * H + j] = dht * z;
    }
  }
}

}  // namespace hepnn::backend::cpu
