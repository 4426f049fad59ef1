/// @file backend/cpu/recurrent.hpp
/// @brief The element-wise part of one LSTM or GRU step on the CPU (the products are gemm calls
/// of the layers). LSTM gates in Keras' (and PyTorch's) order: input i, forget f, candidate g,
/// output o. GRU gates in Keras' order: update z, reset r, candidate h (PyTorch: r, z, n).
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <cstdint>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/backend/cpu/vmath.hpp"

namespace hepnn::backend::cpu::inline HEPNN_ABI {

namespace detail {
template <class T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}
}  // namespace detail

/// z (B, 4H): x W + b + h_prev U on input, the activated gates (i, f, g, o) on output. c_prev,
/// h_prev (B, H): the previous state, null for zeros. mask: sample b's flag at mask[b * stride],
/// null for all real; a masked sample carries its state over. Writes c and h (B, H).
template <class T>
void lstm_cell_forward(std::int64_t B, std::int64_t H, T* z, const T* c_prev, const T* h_prev, const T* mask,
                       std::int64_t mask_stride, T* c, T* h) {
  // the gates through the SIMD activations (vmath.hpp: float), one sample's 4H values at a time
  parallel_range(B, std::max<std::int64_t>(1, 4096 / H), double(40 * H), [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      T* zb = z + b * 4 * H;
      T* cb = c + b * H;
      T* hb = h + b * H;
      if (mask && mask[b * mask_stride] == T(0)) {
        for (std::int64_t j = 0; j < H; ++j) {
          cb[j] = c_prev ? c_prev[b * H + j] : T(0);
          hb[j] = h_prev ? h_prev[b * H + j] : T(0);
        }
        for (std::int64_t j = 0; j < 4 * H; ++j) zb[j] = T(0);
        continue;
      }
      activation_block(Activation::sigmoid, T(0), 2 * H, zb, zb);  // i, f
      activation_block(Activation::tanh, T(0), H, zb + 2 * H, zb + 2 * H);  // g
      activation_block(Activation::sigmoid, T(0), H, zb + 3 * H, zb + 3 * H);  // o
      for (std::int64_t j = 0; j < H; ++j) cb[j] = zb[H + j] * (c_prev ? c_prev[b * H + j] : T(0)) + zb[j] * zb[2 * H + j];
      activation_block(Activation::tanh, T(0), H, cb, hb);
      for (std::int64_t j = 0; j < H; ++j) hb[j] *= zb[3 * H + j];
    }
  });
}

/// Backward of one step. gates (B, 4H): the activated gates of the forward step, overwritten by
/// the gradient of the pre-activations z. c: the step's cell state, c_prev the one before (null:
/// zeros). dh: the gradient of the step's h from later steps; dy (row stride dy_stride, null:
/// none): the gradient of the step's output, added on real samples. dc: the gradient of c on
/// input, of c_prev on output. dh_carry (B, H): dh passed through on masked samples, 0 on real
/// ones (the caller adds dz U^T).
template <class T>
void lstm_cell_backward(std::int64_t B, std::int64_t H, T* gates, const T* c, const T* c_prev, const T* mask,
                        std::int64_t mask_stride, const T* dh, const T* dy, std::int64_t dy_stride, T* dc,
                        T* dh_carry) {
  parallel_range(B, std::max<std::int64_t>(1, 4096 / H), double(30 * H), [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      T* gb = gates + b * 4 * H;
      if (mask && mask[b * mask_stride] == T(0)) {
        for (std::int64_t j = 0; j < H; ++j) dh_carry[b * H + j] = dh[b * H + j];
        for (std::int64_t j = 0; j < 4 * H; ++j) gb[j] = T(0);
        continue;
      }
      T* tanh_c = dh_carry + b * H;  // tanh(c) through the SIMD tanh, in the row set to 0 below
      activation_block(Activation::tanh, T(0), H, c + b * H, tanh_c);
      for (std::int64_t j = 0; j < H; ++j) {
        const T i = gb[j], f = gb[H + j], g = gb[2 * H + j], o = gb[3 * H + j];
        const T dht = dh[b * H + j] + (dy ? dy[b * dy_stride + j] : T(0));
        const T tc = tanh_c[j];
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
  });
}

/// One GRU step (Keras' reset_after form, as PyTorch): xw (B, 3H) holds x W + b_in on input and
/// the gates z, r, hh on output; hu (B, 3H) holds h_prev U + b_rec (kept for backward). h_prev
/// null: zeros. A masked sample carries h_prev over.
///   z = sigmoid(xw_z + hu_z), r = sigmoid(xw_r + hu_r), hh = tanh(xw_h + r hu_h), h = z h_prev + (1 - z) hh
template <class T>
void gru_cell_forward(std::int64_t B, std::int64_t H, T* xw, const T* hu, const T* h_prev, const T* mask,
                      std::int64_t mask_stride, T* h) {
  parallel_range(B, std::max<std::int64_t>(1, 4096 / H), double(30 * H), [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      T* g = xw + b * 3 * H;
      const T* u = hu + b * 3 * H;
      if (mask && mask[b * mask_stride] == T(0)) {
        for (std::int64_t j = 0; j < H; ++j) h[b * H + j] = h_prev ? h_prev[b * H + j] : T(0);
        for (std::int64_t j = 0; j < 3 * H; ++j) g[j] = T(0);
        continue;
      }
      for (std::int64_t j = 0; j < 2 * H; ++j) g[j] += u[j];
      activation_block(Activation::sigmoid, T(0), 2 * H, g, g);  // z, r
      for (std::int64_t j = 0; j < H; ++j) g[2 * H + j] += g[H + j] * u[2 * H + j];
      activation_block(Activation::tanh, T(0), H, g + 2 * H, g + 2 * H);  // hh
      for (std::int64_t j = 0; j < H; ++j)
        h[b * H + j] = g[j] * (h_prev ? h_prev[b * H + j] : T(0)) + (T(1) - g[j]) * g[2 * H + j];
    }
  });
}

/// Backward of one GRU step. gates (B, 3H): z, r, hh of the forward step, overwritten by the
/// gradient of xw; hu (B, 3H): overwritten by the gradient of hu. dh, dy, dy_stride as for the
/// LSTM. dh_carry (B, H): the gradient reaching h_prev directly (dh on masked samples, dh z on
/// real ones); the caller adds d(hu) U^T.
template <class T>
void gru_cell_backward(std::int64_t B, std::int64_t H, T* gates, T* hu, const T* h_prev, const T* mask,
                       std::int64_t mask_stride, const T* dh, const T* dy, std::int64_t dy_stride, T* dh_carry) {
  parallel_range(B, std::max<std::int64_t>(1, 4096 / H), double(20 * H), [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
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
  });
}

}  // namespace hepnn::backend::cpu
