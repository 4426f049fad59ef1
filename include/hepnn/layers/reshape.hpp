/// @file layers/reshape.hpp
/// @brief Reshape: a new per-sample shape with the same elements in the same (row-major) order.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hepnn/core/storage.hpp"
#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"

namespace hepnn::inline HEPNN_ABI {

template <class T, class Device>
class ReshapeLayer final : public Layer<T, Device> {
 public:
  ReshapeLayer(std::string name, const Shape& in, const std::vector<std::int64_t>& dims)
      : Layer<T, Device>(std::move(name), in) {
    auto listed = [&] {
      std::string s = "(";
      for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
      return s + ")";
    };
    HEPNN_CHECK(!dims.empty() && dims.size() < std::size_t(Shape::max_rank), "Reshape '", this->m_name,
                "': the target shape needs 1 to ", Shape::max_rank - 1, " extents, got ", listed());
    std::int64_t known = 1;
    int unknown = -1;
    for (std::size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] == -1) {
        HEPNN_CHECK(unknown < 0, "Reshape '", this->m_name, "': at most one extent may be -1, got ", listed());
        unknown = int(i);
      } else {
        HEPNN_CHECK(dims[i] > 0, "Reshape '", this->m_name, "': extents must be positive or -1, got ", listed());
        known *= dims[i];
      }
    }
    HEPNN_CHECK(unknown >= 0 ? in.size() % known == 0 : in.size() == known, "Reshape '", this->m_name,
                "': cannot reshape per-sample input ", in.str(), " (", in.size(), " values) to ", listed());
    Shape out;
    for (std::size_t i = 0; i < dims.size(); ++i) out.push_back(int(i) == unknown ? in.size() / known : dims[i]);
    this->m_output_shape = out;
  }
  std::string type() const override { return "Reshape"; }
  void forward(std::int64_t B, const T* x, T* y, T*, const Pass&) const override {
    detail::copy_bytes<Device, Device>(y, x, static_cast<std::size_t>(B * this->m_input_shape.size()) * sizeof(T));
  }
  void backward(std::int64_t B, const T*, const T*, const T* dy, T* dx, T*, const Pass&) override {
    if (dx) detail::copy_bytes<Device, Device>(dx, dy, static_cast<std::size_t>(B * this->m_input_shape.size()) * sizeof(T));
  }
};

/// Spec: reshapes each sample to `target_shape` (one extent may be -1: inferred), e.g.
/// Reshape{{1, 28, 28}} turns 784 pixels into a one-channel image.
struct Reshape {
  /// The new per-sample shape (no batch extent); one extent may be -1 (inferred).
  std::vector<std::int64_t> target_shape = {};
  /// The layer's name; empty: "reshape_1", "reshape_2", ... in the order of the model.
  std::string name = {};
  static constexpr const char* type_name = "reshape";
  HEPNN_FUNCTIONAL_SPEC()
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<ReshapeLayer<T, Device>>(name.empty() ? auto_name : name, in, target_shape);
  }
  /// The options as stored in model files (config()), and back (from_config).
  std::map<std::string, ConfigValue> options() const { return {{"target_shape", target_shape}}; }
  static Reshape from_config(const LayerConfig& c) {
    return Reshape{c.get<std::vector<std::int64_t>>("target_shape"), c.name};
  }
};

}  // namespace hepnn
