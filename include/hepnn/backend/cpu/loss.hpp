/// @file backend/cpu/loss.hpp
/// @brief Weighted losses and their gradients on the CPU.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "hepnn/ops/activation_kind.hpp"
#include "hepnn/ops/loss_kind.hpp"

namespace hepnn::backend::cpu {

// pred is (B, C); target is (B, C), or (B, 1) integer class labels for the categorical
// cross-entropy (target_cols == 1 < C); w is (B) or null (all ones).
// Returns sum_i w_i * l_i. When dpred is not null: dpred = (w_i / norm) * dl_i/dpred.
// The per-sample loss l_i is the mean over the C outputs (MSE, MAE, Huber, binary CE), or the
// sum over classes (categorical CE), as in Keras.
template <class T>
double loss_forward_backward(const LossParams& p, std::int64_t B, std::int64_t C, std::int64_t target_cols,
                             const T* pred, const T* target, const T* w, double norm, T* dpred) {
  double total = 0;
  const double inv_c = 1.0 / double(C);
  const double eps = p.epsilon;
  for (std::int64_t i = 0; i < B; ++i) {
    const T* pr = pred + i * C;
    const T* tr = target + i * target_cols;
    T* dr = dpred ? dpred + i * C : nullptr;
    const double wi = w ? double(w[i]) : 1.0;
    const double gscale = wi / norm;
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
          li += std::abs(d) * inv_c;
          if (dr) dr[c] = T(gscale * (d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0) * inv_c);
        }
        break;
      case LossKind::huber:
        for (std::int64_t c = 0; c < C; ++c) {
          const double d = double(pr[c]) - double(tr[c]), a = std::abs(d);
          li += (a <= p.delta ? 0.5 * d * d : p.delta * (a - 0.5 * p.delta)) * inv_c;
          if (dr) dr[c] = T(gscale * (a <= p.delta ? d : p.delta * (d > 0 ? 1.0 : -1.0)) * inv_c);
        }
        break;
      case LossKind::binary_crossentropy:
        for (std::int64_t c = 0; c < C; ++c) {
          const double t = double(tr[c]);
          if (p.from_logits) {
            const double z = double(pr[c]);
            // log(1 + e^z) - t z, written so that it never overflows
            li += (std::max(z, 0.0) - z * t + std::log1p(std::exp(-std::abs(z)))) * inv_c;
            if (dr) dr[c] = T(gscale * (act::sigmoid(z) - t) * inv_c);
          } else {
            const double raw = double(pr[c]);
            const double q = std::clamp(raw, eps, 1.0 - eps);
            li += -(t * std::log(q) + (1.0 - t) * std::log(1.0 - q)) * inv_c;
            const bool clipped = raw < eps || raw > 1.0 - eps;
            if (dr) dr[c] = T(clipped ? 0.0 : gscale * (q - t) / (q * (1.0 - q)) * inv_c);
          }
        }
        break;
      case LossKind::categorical_crossentropy: {
        const bool sparse = target_cols == 1 && C > 1;
        if (p.from_logits) {
          double mx = pr[0];
          for (std::int64_t c = 1; c < C; ++c) mx = std::max(mx, double(pr[c]));
          double se = 0;
          for (std::int64_t c = 0; c < C; ++c) se += std::exp(double(pr[c]) - mx);
          const double lse = mx + std::log(se);
          if (sparse) {
            const auto y = static_cast<std::int64_t>(tr[0]);
            li = lse - double(pr[y]);
            if (dr)
              for (std::int64_t c = 0; c < C; ++c)
                dr[c] = T(gscale * (std::exp(double(pr[c]) - lse) - (c == y ? 1.0 : 0.0)));
          } else {
            double tsum = 0;
            for (std::int64_t c = 0; c < C; ++c) {
              tsum += double(tr[c]);
              li += double(tr[c]) * (lse - double(pr[c]));
            }
            if (dr)
              for (std::int64_t c = 0; c < C; ++c)
                dr[c] = T(gscale * (std::exp(double(pr[c]) - lse) * tsum - double(tr[c])));
          }
        } else {
          for (std::int64_t c = 0; c < C; ++c) {
            const double t = sparse ? (c == static_cast<std::int64_t>(tr[0]) ? 1.0 : 0.0) : double(tr[c]);
            const double raw = double(pr[c]);
            const double q = std::clamp(raw, eps, 1.0 - eps);
            li += -t * std::log(q);
            const bool clipped = raw < eps || raw > 1.0 - eps;
            if (dr) dr[c] = T(clipped ? 0.0 : -gscale * t / q);
          }
        }
        break;
      }
    }
    total += wi * li;
  }
  return total;
}

}  // namespace hepnn::backend::cpu
