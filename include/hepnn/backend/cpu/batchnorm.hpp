/// @file backend/cpu/batchnorm.hpp
/// @brief Batch normalisation on the CPU: per-channel reductions in double, one channel per task
/// (so the sums, and the results, do not depend on the thread count).
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <cstdint>

#include "hepnn/backend/cpu/parallel.hpp"

namespace hepnn::backend::cpu::inline HEPNN_ABI {

// Layout: x is (B, C, inner); channel c of sample b is the run x[(b * C + c) * inner ...].

namespace bn_detail {
template <class F>
void for_channels(std::int64_t B, std::int64_t C, std::int64_t inner, double flops_per_element, F&& f) {
  parallel_chunks(C, flops_per_element * double(B) * double(C) * double(inner), f);
}
}  // namespace bn_detail

// Training forward: mean and biased variance of each channel over (B, inner) into mean, var (C);
// y = gamma * xhat + beta with xhat = (x - mean) / sqrt(var + eps); xhat (B, C, inner) kept when
// not null. gamma and beta may be null (1 and 0).
template <class T>
void batchnorm_forward_training(std::int64_t B, std::int64_t C, std::int64_t inner, const T* x, const T* gamma,
                                const T* beta, T eps, T* y, T* xhat, T* mean, T* var) {
  const double n = double(B) * double(inner);
  bn_detail::for_channels(B, C, inner, 8.0, [&](std::int64_t c) {
    double s = 0;
    for (std::int64_t b = 0; b < B; ++b) {
      const T* xc = x + (b * C + c) * inner;
      for (std::int64_t k = 0; k < inner; ++k) s += double(xc[k]);
    }
    const double m = s / n;
    double ss = 0;  // two passes: no cancellation for large means
    for (std::int64_t b = 0; b < B; ++b) {
      const T* xc = x + (b * C + c) * inner;
      for (std::int64_t k = 0; k < inner; ++k) ss += (double(xc[k]) - m) * (double(xc[k]) - m);
    }
    const double v = ss / n;
    mean[c] = T(m);
    var[c] = T(v);
    const double inv = 1.0 / std::sqrt(v + double(eps));
    const T ga = gamma ? gamma[c] : T(1), be = beta ? beta[c] : T(0);
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int64_t o = (b * C + c) * inner;
      for (std::int64_t k = 0; k < inner; ++k) {
        const T h = T((double(x[o + k]) - m) * inv);
        if (xhat) xhat[o + k] = h;
        y[o + k] = ga * h + be;
      }
    }
  });
}

// Inference forward with given statistics (the moving ones): y = gamma * (x - mean) / sqrt(var + eps) + beta.
template <class T>
void batchnorm_forward_inference(std::int64_t B, std::int64_t C, std::int64_t inner, const T* x, const T* gamma,
                                 const T* beta, const T* mean, const T* var, T eps, T* y, T* xhat) {
  bn_detail::for_channels(B, C, inner, 3.0, [&](std::int64_t c) {
    const double inv = 1.0 / std::sqrt(double(var[c]) + double(eps));
    const T m = mean[c], ga = gamma ? gamma[c] : T(1), be = beta ? beta[c] : T(0);
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int64_t o = (b * C + c) * inner;
      for (std::int64_t k = 0; k < inner; ++k) {
        const T h = T(double(x[o + k] - m) * inv);
        if (xhat) xhat[o + k] = h;
        y[o + k] = ga * h + be;
      }
    }
  });
}

// Backward given xhat and the variance used in forward. training: the statistics were the
// batch's own (they depend on x); otherwise they were constants.
// dgamma = sum dy * xhat, dbeta = sum dy (each skipped when null);
// dx (when not null) = gamma / sqrt(var + eps) * (dy - [mean(dy) + xhat * mean(dy * xhat)] if training).
template <class T>
void batchnorm_backward(std::int64_t B, std::int64_t C, std::int64_t inner, const T* dy, const T* xhat,
                        const T* gamma, const T* var, T eps, bool training, T* dx, T* dgamma, T* dbeta) {
  const double n = double(B) * double(inner);
  bn_detail::for_channels(B, C, inner, 6.0, [&](std::int64_t c) {
    double sd = 0, sdh = 0;
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int64_t o = (b * C + c) * inner;
      for (std::int64_t k = 0; k < inner; ++k) {
        sd += double(dy[o + k]);
        sdh += double(dy[o + k]) * double(xhat[o + k]);
      }
    }
    if (dgamma) dgamma[c] = T(sdh);
    if (dbeta) dbeta[c] = T(sd);
    if (!dx) return;
    const double scale = double(gamma ? gamma[c] : T(1)) / std::sqrt(double(var[c]) + double(eps));
    const double md = training ? sd / n : 0.0, mdh = training ? sdh / n : 0.0;
    for (std::int64_t b = 0; b < B; ++b) {
      const std::int64_t o = (b * C + c) * inner;
      for (std::int64_t k = 0; k < inner; ++k)
        dx[o + k] = T(scale * (double(dy[o + k]) - md - double(xhat[o + k]) * mdh));
    }
  });
}

// moving = momentum * moving + (1 - momentum) * batch, for the means and the variances (C each)
template <class T>
void batchnorm_update_moving(std::int64_t C, const T* mean, const T* var, T momentum, T* moving_mean,
                             T* moving_var) {
  for (std::int64_t c = 0; c < C; ++c) {
    moving_mean[c] = momentum * moving_mean[c] + (T(1) - momentum) * mean[c];
    moving_var[c] = momentum * moving_var[c] + (T(1) - momentum) * var[c];
  }
}

}  // namespace hepnn::backend::cpu
