/// @file layers/dense.hpp
/// @brief Dense (fully connected) layer: y = act(x W + b), W is (in, out) as in Keras.
#pragma once
#include "hepnn/core/config.hpp"
#include <memory>
#include <optional>
#include <string>

#include "hepnn/init/initializers.hpp"
#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/ops/dense.hpp"
#include "hepnn/ops/elementwise.hpp"
#include "hepnn/ops/gemm.hpp"

namespace hepnn::inline HEPNN_ABI {

/// The layer a Dense spec builds: y = act(x W + b) over (B, in) inputs, W (in, units) then b
/// (units) in its slice of the model's parameter buffer. On rank-2 samples (B, L, in), as a
/// sequence of L elements, it acts on the last axis of every element with the same W and b.
template <class T, class Device>
class DenseLayer final : public Layer<T, Device> {
 public:
  DenseLayer(std::string name, const Shape& in, std::int64_t units, Activation activation, double alpha,
             bool use_bias, Init kernel_init, Init bias_init)
      : Layer<T, Device>(std::move(name), in),
        m_units(units),
        m_activation(activation),
        m_alpha(T(alpha)),
        m_use_bias(use_bias),
        m_kernel_init(kernel_init),
        m_bias_init(bias_init) {
    HEPNN_CHECK(in.rank() == 1 || in.rank() == 2, "Dense '", this->m_name,
                "': expects flat inputs (features,) or sequences (elements, features), got per-sample shape ",
                in.str(), "; add Flatten{} before it");
    HEPNN_CHECK(units > 0, "Dense '", this->m_name, "': units must be positive, got ", units);
    m_in = in[in.rank() - 1];
    m_rows = in.rank() == 2 ? in[0] : 1;
    this->m_output_shape = in.rank() == 2 ? Shape{in[0], units} : Shape{units};
  }

  std::string type() const override { return "Dense"; }
  std::string describe() const override {
    return m_activation == Activation::linear ? "" : "activation=" + to_string(m_activation);
  }
  std::vector<ParamInfo> params() const override {
    std::vector<ParamInfo> p{{"kernel", Shape{m_in, m_units}}};
    if (m_use_bias) p.push_back({"bias", Shape{m_units}});
    return p;
  }
  void initialize(T* p, std::uint64_t seed, std::uint64_t stream) const override {
    hepnn::initialize(m_kernel_init, p, m_in * m_units, m_in, m_units, seed, stream);
    if (m_use_bias) hepnn::initialize(m_bias_init, p + m_in * m_units, m_units, m_in, m_units, seed, stream + (1ull << 32));
  }
  std::int64_t workspace_per_sample() const override {
    return m_activation == Activation::linear ? 0 : m_rows * m_units;
  }

  // x is (B, in), y is (B, units); ws (given when backward follows) keeps z = x W + b.
  // Sequences (B, L, in) are B * L rows.
  void forward(std::int64_t samples, const T* x, T* y, T* ws, const Pass&) const override {
    const std::int64_t B = samples * m_rows;
    const bool keep_z = ws != nullptr && m_activation != Activation::linear;
    ops::dense_forward<Device>(B, m_in, m_units, x, this->m_params, m_use_bias ? bias() : nullptr, m_activation,
                               m_alpha, keep_z ? ws : y, y);
  }

  // dW = x^T dz, db = sum_rows dz, dx = dz W^T with dz = dy * act'(z)
  void backward(std::int64_t samples, const T* x, const T* y, const T* dy, T* dx, T* ws, const Pass&) override {
    const std::int64_t B = samples * m_rows;
    const T* dz = dy;
    if (m_activation != Activation::linear) {
      ops::activation_backward<Device>(m_activation, m_alpha, B * m_units, ws, y, dy, ws);
      dz = ws;
    }
    T* dW = this->m_grads;
    ops::gemm<Device>(true, false, m_in, m_units, B, T(1), x, dz, T(0), dW);
    if (m_use_bias) ops::bias_add_backward<Device>(B, m_units, dz, dW + m_in * m_units);
    if (dx) ops::gemm<Device>(false, true, B, m_in, m_units, T(1), dz, this->m_params, T(0), dx);
  }

  std::int64_t units() const { return m_units; }
  Activation activation() const { return m_activation; }

 private:
  const T* bias() const { return this->m_params + m_in * m_units; }

  std::int64_t m_in = 0, m_rows = 1, m_units;
  Activation m_activation;
  T m_alpha;
  bool m_use_bias;
  Init m_kernel_init, m_bias_init;
};

/// Spec: a fully connected layer with `units` outputs, optionally fused with an activation.
struct Dense {
  /// Number of outputs (required: must be positive).
  std::int64_t units = 0;
  /// Activation fused into the layer; Activation::linear: none.
  Activation activation = Activation::linear;
  /// Parameter of the activation: leaky_relu slope, elu scale; empty: default_alpha(activation).
  std::optional<double> alpha = {};  // leaky_relu slope (default 0.01), elu scale (default 1)
  /// Add the bias vector b.
  bool use_bias = true;
  /// Initialiser of the weights W.
  Init kernel_initializer = Init::glorot_uniform;
  /// Initialiser of the bias b.
  Init bias_initializer = Init::zeros;
  /// The layer's name; empty: "dense_1", "dense_2", ... in the order of the model.
  std::string name = {};

  static constexpr const char* type_name = "dense";
  static constexpr MaskMode mask_mode = MaskMode::propagate;  // on sequences: each element alone
  HEPNN_FUNCTIONAL_SPEC()
  /// The options as stored in model files (config()) of a layer of T, and back (from_config).
  template <class T = double>
  std::map<std::string, ConfigValue> options() const {
    return {{"units", units},
            {"activation", to_string(activation)},
            {"alpha", double(T(alpha.value_or(default_alpha(activation))))},  // as the layer holds it
            {"use_bias", use_bias},
            {"kernel_initializer", to_string(kernel_initializer)},
            {"bias_initializer", to_string(bias_initializer)}};
  }
  static Dense from_config(const LayerConfig& c) {
    return Dense{c.get<std::int64_t>("units"), activation_from_string(c.get<std::string>("activation")),
                 c.get<double>("alpha"), c.get<bool>("use_bias"),
                 init_from_string(c.get<std::string>("kernel_initializer")),
                 init_from_string(c.get<std::string>("bias_initializer")), c.name};
  }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<DenseLayer<T, Device>>(name.empty() ? auto_name : name, in, units, activation,
                                                   alpha.value_or(default_alpha(activation)), use_bias,
                                                   kernel_initializer, bias_initializer);
  }
};

}  // namespace hepnn
