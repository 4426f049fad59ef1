/// @file layers/dropout.hpp
/// @brief Inverted dropout with Philox masks keyed by (seed, layer, step): reproducible runs,
/// and the same masks on every device.
#pragma once
#include "hepnn/core/config.hpp"
#include <memory>
#include <string>

#include "hepnn/core/philox.hpp"
#include "hepnn/core/storage.hpp"
#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/ops/elementwise.hpp"

namespace hepnn::inline HEPNN_ABI {

/// The layer a Dropout spec builds; its masks come from Philox, keyed by the model's seed, the
/// layer's index and the optimizer step (the same masks on the CPU and the GPU).
template <class T, class Device>
class DropoutLayer final : public Layer<T, Device> {
 public:
  DropoutLayer(std::string name, const Shape& in, double rate) : Layer<T, Device>(std::move(name), in), m_rate(rate) {
    HEPNN_CHECK(rate >= 0.0 && rate < 1.0, "Dropout '", this->m_name, "': rate must be in [0, 1), got ", rate);
    this->m_output_shape = in;
  }
  std::string type() const override { return "Dropout"; }
  std::string describe() const override { return detail::concat("rate=", m_rate); }
  double rate() const { return m_rate; }

  /// The Philox stream of this layer's mask at a given optimizer step.
  static std::uint64_t stream(const Pass& pass) {
    return rng_stream::dropout + (static_cast<std::uint64_t>(pass.layer_index) << 32) + pass.step;
  }

  /// The Philox number of this pass's first element (pass.first_sample's first).
  std::uint64_t first(const Pass& pass) const {
    return static_cast<std::uint64_t>(pass.first_sample) * static_cast<std::uint64_t>(this->m_input_shape.size());
  }

  void forward(std::int64_t B, const T* x, T* y, T*, const Pass& pass) const override {
    const std::int64_t n = B * this->m_input_shape.size();
    if (pass.training && m_rate > 0)
      ops::dropout_forward<Device>(n, T(m_rate), pass.seed, stream(pass), x, y, first(pass));
    else
      detail::copy_bytes<Device, Device>(y, x, static_cast<std::size_t>(n) * sizeof(T));
  }
  void backward(std::int64_t B, const T*, const T*, const T* dy, T* dx, T*, const Pass& pass) override {
    if (!dx) return;
    const std::int64_t n = B * this->m_input_shape.size();
    if (pass.training && m_rate > 0)
      ops::dropout_backward<Device>(n, T(m_rate), pass.seed, stream(pass), dy, dx, first(pass));
    else
      detail::copy_bytes<Device, Device>(dx, dy, static_cast<std::size_t>(n) * sizeof(T));
  }

 private:
  double m_rate;
};

/// Spec: during training, zero each input with probability `rate` and scale the others by
/// 1 / (1 - rate); the identity at inference.
struct Dropout {
  /// Probability of zeroing an input, in [0, 1).
  double rate = 0.5;
  /// The layer's name; empty: "dropout_1", "dropout_2", ... in the order of the model.
  std::string name = {};
  static constexpr const char* type_name = "dropout";
  static constexpr MaskMode mask_mode = MaskMode::propagate;
  HEPNN_FUNCTIONAL_SPEC()
  /// The options as stored in model files (config()), and back (from_config).
  std::map<std::string, ConfigValue> options() const { return {{"rate", rate}}; }
  static Dropout from_config(const LayerConfig& c) { return Dropout{c.get<double>("rate"), c.name}; }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<DropoutLayer<T, Device>>(name.empty() ? auto_name : name, in, rate);
  }
};

}  // namespace hepnn
