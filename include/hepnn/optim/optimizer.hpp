/// @file optim/optimizer.hpp
/// @brief Optimizer specs (device-free; Keras defaults) and Optimizer<T, Device>, which owns
/// the state buffers and applies one fused update over the model's flat parameter buffer.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <string>
#include <variant>
#include <vector>

#include "hepnn/core/tensor.hpp"
#include "hepnn/ops/elementwise.hpp"
#include "hepnn/ops/optim.hpp"
#include "hepnn/optim/schedule.hpp"

namespace hepnn::inline HEPNN_ABI {

// Common fields: weight_decay (L2, added to the gradient; AdamW decouples it), clip_norm
// (rescale the whole gradient when its global L2 norm exceeds it; 0 = off), schedule.

/// p -= lr * g, with momentum and Nesterov momentum as in PyTorch.
struct SGD {
  double learning_rate = 0.01;  ///< base learning rate (the schedule scales it)
  double momentum = 0.0;        ///< momentum factor, in [0, 1)
  bool nesterov = false;        ///< Nesterov momentum (needs momentum > 0)
  double weight_decay = 0.0;    ///< L2 penalty: weight_decay * p added to the gradient
  double clip_norm = 0.0;       ///< rescale the gradient when its global L2 norm exceeds this; 0: off
  Schedule schedule = ConstantLR{};  ///< learning-rate schedule
};
/// Adam (Kingma & Ba), with Keras' defaults.
struct Adam {
  double learning_rate = 1e-3;  ///< base learning rate (the schedule scales it)
  double beta1 = 0.9;           ///< decay of the first-moment average, in [0, 1)
  double beta2 = 0.999;         ///< decay of the second-moment average, in [0, 1)
  double epsilon = 1e-7;        ///< added to the denominator (positive)
  double weight_decay = 0.0;    ///< L2 penalty: weight_decay * p added to the gradient
  double clip_norm = 0.0;       ///< rescale the gradient when its global L2 norm exceeds this; 0: off
  Schedule schedule = ConstantLR{};  ///< learning-rate schedule
};
/// Adam with decoupled weight decay (Loshchilov & Hutter): p -= lr * weight_decay * p per step.
struct AdamW {
  double learning_rate = 1e-3;  ///< base learning rate (the schedule scales it)
  double beta1 = 0.9;           ///< decay of the first-moment average, in [0, 1)
  double beta2 = 0.999;         ///< decay of the second-moment average, in [0, 1)
  double epsilon = 1e-7;        ///< added to the denominator (positive)
  double weight_decay = 0.004;  ///< decoupled decay: p -= lr * weight_decay * p per step
  double clip_norm = 0.0;       ///< rescale the gradient when its global L2 norm exceeds this; 0: off
  Schedule schedule = ConstantLR{};  ///< learning-rate schedule
};
/// RMSprop: the gradient divided by a moving root mean square of the gradients.
struct RMSprop {
  double learning_rate = 1e-3;  ///< base learning rate (the schedule scales it)
  double rho = 0.9;             ///< decay of the squared-gradient average, in [0, 1)
  double epsilon = 1e-7;        ///< added to the denominator (positive)
  double weight_decay = 0.0;    ///< L2 penalty: weight_decay * p added to the gradient
  double clip_norm = 0.0;       ///< rescale the gradient when its global L2 norm exceeds this; 0: off
  Schedule schedule = ConstantLR{};  ///< learning-rate schedule
};
/// Adagrad: the gradient divided by the root of the sum of all squared gradients so far.
struct Adagrad {
  double learning_rate = 1e-3;  ///< base learning rate (the schedule scales it)
  double initial_accumulator_value = 0.1;  ///< starting value of the squared-gradient sums (>= 0)
  double epsilon = 1e-7;        ///< added to the denominator (positive)
  double weight_decay = 0.0;    ///< L2 penalty: weight_decay * p added to the gradient
  double clip_norm = 0.0;       ///< rescale the gradient when its global L2 norm exceeds this; 0: off
  Schedule schedule = ConstantLR{};  ///< learning-rate schedule
};
using OptimizerSpec = std::variant<SGD, Adam, AdamW, RMSprop, Adagrad>;

inline std::string optimizer_name(const OptimizerSpec& s) {
  static const char* names[] = {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"};
  return names[s.index()];
}

/// The state of one optimizer over a flat parameter buffer of n elements.
template <class T, class Device>
class Optimizer {
 public:
  Optimizer() = default;
  Optimizer(const OptimizerSpec& spec, std::int64_t n) : m_spec(spec), m_n(n), m_ready(true) {
    std::visit([&](const auto& o) { validate(o); }, m_spec);
    const int buffers = std::holds_alternative<Adam>(spec) || std::holds_alternative<AdamW>(spec) ? 2
                        : std::holds_alternative<SGD>(spec) ? (std::get<SGD>(spec).momentum != 0 ? 1 : 0)
                                                             : 1;
    const T init = std::holds_alternative<Adagrad>(spec) ? T(std::get<Adagrad>(spec).initial_accumulator_value) : T(0);
    for (int b = 0; b < buffers; ++b) {
      Tensor<T, cpu> host(Shape{n}, init);
      m_state.push_back(host.template to<Device>());
    }
  }

  const OptimizerSpec& spec() const { return m_spec; }
  std::int64_t iterations() const { return m_step; }
  /// The learning rate the next step uses (schedule times the plateau factor).
  double learning_rate() const {
    return std::visit([&](const auto& o) { return scheduled_learning_rate(o.schedule, o.learning_rate, m_step); },
                      m_spec) *
           m_factor;
  }
  /// ReduceLROnPlateau and users scale the scheduled rate by this factor.
  double factor() const { return m_factor; }
  void set_factor(double f) { m_factor = f; }
  /// The state buffers (for checkpoints): Adam/AdamW m and v, SGD velocity, RMSprop/Adagrad accumulators.
  std::vector<Tensor<T, Device>>& state() { return m_state; }
  const std::vector<Tensor<T, Device>>& state() const { return m_state; }
  void set_iterations(std::int64_t s) { m_step = s; }

  /// One update of p (n) from g (n). Clips g in place first when clip_norm is set.
  /// Returns the global gradient norm before clipping.
  double step(T* p, T* g) {
    const Segment one{p, g, m_n};
    return step(&one, 1);
  }

  /// A run of parameters p and gradients g of n elements (one layer, or adjacent layers).
  struct Segment {
    T* params;
    T* grads;
    std::int64_t size;
  };
  /// One update of several runs of parameters, as one optimizer over their concatenation: the
  /// runs' sizes add up to the optimizer's n, the state is laid out in their order, and the
  /// clipping norm is the global norm over all of them.
  double step(const Segment* segs, std::size_t count) {
    HEPNN_CHECK(m_ready, "Optimizer: default-constructed; create it with a spec and the parameter count");
    std::int64_t total = 0;
    for (std::size_t k = 0; k < count; ++k) total += segs[k].size;
    HEPNN_CHECK(total == m_n, "Optimizer: ", total, " parameters in the step, the optimizer was made for ", m_n);
    const double lr = learning_rate();
    const double clip = std::visit([](const auto& o) { return o.clip_norm; }, m_spec);
    double sq = 0;
    for (std::size_t k = 0; k < count; ++k) sq += ops::sum<Device>(segs[k].size, segs[k].grads, true);
    const double norm = std::sqrt(sq);
    if (clip > 0 && norm > clip)
      for (std::size_t k = 0; k < count; ++k) ops::scale<Device>(segs[k].size, T(clip / norm), segs[k].grads);
    ++m_step;
    std::int64_t off = 0;
    for (std::size_t k = 0; k < count; ++k) {
      m_seg_n = segs[k].size;
      m_seg_off = off;
      std::visit([&](const auto& o) { apply(o, segs[k].params, segs[k].grads, T(lr)); }, m_spec);
      off += segs[k].size;
    }
    return norm;
  }

 private:
  static void check_common(const char* who, double lr, double wd, double clip, const Schedule& schedule) {
    scheduled_learning_rate(schedule, lr, 0);  // validates the schedule's options now, not at the first step
    HEPNN_CHECK(lr > 0 && std::isfinite(lr), who, ": learning_rate must be positive, got ", lr);
    HEPNN_CHECK(wd >= 0, who, ": weight_decay must be >= 0, got ", wd);
    HEPNN_CHECK(clip >= 0, who, ": clip_norm must be >= 0, got ", clip);
  }
  static void validate(const SGD& o) {
    check_common("SGD", o.learning_rate, o.weight_decay, o.clip_norm, o.schedule);
    HEPNN_CHECK(o.momentum >= 0 && o.momentum < 1, "SGD: momentum must be in [0, 1), got ", o.momentum);
    HEPNN_CHECK(!o.nesterov || o.momentum > 0, "SGD: nesterov needs momentum > 0");
  }
  template <class A>
  static void validate_adam(const char* who, const A& o) {
    check_common(who, o.learning_rate, o.weight_decay, o.clip_norm, o.schedule);
    HEPNN_CHECK(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1, who,
                ": beta1 and beta2 must be in [0, 1), got ", o.beta1, " and ", o.beta2);
    HEPNN_CHECK(o.epsilon > 0, who, ": epsilon must be positive, got ", o.epsilon);
  }
  static void validate(const Adam& o) { validate_adam("Adam", o); }
  static void validate(const AdamW& o) { validate_adam("AdamW", o); }
  static void validate(const RMSprop& o) {
    check_common("RMSprop", o.learning_rate, o.weight_decay, o.clip_norm, o.schedule);
    HEPNN_CHECK(o.rho >= 0 && o.rho < 1, "RMSprop: rho must be in [0, 1), got ", o.rho);
    HEPNN_CHECK(o.epsilon > 0, "RMSprop: epsilon must be positive, got ", o.epsilon);
  }
  static void validate(const Adagrad& o) {
    check_common("Adagrad", o.learning_rate, o.weight_decay, o.clip_norm, o.schedule);
    HEPNN_CHECK(o.initial_accumulator_value >= 0, "Adagrad: initial_accumulator_value must be >= 0");
    HEPNN_CHECK(o.epsilon > 0, "Adagrad: epsilon must be positive, got ", o.epsilon);
  }

  // The current segment: m_seg_n elements at m_seg_off of the state buffers.
  T* st(int k) { return m_state[std::size_t(k)].data() + m_seg_off; }
  void apply(const SGD& o, T* p, T* g, T lr) {
    ops::sgd_update<Device>(m_seg_n, p, g, m_state.empty() ? nullptr : st(0), lr, T(o.momentum), o.nesterov,
                            T(o.weight_decay));
  }
  void apply(const Adam& o, T* p, T* g, T lr) {
    ops::adam_update<Device>(m_seg_n, p, g, st(0), st(1), lr, T(o.beta1), T(o.beta2), T(o.epsilon), m_step,
                             T(o.weight_decay), false);
  }
  void apply(const AdamW& o, T* p, T* g, T lr) {
    ops::adam_update<Device>(m_seg_n, p, g, st(0), st(1), lr, T(o.beta1), T(o.beta2), T(o.epsilon), m_step,
                             T(o.weight_decay), true);
  }
  void apply(const RMSprop& o, T* p, T* g, T lr) {
    ops::rmsprop_update<Device>(m_seg_n, p, g, st(0), lr, T(o.rho), T(o.epsilon), T(o.weight_decay));
  }
  void apply(const Adagrad& o, T* p, T* g, T lr) {
    ops::adagrad_update<Device>(m_seg_n, p, g, st(0), lr, T(o.epsilon), T(o.weight_decay));
  }

  OptimizerSpec m_spec = Adam{};
  std::int64_t m_n = 0, m_seg_n = 0, m_seg_off = 0;
  bool m_ready = false;
  std::int64_t m_step = 0;
  double m_factor = 1.0;
  std::vector<Tensor<T, Device>> m_state;
};

}  // namespace hepnn
