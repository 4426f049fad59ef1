/// @file layers/conv2d.hpp
/// @brief Conv2D: 2-D convolution over NCHW samples (C, H, W), kernel (filters, C, KH, KW),
/// optionally fused with a bias and an activation.
#pragma once
#include "hepnn/core/config.hpp"
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "hepnn/core/tensor.hpp"
#include "hepnn/init/initializers.hpp"
#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/layers/padding.hpp"
#include "hepnn/ops/conv.hpp"
#include "hepnn/ops/elementwise.hpp"

namespace hepnn::inline HEPNN_ABI {

namespace detail {
/// A layer's reusable scratch buffer. The first caller at a time gets the layer's own buffer
/// (grown once to the largest batch seen, so training does not allocate per batch); callers
/// that find it busy (several threads predicting at once) get a buffer of their own.
template <class T, class Device>
class Scratch {
 public:
  class Lease {
   public:
    T* data() { return m_ptr; }

   private:
    friend class Scratch;
    std::unique_lock<std::mutex> m_lock;
    Tensor<T, Device> m_own;
    T* m_ptr = nullptr;
  };
  Lease get(std::int64_t n) {
    Lease l;
    l.m_lock = std::unique_lock<std::mutex>(m_mutex, std::try_to_lock);
    if (l.m_lock.owns_lock()) {
      if (m_buffer.size() < n) m_buffer = Tensor<T, Device>(Shape{n});
      l.m_ptr = m_buffer.data();
    } else {
      l.m_own = Tensor<T, Device>(Shape{n});
      l.m_ptr = l.m_own.data();
    }
    return l;
  }

 private:
  std::mutex m_mutex;
  Tensor<T, Device> m_buffer;
};
}  // namespace detail

template <class T, class Device>
class Conv2DLayer final : public Layer<T, Device> {
 public:
  Conv2DLayer(std::string name, const Shape& in, std::int64_t filters, Size2 kernel, Size2 strides,
              const Padding& padding, Size2 dilation, Activation activation, double alpha, bool use_bias,
              Init kernel_init, Init bias_init)
      : Layer<T, Device>(std::move(name), in),
        m_kernel(kernel),
        m_strides(strides),
        m_dilation(dilation),
        m_padding(padding),
        m_activation(activation),
        m_alpha(T(alpha)),
        m_use_bias(use_bias),
        m_kernel_init(kernel_init),
        m_bias_init(bias_init) {
    HEPNN_CHECK(filters > 0, "Conv2D '", this->m_name, "': filters must be positive, got ", filters);
    m_g = detail::conv_geometry("Conv2D", this->m_name, in, filters, kernel, strides, dilation, padding);
    this->m_output_shape = Shape{m_g.F, m_g.OH, m_g.OW};
  }

  std::string type() const override { return "Conv2D"; }
  std::string describe() const override {
    std::string s = "filters=" + std::to_string(m_g.F) + ", " +
                    detail::window_description(m_kernel, m_strides, m_padding, m_dilation);
    if (m_activation != Activation::linear) s += ", activation=" + to_string(m_activation);
    return s;
  }
  std::vector<ParamInfo> params() const override {
    std::vector<ParamInfo> p{{"kernel", Shape{m_g.F, m_g.C, m_g.KH, m_g.KW}}};
    if (m_use_bias) p.push_back({"bias", Shape{m_g.F}});
    return p;
  }
  /// Keras' fans for convolutions: fan_in = C * KH * KW, fan_out = filters * KH * KW.
  void initialize(T* p, std::uint64_t seed, std::uint64_t stream) const override {
    const std::int64_t area = m_g.KH * m_g.KW, n = m_g.F * m_g.patch();
    hepnn::initialize(m_kernel_init, p, n, m_g.C * area, m_g.F * area, seed, stream);
    if (m_use_bias) hepnn::initialize(m_bias_init, p + n, m_g.F, m_g.C * area, m_g.F * area, seed, stream + (1ull << 32));
  }
  std::int64_t workspace_per_sample() const override {
    return m_activation == Activation::linear ? 0 : m_g.out_size();
  }

  // x is (B, C, H, W), y is (B, F, OH, OW); ws (when backward follows) keeps the pre-activation
  void forward(std::int64_t B, const T* x, T* y, T* ws, const Pass&) const override {
    const bool keep_z = ws != nullptr && m_activation != Activation::linear;
    T* z = keep_z ? ws : y;
    auto scratch = m_scratch.get(ops::conv2d_scratch_size<Device>(m_g, B));
    ops::conv2d_forward<Device>(m_g, B, x, this->m_params, bias(), z, scratch.data());
    if (m_activation != Activation::linear)
      ops::activation_forward<Device>(m_activation, m_alpha, B * m_g.out_size(), z, y);
  }

