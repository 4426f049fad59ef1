/// @file backend/cuda/recurrent.cuh
/// @brief The element-wise part of one LSTM or GRU step on the GPU, with the conventions of
/// backend/cpu/recurrent.hpp: one thread per (sample, unit) over the four gates. nvcc only.
#pragma once
#include <cstdint>

#include "hepnn/backend/cuda/element.hpp"
#include "hepnn/backend/cuda/elementwise.cuh"

namespace hepnn::backend::cuda {

namespace kernels {

template <class T>
__device__ T lstm_sigmoid(T x) {
  return T(1) / (T(1) + exp(-x));
}

template <class T>
__global__ void lstm_cell_forward(std::int64_t B, std::int64_t H, T* __restrict__ z, const T* __restrict__ c_prev,
                                  const T* __restrict__ h_prev, const T* __restrict__ mask, std::int64_t mask_stride,
                                  T* __restrict__ c, T* __restrict__ h) {
  HEPNN_GRID_STRIDE(e, B * H) {
    const std::int64_t b = e / H, j = e - b * H;
    T* zb = z + b * 4 * H;
    if (mask && mask[b * mask_stride] == T(0)) {
      c[e] = c_prev ? c_prev[e] : T(0);
      h[e] = h_prev ? h_prev[e] : T(0);
      zb[j] = zb[H + j] = zb[2 * H + j] = zb[3 * H + j] = T(0);
      continue;
    }
    const T i = lstm_sigmoid(zb[j]), f = lstm_sigmoid(zb[H + j]), g = tanh(zb[2 * H + j]),
            o = lstm_sigmoid(zb[3 * H + j]);
    const T cn = f * (c_prev ? c_prev[e] : T(0)) + i * g;
    c[e] = cn;
    h[e] = o * tanh(cn);
    zb[j] = i;
    zb[H + j] = f;
    zb[2 * H + j] = g;
    zb[3 * H + j] = o;
  }
}

template <class T>
__global__ void lstm_cell_backward(std::int64_t B, std::int64_t H, T* __restrict__ gates, const T* __restrict__ c,
                                   const T* __restrict__ c_prev, const T* __restrict__ mask, std::int64_t mask_stride,
                                   const T* __restrict__ dh, const T* __restrict__ dy, std::int64_t dy_stride,
                                   T* __restrict__ dc, T* __restrict__ dh_carry) {
  HEPNN_GRID_STRIDE(e, B * H) {
    const std::int64_t b = e / H, j = e - b * H;
    T* gb = gates + b * 4 * H;
    if (mask && mask[b * mask_stride] == T(0)) {
      dh_carry[e] = dh[e];
      gb[j] = gb[H + j] = gb[2 * H + j] = gb[3 * H + j] = T(0);
      continue;
    }
    const T i = gb[j], f = gb[H + j], g = gb[2 * H + j], o = gb[3 * H + j];
    const T dht = dh[e] + (dy ? dy[b * dy_stride + j] : T(0));
    const T tc = tanh(c[e]);
    const T dct = dc[e] + dht * o * (T(1) - tc * tc);
    const T cp = c_prev ? c_prev[e] : T(0);
    gb[j] = dct * g * i * (T(1) - i);
    gb[H + j] = dct * cp * f * (T(1) - f);
    gb[2 * H + j] = dct * i * (T(1) - g * g);
    gb[3 * H + j] = dht * tc * o * (T(1) - o);
    dc[e] = dct * f;
    dh_carry[e] = T(0);
  }
}

template <class T>
__global__ void gru_cell_forward(std::int64_t B, std::int64_t H, T* __restrict__ xw, const T* __restrict__ hu,
                                 const T* __restrict__ h_prev, const T* __restrict__ mask, std::int64_t mask_stride,
                                 T* __restrict__ h) {
  HEPNN_GRID_STRIDE(e, B * H) {
    const std::int64_t b = e / H, j = e - b * H;
    T* g = xw + b * 3 * H;
    const T* u = hu + b * 3 * H;
    if (mask && mask[b * mask_stride] == T(0)) {
      h[e] = h_prev ? h_prev[e] : T(0);
      g[j] = g[H + j] = g[2 * H + j] = T(0);
      continue;
    }
    const T z = lstm_sigmoid(g[j] + u[j]), r = lstm_sigmoid(g[H + j] + u[H + j]);
    const T hh = tanh(g[2 * H + j] + r * u[2 * H + j]);
    const T hp = h_prev ? h_prev[e] : T(0);
    h[e] = z * hp + (T(1) - z) * hh;
    g[j] = z;
    g[H + j] = r;
    g[2 * H + j] = hh;
  }
}

template <class T>
__global__ void gru_cell_backward(std::int64_t B, std::int64_t H, T* __restrict__ gates, T* __restrict__ hu,
                                  const T* __restrict__ h_prev, const T* __restrict__ mask, std::int64_t mask_stride,
                                  const T* __restrict__ dh, const T* __restrict__ dy, std::int64_t dy_stride,
                                  T* __restrict__ dh_carry) {
  HEPNN_GRID_STRIDE(e, B * H) {
    const std::int64_t b = e / H, j = e - b * H;
    T* g = gates + b * 3 * H;
    T* u = hu + b * 3 * H;
    if (mask && mask[b * mask_stride] == T(0)) {
      dh_carry[e] = dh[e];
      g[j] = g[H + j] = g[2 * H + j] = T(0);
      u[j] = u[H + j] = u[2 * H + j] = T(0);
      continue;
    }
    const T z = g[j], r = g[H + j], hh = g[2 * H + j], uh = u[2 * H + j];
    const T dht = dh[e] + (dy ? dy[b * dy_stride + j] : T(0));
    const T hp = h_prev ? h_prev[e] : T(0);
    const T da_h = dht * (T(1) - z) * (T(1) - hh * hh);
    const T da_r = da_h * uh * r * (T(1) - r);
    const T da_z = dht * (hp - hh) * z * (T(1) - z);
    g[j] = da_z;
    g[H + j] = da_r;
    g[2 * H + j] = da_h;
    u[j] = da_z;
    u[H + j] = da_r;
    u[2 * H + j] = da_h * r;
    dh_carry[e] = dht * z;
  }
}

}  // namespace kernels

template <class T>
void lstm_cell_forward(std::int64_t B, std::int64_t H, T* z, const T* c_prev, const T* h_prev, const T* mask,
                       std::int64_t mask_stride, T* c, T* h) {
  if (B * H == 0) return;
  detail::launch("lstm_cell_forward", detail::blocks_for(B * H), detail::threads_per_block,
                 kernels::lstm_cell_forward<T>, B, H, z, c_prev, h_prev, mask, mask_stride, c, h);
}

template <class T>
void lstm_cell_backward(std::int64_t B, std::int64_t H, T* gates, const T* c, const T* c_prev, const T* mask,
                        std::int64_t mask_stride, const T* dh, const T* dy, std::int64_t dy_stride, T* dc,
                        T* dh_carry) {
  if (B * H == 0) return;
  detail::launch("lstm_cell_backward", detail::blocks_for(B * H), detail::threads_per_block,
                 kernels::lstm_cell_backward<T>, B, H, gates, c, c_prev, mask, mask_stride, dh, dy, dy_stride, dc,
                 dh_carry);
}

template <class T>
void gru_cell_forward(std::int64_t B, std::int64_t H, T* xw, const T* hu, const T* h_prev, const T* mask,
                      std::int64_t mask_stride, T* h) {
  if (B * H == 0) return;
  detail::launch("gru_cell_forward", detail::blocks_for(B * H), detail::threads_per_block, kernels::gru_cell_forward<T>,
                 B, H, xw, hu, h_prev, mask, mask_stride, h);
}

template <class T>
void gru_cell_backward(std::int64_t B, std::int64_t H, T* gates, T* hu, const T* h_prev, const T* mask,
                       std::int64_t mask_stride, const T* dh, const T* dy, std::int64_t dy_stride, T* dh_carry) {
  if (B * H == 0) return;
  detail::launch("gru_cell_backward", detail::blocks_for(B * H), detail::threads_per_block,
                 kernels::gru_cell_backward<T>, B, H, gates, hu, h_prev, mask, mask_stride, dh, dy, dy_stride,
                 dh_carry);
}

}  // namespace hepnn::backend::cuda
