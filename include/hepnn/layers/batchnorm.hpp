/// @file layers/batchnorm.hpp
/// @brief BatchNormalization over the first per-sample axis: the features of (F,) samples after
/// Dense, the channels of (C, H, W) samples after Conv2D. Keras semantics.
///
/// Training: y = gamma * (x - mean) / sqrt(var + eps) + beta with the batch's mean and biased
/// variance; after each step the moving statistics (the model's non-trainable state) become
/// moving = momentum * moving + (1 - momentum) * batch, with the biased batch variance as Keras
/// does (PyTorch uses the unbiased one). Inference (Pass.training == false) uses the moving ones.
#pragma once
#include "hepnn/core/config.hpp"
#include <memory>
#include <string>

#include "hepnn/core/tensor.hpp"
#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/ops/batchnorm.hpp"

namespace hepnn::inline HEPNN_ABI {

template <class T, class Device>
class BatchNormalizationLayer final : public Layer<T, Device> {
 public:
  BatchNormalizationLayer(std::string name, const Shape& in, double momentum, double epsilon, bool center, bool scale)
      : Layer<T, Device>(std::move(name), in), m_momentum(momentum), m_epsilon(epsilon), m_center(center), m_scale(scale) {
    HEPNN_CHECK(in.rank() >= 1 && in.size() > 0, "BatchNormalization '", this->m_name,
                "': needs a non-empty per-sample input, got ", in.str());
    HEPNN_CHECK(momentum >= 0 && momentum <= 1, "BatchNormalization '", this->m_name,
                "': momentum must be in [0, 1], got ", momentum);
    HEPNN_CHECK(epsilon > 0, "BatchNormalization '", this->m_name, "': epsilon must be positive, got ", epsilon);
    m_channels = in[0];
    m_inner = in.size() / m_channels;
    this->m_output_shape = in;
  }

  std::string type() const override { return "BatchNormalization"; }
  std::string describe() const override { return detail::concat("momentum=", m_momentum, ", epsilon=", m_epsilon); }
  std::vector<ParamInfo> params() const override {
    std::vector<ParamInfo> p;
    if (m_scale) p.push_back({"gamma", Shape{m_channels}});
    if (m_center) p.push_back({"beta", Shape{m_channels}});
    return p;
  }
  void initialize(T* p, std::uint64_t, std::uint64_t) const override {
    const std::int64_t C = m_channels;
    for (std::int64_t c = 0; c < C; ++c) {
      if (m_scale) p[c] = T(1);
      if (m_center) p[(m_scale ? C : 0) + c] = T(0);
    }
  }
  std::vector<ParamInfo> state_params() const override {
    return {{"moving_mean", Shape{m_channels}}, {"moving_variance", Shape{m_channels}}};
  }
  void initialize_state(T* s) const override {
    for (std::int64_t c = 0; c < m_channels; ++c) {
      s[c] = T(0);
      s[m_channels + c] = T(1);
    }
  }
  /// xhat for every element, then (once per batch, fitting since B >= 1) the batch mean and variance.
  std::int64_t workspace_per_sample() const override { return this->m_input_shape.size() + 2 * m_channels; }

  // x and y are (B, C, inner...); ws keeps xhat (B, C, inner...), then mean (C) and var (C) of the batch
  void forward(std::int64_t B, const T* x, T* y, T* ws, const Pass& pass) const override {
    const std::int64_t n = B * this->m_input_shape.size();
    if (pass.training) {
      Tensor<T, Device> local;  // batch statistics without a workspace (a forward pass on its own)
      T* stats = ws ? ws + n : (local = Tensor<T, Device>(Shape{2 * m_channels})).data();
      ops::batchnorm_forward_training<Device>(B, m_channels, m_inner, x, gamma(), beta(), T(m_epsilon), y, ws, stats,
                                              stats + m_channels);
    } else {
      ops::batchnorm_forward_inference<Device>(B, m_channels, m_inner, x, gamma(), beta(), this->m_state,
                                               this->m_state + m_channels, T(m_epsilon), y, ws);
    }
  }

  void backward(std::int64_t B, const T*, const T*, const T* dy, T* dx, T* ws, const Pass& pass) override {
    const std::int64_t n = B * this->m_input_shape.size();
    const T* var = pass.training ? ws + n + m_channels : this->m_state + m_channels;
    T* dgamma = m_scale ? this->m_grads : nullptr;
    T* dbeta = m_center ? this->m_grads + (m_scale ? m_channels : 0) : nullptr;
    ops::batchnorm_backward<Device>(B, m_channels, m_inner, dy, ws, gamma(), var, T(m_epsilon), pass.training, dx,
                                    dgamma, dbeta);
  }

  void update_state(std::int64_t B, const T*, const T* ws, const Pass& pass) override {
    if (!pass.training) return;
    const T* stats = ws + B * this->m_input_shape.size();
    ops::batchnorm_update_moving<Device>(m_channels, stats, stats + m_channels, T(m_momentum), this->m_state,
                                         this->m_state + m_channels);
  }

  double momentum() const { return m_momentum; }
  double epsilon() const { return m_epsilon; }

 private:
  const T* gamma() const { return m_scale ? this->m_params : nullptr; }
  const T* beta() const { return m_center ? this->m_params + (m_scale ? m_channels : 0) : nullptr; }

  double m_momentum, m_epsilon;
  bool m_center, m_scale;
  std::int64_t m_channels = 1, m_inner = 1;
};

/// Spec: normalises each feature (after Dense) or channel (after Conv2D) over the batch, then
/// scales by gamma (when `scale`) and shifts by beta (when `center`); Keras' defaults.
struct BatchNormalization {
  /// Moving statistics for inference: moving = momentum * moving + (1 - momentum) * batch.
  double momentum = 0.99;
  /// Added to the variance: (x - mean) / sqrt(var + epsilon).
  double epsilon = 1e-3;
  /// Learn a shift beta.
  bool center = true;
  /// Learn a scale gamma.
  bool scale = true;
  /// The layer's name; empty: "batch_normalization_1", ... in the order of the model.
  std::string name = {};
  static constexpr const char* type_name = "batch_normalization";
  HEPNN_FUNCTIONAL_SPEC()
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<BatchNormalizationLayer<T, Device>>(name.empty() ? auto_name : name, in, momentum,
                                                                epsilon, center, scale);
  }
  /// The options as stored in model files (config()), and back (from_config).
  std::map<std::string, ConfigValue> options() const {
    return {{"momentum", momentum}, {"epsilon", epsilon}, {"center", center}, {"scale", scale}};
  }
  static BatchNormalization from_config(const LayerConfig& c) {
    return BatchNormalization{c.get<double>("momentum"), c.get<double>("epsilon"), c.get<bool>("center"),
                              c.get<bool>("scale"), c.name};
  }
};

}  // namespace hepnn
