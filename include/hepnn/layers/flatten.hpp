/// @file layers/flatten.hpp
/// @brief Flatten: (batch, d1, d2, ...) -> (batch, d1 * d2 * ...), row-major order kept.
#pragma once
#include "hepnn/core/config.hpp"
#include <memory>
#include <string>

#include "hepnn/core/storage.hpp"
#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"

namespace hepnn::inline HEPNN_ABI {

template <class T, class Device>
class FlattenLayer final : public Layer<T, Device> {
 public:
  FlattenLayer(std::string name, const Shape& in) : Layer<T, Device>(std::move(name), in) {
    this->m_output_shape = Shape{in.size()};
  }
  std::string type() const override { return "Flatten"; }
  void forward(std::int64_t B, const T* x, T* y, T*, const Pass&) const override {
    detail::copy_bytes<Device, Device>(y, x, static_cast<std::size_t>(B * this->m_input_shape.size()) * sizeof(T));
  }
  void backward(std::int64_t B, const T*, const T*, const T* dy, T* dx, T*, const Pass&) override {
    if (dx) detail::copy_bytes<Device, Device>(dx, dy, static_cast<std::size_t>(B * this->m_input_shape.size()) * sizeof(T));
  }
};

/// Spec: flattens each sample to a vector.
struct Flatten {
  std::string name = {};
  static constexpr const char* type_name = "flatten";
  HEPNN_FUNCTIONAL_SPEC()
  static Flatten from_config(const LayerConfig& c) { return Flatten{c.name}; }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<FlattenLayer<T, Device>>(name.empty() ? auto_name : name, in);
  }
};

}  // namespace hepnn
