/// @file layers/activations.hpp
/// @brief Activation layers: ReLU, LeakyReLU, ELU, SELU, Tanh, Sigmoid, Softplus, GELU,
/// Softmax and LogSoftmax (over the last axis).
#pragma once
#include "hepnn/core/config.hpp"
#include <memory>
#include <string>

#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/ops/elementwise.hpp"

namespace hepnn::inline HEPNN_ABI {

template <class T, class Device>
class ActivationLayer final : public Layer<T, Device> {
 public:
  ActivationLayer(std::string name, const Shape& in, std::string type, Activation a, double alpha)
      : Layer<T, Device>(std::move(name), in), m_type(std::move(type)), m_activation(a), m_alpha(T(alpha)) {
    this->m_output_shape = in;
  }
  std::string type() const override { return m_type; }
  std::string describe() const override {
    return (m_activation == Activation::leaky_relu || m_activation == Activation::elu)
               ? detail::concat("alpha=", double(m_alpha))
               : "";
  }
  void forward(std::int64_t B, const T* x, T* y, T*, const Pass&) const override {
    ops::activation_forward<Device>(m_activation, m_alpha, B * this->m_input_shape.size(), x, y);
  }
  void backward(std::int64_t B, const T* x, const T* y, const T* dy, T* dx, T*, const Pass&) override {
    if (dx) ops::activation_backward<Device>(m_activation, m_alpha, B * this->m_input_shape.size(), x, y, dy, dx);
  }
  Activation activation() const { return m_activation; }

 private:
  std::string m_type;
  Activation m_activation;
  T m_alpha;
};

template <class T, class Device>
class SoftmaxLayer final : public Layer<T, Device> {
 public:
  SoftmaxLayer(std::string name, const Shape& in, bool log) : Layer<T, Device>(std::move(name), in), m_log(log) {
    HEPNN_CHECK(in.rank() >= 1 && in[in.rank() - 1] > 0, type(), " '", this->m_name,
                "': needs a non-empty last axis, got per-sample shape ", in.str());
    this->m_output_shape = in;
  }
  std::string type() const override { return m_log ? "LogSoftmax" : "Softmax"; }
  void forward(std::int64_t B, const T* x, T* y, T*, const Pass&) const override {
    const std::int64_t cols = this->m_input_shape[this->m_input_shape.rank() - 1];
    ops::softmax_forward<Device>(B * this->m_input_shape.size() / cols, cols, x, y, m_log);
  }
  void backward(std::int64_t B, const T*, const T* y, const T* dy, T* dx, T*, const Pass&) override {
    if (!dx) return;
    const std::int64_t cols = this->m_input_shape[this->m_input_shape.rank() - 1];
    ops::softmax_backward<Device>(B * this->m_input_shape.size() / cols, cols, y, dy, dx, m_log);
  }

 private:
  bool m_log;
};


#define HEPNN_ACTIVATION_SPEC(Spec, kind, lower)                                                       \
  struct Spec {                                                                                         \
    std::string name = {};                                                                              \
    static constexpr const char* type_name = lower;                                                     \
    static constexpr MaskMode mask_mode = MaskMode::propagate;                                          \
    HEPNN_FUNCTIONAL_SPEC()                                                                             \
    static Spec from_config(const LayerConfig& c) { return Spec{c.name}; }                              \
    template <class T, class Device>                                                                    \
    std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {      \
      return std::make_unique<ActivationLayer<T, Device>>(name.empty() ? auto_name : name, in, #Spec,  \
                                                          Activation::kind, default_alpha(Activation::kind)); \
    }                                                                                                   \
  };
/// Spec: ReLU, y = max(x, 0).
HEPNN_ACTIVATION_SPEC(ReLU, relu, "relu")
/// Spec: SELU, y = scale x for x > 0 and scale alpha (e^x - 1) otherwise (Klambauer et al.'s constants).
HEPNN_ACTIVATION_SPEC(SELU, selu, "selu")
/// Spec: y = tanh(x).
HEPNN_ACTIVATION_SPEC(Tanh, tanh, "tanh")
/// Spec: y = 1 / (1 + e^-x).
HEPNN_ACTIVATION_SPEC(Sigmoid, sigmoid, "sigmoid")
/// Spec: y = log(1 + e^x).
HEPNN_ACTIVATION_SPEC(Softplus, softplus, "softplus")
/// Spec: GELU, y = x Phi(x) with the exact normal CDF Phi (erf, not the tanh approximation).
HEPNN_ACTIVATION_SPEC(GELU, gelu, "gelu")
#undef HEPNN_ACTIVATION_SPEC

/// Spec: LeakyReLU, y = x for x > 0 and alpha x otherwise.
struct LeakyReLU {
  double alpha = 0.01;
  std::string name = {};
  static constexpr const char* type_name = "leaky_re_lu";
  static constexpr MaskMode mask_mode = MaskMode::propagate;
  HEPNN_FUNCTIONAL_SPEC()
  /// The options as stored in model files (config()) of a layer of T, and back (from_config).
  template <class T = double>
  std::map<std::string, ConfigValue> options() const {
    return {{"alpha", double(T(alpha))}};  // as the layer holds it
  }
  static LeakyReLU from_config(const LayerConfig& c) { return LeakyReLU{c.get<double>("alpha"), c.name}; }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<ActivationLayer<T, Device>>(name.empty() ? auto_name : name, in, "LeakyReLU",
                                                        Activation::leaky_relu, alpha);
  }
};

/// Spec: ELU, y = x for x > 0 and alpha (e^x - 1) otherwise.
struct ELU {
  double alpha = 1.0;
  std::string name = {};
  static constexpr const char* type_name = "elu";
  static constexpr MaskMode mask_mode = MaskMode::propagate;
  HEPNN_FUNCTIONAL_SPEC()
  /// The options as stored in model files (config()) of a layer of T, and back (from_config).
  template <class T = double>
  std::map<std::string, ConfigValue> options() const {
    return {{"alpha", double(T(alpha))}};  // as the layer holds it
  }
  static ELU from_config(const LayerConfig& c) { return ELU{c.get<double>("alpha"), c.name}; }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<ActivationLayer<T, Device>>(name.empty() ? auto_name : name, in, "ELU", Activation::elu,
                                                        alpha);
  }
};

/// Spec: softmax over the last axis.
struct Softmax {
  std::string name = {};
  static constexpr const char* type_name = "softmax";
  static constexpr MaskMode mask_mode = MaskMode::propagate;
  HEPNN_FUNCTIONAL_SPEC()
  static Softmax from_config(const LayerConfig& c) { return Softmax{c.name}; }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<SoftmaxLayer<T, Device>>(name.empty() ? auto_name : name, in, false);
  }
};

/// Spec: log-softmax over the last axis.
struct LogSoftmax {
  std::string name = {};
  static constexpr const char* type_name = "log_softmax";
  static constexpr MaskMode mask_mode = MaskMode::propagate;
  HEPNN_FUNCTIONAL_SPEC()
  static LogSoftmax from_config(const LayerConfig& c) { return LogSoftmax{c.name}; }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<SoftmaxLayer<T, Device>>(name.empty() ? auto_name : name, in, true);
  }
};

}  // namespace hepnn
