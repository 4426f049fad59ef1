/// @file ops/loss_row.hpp
/// @brief The loss formulas, one sample at a time, in double precision: shared by the CPU
/// backend (a loop over samples) and the CUDA backend (one thread per sample), so that both
/// devices compute the same function. Host-and-device code.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <cstdint>

#include "hepnn/core/device.hpp"
#include "hepnn/ops/activation_kind.hpp"
#include "hepnn/ops/loss_kind.hpp"

namespace hepnn::inline HEPNN_ABI::loss_math {

HEPNN_HOST_DEVICE inline double clamp_d(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }
HEPNN_HOST_DEVICE inline double max_d(double a, double b) { return a > b ? a : b; }

/// One sample's weighted loss w_i * l_i, with pred row pr (C values) and target row tr
/// (target_cols values: C, or 1 integer class label for the categorical cross-entropy when
/// C > 1). Writes the gradient row dr = (w_i / norm) dl_i/dpred when dr is not null. The
/// per-sample loss is the mean over the C outputs (MSE, MAE, Huber, binary CE) or the sum over
/// classes (categorical CE), as in Keras. An out-of-range class label gives NaN (and a zero row).
template <class T>
HEPNN_HOST_DEVICE inline double loss_row(const LossParams& p, std::int64_t C, std::int64_t target_cols, const T* pr,
                                         const T* tr, double wi, double norm, T* dr) {
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
        li += (d < 0 ? -d : d) * inv_c;
        if (dr) dr[c] = T(gscale * (d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0) * inv_c);
      }
      break;
    case LossKind::huber:
      for (std::int64_t c = 0; c < C; ++c) {
        const double d = double(pr[c]) - double(tr[c]), a = d < 0 ? -d : d;
        li += (a <= p.delta ? 0.5 * d * d : p.delta * (a - 0.5 * p.delta)) * inv_c;
        if (dr) dr[c] = T(gscale * (a <= p.delta ? d : p.delta * (d > 0 ? 1.0 : -1.0)) * inv_c);
      }
      break;
    case LossKind::binary_crossentropy:
      for (std::int64_t c = 0; c < C; ++c) {
        const double t = double(tr[c]);
        if (p.from_logits) {
          const double z = double(pr[c]);
          li += (max_d(z, 0.0) - z * t + std::log1p(std::exp(-(z < 0 ? -z : z)))) * inv_c;
          if (dr) dr[c] = T(gscale * (act::sigmoid(z) - t) * inv_c);
        } else {
          const double raw = double(pr[c]);
          const double q = clamp_d(raw, eps, 1.0 - eps);
          li += -(t * std::log(q) + (1.0 - t) * std::log(1.0 - q)) * inv_c;
          const bool clipped = raw < eps || raw > 1.0 - eps;
          if (dr) dr[c] = T(clipped ? 0.0 : gscale * (q - t) / (q * (1.0 - q)) * inv_c);
        }
      }
      break;
    case LossKind::categorical_crossentropy: {
      const bool sparse = target_cols == 1 && C > 1;
      if (sparse && !(double(tr[0]) >= 0.0 && double(tr[0]) < double(C))) {
        if (dr)
          for (std::int64_t c = 0; c < C; ++c) dr[c] = T(0);
        return NAN;
      }
      if (p.from_logits) {
        double mx = double(pr[0]);
        for (std::int64_t c = 1; c < C; ++c) mx = max_d(mx, double(pr[c]));
        double se = 0;
        for (std::int64_t c = 0; c < C; ++c) se += std::exp(double(pr[c]) - mx);
        const double lse = mx + std::log(se);
        if (sparse) {
          const auto y = static_cast<std::int64_t>(tr[0]);
          li = lse - double(pr[y]);
          if (dr)
            for (std::int64_t c = 0; c < C; ++c) dr[c] = T(gscale * (std::exp(double(pr[c]) - lse) - (c == y ? 1.0 : 0.0)));
        } else {
          double tsum = 0;
          for (std::int64_t c = 0; c < C; ++c) {
            tsum += double(tr[c]);
            li += double(tr[c]) * (lse - double(pr[c]));
          }
          if (dr)
            for (std::int64_t c = 0; c < C; ++c) dr[c] = T(gscale * (std::exp(double(pr[c]) - lse) * tsum - double(tr[c])));
        }
      } else {
        for (std::int64_t c = 0; c < C; ++c) {
          const double t = sparse ? (c == static_cast<std::int64_t>(tr[0]) ? 1.0 : 0.0) : double(tr[c]);
          const double raw = double(pr[c]);
          const double q = clamp_d(raw, eps, 1.0 - eps);
          li += -t * std::log(q);
          const bool clipped = raw < eps || raw > 1.0 - eps;
          if (dr) dr[c] = T(clipped ? 0.0 : -gscale * t / q);
        }
      }
      break;
    }
  }
  return wi * li;
}

}  // namespace hepnn::loss_math
