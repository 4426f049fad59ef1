/// @file backend/cuda/loss.cuh
/// @brief Weighted losses and their gradients on the GPU: one thread per sample running the
/// CPU's formulas (ops/loss_row.hpp), and a deterministic sum over samples.
/// nvcc only.
#pragma once
#include <cstdint>

#include "hepnn/backend/cuda/element.hpp"
#include "hepnn/backend/cuda/elementwise.cuh"
#include "hepnn/ops/loss_kind.hpp"

namespace hepnn::backend::cuda {

namespace kernels {

template <class T>
__global__ void loss_rows(LossParams p, std::int64_t B, std::int64_t C, std::int64_t target_cols,
                          const T* __restrict__ pred, const T* __restrict__ target, const T* __restrict__ w,
                          double norm, T* __restrict__ dpred, double* __restrict__ per_sample) {
  HEPNN_GRID_STRIDE(i, B) {
    per_sample[i] = loss_math::loss_row(p, C, target_cols, pred + i * C, target + i * target_cols,
                                        w ? double(w[i]) : 1.0, norm, dpred ? dpred + i * C : nullptr);
  }
}

}  // namespace kernels

template <class T>
double loss_forward_backward(const LossParams& p, std::int64_t B, std::int64_t C, std::int64_t target_cols,
                             const T* pred, const T* target, const T* w, double norm, T* dpred) {
  if (B == 0) return 0.0;
  detail::DeviceScratch scratch(sizeof(double) * std::size_t(B + kernels::reduce_max_blocks + 1));
  double* per_sample = scratch.as<double>();
  double* partial = per_sample + B;
  constexpr int threads = 128;
  const unsigned blocks = unsigned(std::min<std::int64_t>((B + threads - 1) / threads, 65535));
  detail::launch("loss_rows", blocks, threads, kernels::loss_rows<T>, p, B, C, target_cols, pred, target, w, norm,
                 dpred, per_sample);
  detail::reduce_sum(B, per_sample, false, partial, partial + kernels::reduce_max_blocks);
  return detail::read_scalar(partial + kernels::reduce_max_blocks);
}

}  // namespace hepnn::backend::cuda