  // dz = dy * act'(z); dkernel = sum_b dz col(x)^T, dbias = sums of dz, dx = col2im(kernel^T dz)
  void backward(std::int64_t B, const T* x, const T* y, const T* dy, T* dx, T* ws, const Pass&) override {
    const T* dz = dy;
    if (m_activation != Activation::linear) {
      ops::activation_backward<Device>(m_activation, m_alpha, B * m_g.out_size(), ws, y, dy, ws);
      dz = ws;
    }
    auto scratch = m_scratch.get(ops::conv2d_scratch_size<Device>(m_g, B));
    T* dw = this->m_grads;
    ops::conv2d_backward<Device>(m_g, B, x, this->m_params, dz, dx, dw, m_use_bias ? dw + m_g.F * m_g.patch() : nullptr,
                                 scratch.data());
  }

  const Conv2DGeometry& geometry() const { return m_g; }
  Activation activation() const { return m_activation; }

 private:
  const T* bias() const { return m_use_bias ? this->m_params + m_g.F * m_g.patch() : nullptr; }

  Conv2DGeometry m_g;
  Size2 m_kernel, m_strides, m_dilation;
  Padding m_padding;
  Activation m_activation;
  T m_alpha;
  bool m_use_bias;
  Init m_kernel_init, m_bias_init;
  mutable detail::Scratch<T, Device> m_scratch;
};

/// Spec: `filters` convolutions of kernel_size over (C, H, W) samples (NCHW), optionally fused
/// with a bias and an activation. The kernel is (filters, C, KH, KW).
struct Conv2D {
  /// Number of output channels (required: must be positive).
  std::int64_t filters = 0;
  /// Kernel height and width (`3` means 3x3).
  Size2 kernel_size = {3, 3};
  /// Step of the kernel over the rows and columns.
  Size2 strides = {1, 1};
  /// Padding::valid, Padding::same or Padding::pads(...).
  Padding padding = Padding::valid;
  /// Spacing of the kernel's taps (1: adjacent pixels).
  Size2 dilation = {1, 1};
  /// Activation fused into the layer; Activation::linear: none.
  Activation activation = Activation::linear;
  /// Parameter of the activation: leaky_relu slope, elu scale; empty: default_alpha(activation).
  std::optional<double> alpha = {};  // leaky_relu slope (default 0.01), elu scale (default 1)
  /// Add one bias per filter.
  bool use_bias = true;
  /// Initialiser of the kernel.
  Init kernel_initializer = Init::glorot_uniform;
  /// Initialiser of the bias.
  Init bias_initializer = Init::zeros;
  /// The layer's name; empty: "conv2d_1", "conv2d_2", ... in the order of the model.
  std::string name = {};

  static constexpr const char* type_name = "conv2d";
  HEPNN_FUNCTIONAL_SPEC()
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<Conv2DLayer<T, Device>>(name.empty() ? auto_name : name, in, filters, kernel_size, strides,
                                                    padding, dilation, activation,
                                                    alpha.value_or(default_alpha(activation)), use_bias,
                                                    kernel_initializer, bias_initializer);
  }
  /// The options as stored in model files (config()), and back (from_config).
  std::map<std::string, ConfigValue> options() const {
    std::map<std::string, ConfigValue> o{{"filters", filters},
                                         {"kernel_size", detail::size2_option(kernel_size)},
                                         {"strides", detail::size2_option(strides)},
                                         {"dilation", detail::size2_option(dilation)},
                                         {"activation", to_string(activation)},
                                         {"alpha", alpha.value_or(default_alpha(activation))},
                                         {"use_bias", use_bias},
                                         {"kernel_initializer", to_string(kernel_initializer)},
                                         {"bias_initializer", to_string(bias_initializer)}};
    detail::add_padding_options(o, padding);
    return o;
  }
  static Conv2D from_config(const LayerConfig& c) {
    return Conv2D{c.get<std::int64_t>("filters"), detail::size2_from(c, "kernel_size"), detail::size2_from(c, "strides"),
                  detail::padding_from(c), detail::size2_from(c, "dilation"),
                  activation_from_string(c.get<std::string>("activation")), c.get<double>("alpha"),
                  c.get<bool>("use_bias"), init_from_string(c.get<std::string>("kernel_initializer")),
                  init_from_string(c.get<std::string>("bias_initializer")), c.name};
  }
};

}  // namespace hepnn
