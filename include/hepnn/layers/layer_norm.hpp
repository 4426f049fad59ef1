/// @file layers/layer_norm.hpp
/// @brief LayerNormalization: each element normalised over its last axis (features), then
/// scaled by gamma and shifted by beta, y = (x - mean) / sqrt(var + epsilon) * gamma + beta, with
/// the biased variance, as Keras (whose default epsilon, 1e-3, it keeps; PyTorch's is 1e-5).
#pragma once
#include "hepnn/core/config.hpp"
#include <memory>
#include <string>

#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/ops/sequence.hpp"

namespace hepnn::inline HEPNN_ABI {

/// The layer a LayerNormalization spec builds: parameters gamma (F) then beta (F), either
/// dropped by scale = false or center = false. Training keeps each row's mean and 1/std.
template <class T, class Device>
class LayerNormalizationLayer final : public Layer<T, Device> {
 public:
  LayerNormalizationLayer(std::string name, const Shape& in, double epsilon, bool center, bool scale)
      : Layer<T, Device>(std::move(name), in), m_eps(T(epsilon)), m_center(center), m_scale(scale) {
    HEPNN_CHECK(in.rank() >= 1 && in.size() > 0, "LayerNormalization '", this->m_name,
                "': expects samples with a feature axis, got per-sample shape ", in.str());
    HEPNN_CHECK(epsilon > 0, "LayerNormalization '", this->m_name, "': epsilon must be positive, got ", epsilon);
    m_features = in[in.rank() - 1];
    m_rows = in.size() / m_features;
    this->m_output_shape = in;
  }
  std::string type() const override { return "LayerNormalization"; }
  std::string describe() const override { return "epsilon=" + detail::concat(double(m_eps)); }
  std::vector<ParamInfo> params() const override {
    std::vector<ParamInfo> p;
    if (m_scale) p.push_back({"gamma", Shape{m_features}});
    if (m_center) p.push_back({"beta", Shape{m_features}});
    return p;
  }
  void initialize(T* p, std::uint64_t, std::uint64_t) const override {
    for (std::int64_t f = 0; f < m_features; ++f) {
      if (m_scale) p[f] = T(1);
      if (m_center) p[(m_scale ? m_features : 0) + f] = T(0);
    }
  }
  std::int64_t workspace_per_sample() const override { return 2 * m_rows; }

  void forward(std::int64_t B, const T* x, T* y, T* ws, const Pass&) const override {
    ops::layer_norm_forward<Device>(B * m_rows, m_features, m_eps, x, gamma(this->m_params), beta(this->m_params), y,
                                    ws);
  }
  void backward(std::int64_t B, const T* x, const T*, const T* dy, T* dx, T* ws, const Pass&) override {
    HEPNN_CHECK(ws != nullptr, "LayerNormalization '", this->m_name, "': backward needs the training workspace");
    ops::layer_norm_backward<Device>(B * m_rows, m_features, x, static_cast<const T*>(gamma(this->m_params)), ws, dy,
                                     dx, gamma(this->m_grads), beta(this->m_grads));
  }

 private:
  T* gamma(T* base) const { return m_scale ? base : nullptr; }
  T* beta(T* base) const { return m_center ? base + (m_scale ? m_features : 0) : nullptr; }
  T m_eps;
  bool m_center, m_scale;
  std::int64_t m_features = 0, m_rows = 1;
};

/// Spec: layer normalisation over the last axis (each element of a sequence on its own).
struct LayerNormalization {
  /// Added to the variance (Keras' default).
  double epsilon = 1e-3;
  /// Learn the shift beta.
  bool center = true;
  /// Learn the scale gamma.
  bool scale = true;
  /// The layer's name; empty: "layer_normalization_1", ...
  std::string name = {};
  static constexpr const char* type_name = "layer_normalization";
  static constexpr MaskMode mask_mode = MaskMode::propagate;
  HEPNN_FUNCTIONAL_SPEC()
  std::map<std::string, ConfigValue> options() const {
    return {{"epsilon", epsilon}, {"center", center}, {"scale", scale}};
  }
  static LayerNormalization from_config(const LayerConfig& c) {
    return LayerNormalization{c.get<double>("epsilon"), c.get<bool>("center"), c.get<bool>("scale"), c.name};
  }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<LayerNormalizationLayer<T, Device>>(name.empty() ? auto_name : name, in, epsilon, center,
                                                                scale);
  }
};

}  // namespace hepnn
