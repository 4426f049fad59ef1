/// @file optim/schedule.hpp
/// @brief Learning-rate schedules, functions of the optimizer step (counted from 0).
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <variant>

#include "hepnn/core/error.hpp"

namespace hepnn::inline HEPNN_ABI {

/// The base learning rate throughout.
struct ConstantLR {};
/// lr * gamma^floor(step / step_size)
struct StepDecay {
  /// Steps between two reductions (positive).
  std::int64_t step_size = 1000;
  /// Factor applied at each reduction.
  double gamma = 0.1;
};
/// lr * rate^(step / decay_steps), with the exponent floored when staircase.
struct ExponentialDecay {
  /// Steps over which the rate is multiplied by decay_rate (positive).
  std::int64_t decay_steps = 1000;
  /// Factor per decay_steps steps.
  double decay_rate = 0.96;
  /// Floor the exponent: the rate changes every decay_steps steps instead of every step.
  bool staircase = false;
};
/// lr * (alpha + (1 - alpha) (1 + cos(pi min(step, decay_steps) / decay_steps)) / 2)
struct CosineDecay {
  /// Steps from the base rate down to alpha * lr, which is then kept (positive).
  std::int64_t decay_steps = 1000;
  /// The final rate as a fraction of the base rate.
  double alpha = 0.0;
};
using Schedule = std::variant<ConstantLR, StepDecay, ExponentialDecay, CosineDecay>;

/// The learning rate at `step` for base rate `lr`.
inline double scheduled_learning_rate(const Schedule& s, double lr, std::int64_t step) {
  struct V {
    double lr;
    std::int64_t step;
    double operator()(const ConstantLR&) const { return lr; }
    double operator()(const StepDecay& d) const {
      HEPNN_CHECK(d.step_size > 0, "StepDecay: step_size must be positive, got ", d.step_size);
      return lr * std::pow(d.gamma, double(step / d.step_size));
    }
    double operator()(const ExponentialDecay& d) const {
      HEPNN_CHECK(d.decay_steps > 0, "ExponentialDecay: decay_steps must be positive, got ", d.decay_steps);
      const double e = double(step) / double(d.decay_steps);
      return lr * std::pow(d.decay_rate, d.staircase ? std::floor(e) : e);
    }
    double operator()(const CosineDecay& d) const {
      HEPNN_CHECK(d.decay_steps > 0, "CosineDecay: decay_steps must be positive, got ", d.decay_steps);
      const double t = double(std::min(step, d.decay_steps)) / double(d.decay_steps);
      return lr * (d.alpha + (1.0 - d.alpha) * 0.5 * (1.0 + std::cos(3.14159265358979323846 * t)));
    }
  };
  return std::visit(V{lr, step}, s);
}

}  // namespace hepnn
