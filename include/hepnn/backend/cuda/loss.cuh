/// @file backend/cuda/loss.cuh
/// @brief Weighted losses and their gradients on the GPU: one thread per sample, the same
/// double-precision arithmetic as backend/cpu/loss.hpp, and a deterministic sum over samples.
/// nvcc only.
#pragma once
#include <cstdint>

#include "hepnn/backend/cuda/elementwise.cuh"
#include "hepnn/ops/loss_kind.hpp"

namespace hepnn::backend::cuda {

namespace kernels {

__device__ inline double clamp_d(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }
__device__ inline double sign_d(double d) { return d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0); }

template <class T>
__global__ void loss_rows(LossParams p, std::int64_t B, std::int64_t C, std::int64_t target_cols, const T* __restrict__ pred,
                          const T* __restrict__ target, const T* __restrict__ w, double norm, T* __restrict__ dpred,
                          double* __restrict__ per_sample) {
  HEPNN_GRID_STRIDE(i, B) {
    const T* pr = pred + i * C;
    const T* tr = target + i * target_cols;
    T* dr = dpred ? dpred + i * C : nullptr;
    const double wi = w ? double(w[i]) : 1.0;
    const double gscale = wi / norm, inv_c = 1.0 / double(C), eps = p.epsilon;
    double li = 0;
    switch (p.kind) {
      case LossKind::mse:
        for (std::int64_t c = 0; c < C; ++c) {
          const double d = double(pr[c]) - double(tr[c]);
          li += d * d * inv_c;
          if (dr) dr[c] = T(gscale * 2.0 * d * inv_c);
        }
        break;
      case LossKind::mae:
        for (std::int64_t c = 0; c < C; ++c) {
          const double d = double(pr[c]) - double(tr[c]);
          li += fabs(d) * inv_c;
          if (dr) dr[c] = T(gscale * sign_d(d) * inv_c);
        }
        break;
      case LossKind::huber:
        for (std::int64_t c = 0; c < C; ++c) {
          const double d = double(pr[c]) - double(tr[c]), a = fabs(d);
          li += (a <= p.delta ? 0.5 * d * d : p.delta * (a - 0.5 * p.delta)) * inv_c;
          if (dr) dr[c] = T(gscale * (a <= p.delta ? d : p.delta * (d > 0 ? 1.0 : -1.0)) * inv_c);
        }
        break;
      case LossKind::binary_crossentropy:
        for (std::int64_t c = 0; c < C; ++c) {
          const double t = double(tr[c]);
          if (p.from_logits) {
            const double z = double(pr[c]);
            li += (fmax(z, 0.0) - z * t + log1p(exp(-fabs(z)))) * inv_c;
            if (dr) dr[c] = T(gscale * (act::sigmoid(z) - t) * inv_c);
          } else {
            const double raw = double(pr[c]);
            const double q = clamp_d(raw, eps, 1.0 - eps);
            li += -(t * log(q) + (1.0 - t) * log(1.0 - q)) * inv_c;
            const bool clipped = raw < eps || raw > 1.0 - eps;
            if (dr) dr[c] = T(clipped ? 0.0 : gscale * (q - t) / (q * (1.0 - q)) * inv_c);
          }
        }
        break;
      case LossKind::categorical_crossentropy: {
        const bool sparse = target_cols == 1 && C > 1;
        if (sparse) {
          const double label = double(tr[0]);
          if (!(label >= 0.0 && label < double(C))) {  // an invalid label poisons the loss: the caller reports it
            li = NAN;
            if (dr)
              for (std::int64_t c = 0; c < C; ++c) dr[c] = T(0);
            break;
          }
        }
        if (p.from_logits) {
          double mx = double(pr[0]);
          for (std::int64_t c = 1; c < C; ++c) mx = fmax(mx, double(pr[c]));
          double se = 0;
          for (std::int64_t c = 0; c < C; ++c) se += exp(double(pr[c]) - mx);
          const double lse = mx + log(se);
          if (sparse) {
            const auto y = static_cast<std::int64_t>(tr[0]);
            li = lse - double(pr[y]);
            if (dr)
              for (std::int64_t c = 0; c < C; ++c) dr[c] = T(gscale * (exp(double(pr[c]) - lse) - (c == y ? 1.0 : 0.0)));
          } else {
            double tsum = 0;
            for (std::int64_t c = 0; c < C; ++c) {
              tsum += double(tr[c]);
              li += double(tr[c]) * (lse - double(pr[c]));
            }
            if (dr)
              for (std::int64_t c = 0; c < C; ++c) dr[c] = T(gscale * (exp(double(pr[c]) - lse) * tsum - double(tr[c])));
          }
        } else {
          for (std::int64_t c = 0; c < C; ++c) {
            const double t = sparse ? (c == static_cast<std::int64_t>(tr[0]) ? 1.0 : 0.0) : double(tr[c]);
            const double raw = double(pr[c]);
            const double q = clamp_d(raw, eps, 1.0 - eps);
            li += -t * log(q);
            const bool clipped = raw < eps || raw > 1.0 - eps;
            if (dr) dr[c] = T(clipped ? 0.0 : -gscale * t / q);
          }
        }
        break;
      }
    }
    per_sample[i] = wi * li;
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
  kernels::loss_rows<T><<<blocks, threads, 0, detail::stream()>>>(p, B, C, target_cols, pred, target, w, norm, dpred,
                                                                  per_sample);
  HEPNN_CUDA_CHECK_LAUNCH("loss_rows");
  detail::reduce_sum(B, per_sample, false, partial, partial + kernels::reduce_max_blocks);
  return detail::read_scalar(partial + kernels::reduce_max_blocks);
}

}  // namespace hepnn::backend::cuda
