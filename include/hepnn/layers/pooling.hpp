/// @file layers/pooling.hpp
/// @brief MaxPool2D, AvgPool2D and GlobalAveragePooling2D over NCHW samples (C, H, W).
#pragma once
#include "hepnn/core/config.hpp"
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/layers/padding.hpp"
#include "hepnn/ops/pooling.hpp"

namespace hepnn::inline HEPNN_ABI {

enum class PoolKind { max, average };

template <class T, class Device>
class Pool2DLayer final : public Layer<T, Device> {
 public:
  Pool2DLayer(std::string name, const Shape& in, PoolKind kind, Size2 pool, Size2 strides, const Padding& padding)
      : Layer<T, Device>(std::move(name), in), m_kind(kind), m_pool(pool), m_strides(strides), m_padding(padding) {
    const std::string t = type();
    m_g = detail::conv_geometry(t, this->m_name, in, 0, pool, strides, Size2{1}, padding);
    // Every window must hold a real pixel; an all-padding window has no maximum.
    HEPNN_CHECK(m_g.PT < m_g.KH && m_g.PB < m_g.KH && m_g.PL < m_g.KW && m_g.PR < m_g.KW, t, " '", this->m_name,
                "': padding ", padding.str(), " must be smaller than the pool window ", pool.str());
    // The max-pool indices are kept as T values: exact up to 2^24 in float.
    HEPNN_CHECK(double(m_g.H * m_g.W) < double(1ll << std::numeric_limits<T>::digits), t, " '", this->m_name,
                "': images of ", m_g.H, "x", m_g.W, " pixels are too large for ", sizeof(T) == 4 ? "float" : "double");
    this->m_output_shape = Shape{m_g.C, m_g.OH, m_g.OW};
  }
  std::string type() const override { return m_kind == PoolKind::max ? "MaxPool2D" : "AvgPool2D"; }
  std::string describe() const override {
    return "pool=" + m_pool.str() + ", strides=" + m_strides.str() + ", padding=" + m_padding.str();
  }
  /// Max pooling keeps the position of each maximum for backward.
  std::int64_t workspace_per_sample() const override { return m_kind == PoolKind::max ? m_g.out_size() : 0; }

  // x is (B, C, H, W), y is (B, C, OH, OW)
  void forward(std::int64_t B, const T* x, T* y, T* ws, const Pass&) const override {
    if (m_kind == PoolKind::max) ops::maxpool2d_forward<Device>(m_g, B, x, y, ws);
    else ops::avgpool2d_forward<Device>(m_g, B, x, y);
  }
  void backward(std::int64_t B, const T*, const T*, const T* dy, T* dx, T* ws, const Pass&) override {
    if (!dx) return;
    if (m_kind == PoolKind::max) ops::maxpool2d_backward<Device>(m_g, B, dy, ws, dx);
    else ops::avgpool2d_backward<Device>(m_g, B, dy, dx);
  }
  const Conv2DGeometry& geometry() const { return m_g; }

 private:
  PoolKind m_kind;
  Size2 m_pool, m_strides;
  Padding m_padding;
  Conv2DGeometry m_g;
};

/// (C, H, W) -> (C,): the mean of each channel.
template <class T, class Device>
class GlobalAveragePooling2DLayer final : public Layer<T, Device> {
 public:
  GlobalAveragePooling2DLayer(std::string name, const Shape& in) : Layer<T, Device>(std::move(name), in) {
    HEPNN_CHECK(in.rank() == 3 && in.size() > 0, "GlobalAveragePooling2D '", this->m_name,
                "': expects per-sample inputs (channels, height, width), got ", in.str());
    m_g = detail::conv_geometry("GlobalAveragePooling2D", this->m_name, in, 0, Size2{in[1], in[2]}, Size2{1},
                                Size2{1}, Padding::valid);
    this->m_output_shape = Shape{in[0]};
  }
  std::string type() const override { return "GlobalAveragePooling2D"; }
  void forward(std::int64_t B, const T* x, T* y, T*, const Pass&) const override {
    ops::avgpool2d_forward<Device>(m_g, B, x, y);
  }
  void backward(std::int64_t B, const T*, const T*, const T* dy, T* dx, T*, const Pass&) override {
    if (dx) ops::avgpool2d_backward<Device>(m_g, B, dy, dx);
  }

 private:
  Conv2DGeometry m_g;
};

namespace detail {
/// The options of MaxPool2D and AvgPool2D as stored in model files.
inline std::map<std::string, ConfigValue> pool2d_options(Size2 pool_size, Size2 strides, const Padding& padding) {
  std::map<std::string, ConfigValue> o{{"pool_size", size2_option(pool_size)}, {"strides", size2_option(strides)}};
  add_padding_options(o, padding);
  return o;
}
}  // namespace detail

/// Spec: the maximum of each pool_size window, moved by `strides` (default: pool_size).
struct MaxPool2D {
  /// Window height and width (`2` means 2x2).
  Size2 pool_size = {2, 2};
  /// Step of the window; empty: pool_size (windows side by side).
  std::optional<Size2> strides = {};
  /// Padding::valid, Padding::same or Padding::pads(...).
  Padding padding = Padding::valid;
  /// The layer's name; empty: "max_pooling2d_1", ... in the order of the model.
  std::string name = {};
  static constexpr const char* type_name = "max_pooling2d";
  HEPNN_FUNCTIONAL_SPEC()
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<Pool2DLayer<T, Device>>(name.empty() ? auto_name : name, in, PoolKind::max, pool_size,
                                                    strides.value_or(pool_size), padding);
  }
  /// The options as stored in model files (config()), and back (from_config).
  std::map<std::string, ConfigValue> options() const {
    return detail::pool2d_options(pool_size, strides.value_or(pool_size), padding);
  }
  static MaxPool2D from_config(const LayerConfig& c) {
    return MaxPool2D{detail::size2_from(c, "pool_size"), detail::size2_from(c, "strides"), detail::padding_from(c), c.name};
  }
};

/// Spec: the mean of each pool_size window (of its real pixels where it overlaps the padding).
struct AvgPool2D {
  /// Window height and width (`2` means 2x2).
  Size2 pool_size = {2, 2};
  /// Step of the window; empty: pool_size (windows side by side).
  std::optional<Size2> strides = {};
  /// Padding::valid, Padding::same or Padding::pads(...).
  Padding padding = Padding::valid;
  /// The layer's name; empty: "average_pooling2d_1", ... in the order of the model.
  std::string name = {};
  static constexpr const char* type_name = "average_pooling2d";
  HEPNN_FUNCTIONAL_SPEC()
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<Pool2DLayer<T, Device>>(name.empty() ? auto_name : name, in, PoolKind::average,
                                                    pool_size, strides.value_or(pool_size), padding);
  }
  /// The options as stored in model files (config()), and back (from_config).
  std::map<std::string, ConfigValue> options() const {
    return detail::pool2d_options(pool_size, strides.value_or(pool_size), padding);
  }
  static AvgPool2D from_config(const LayerConfig& c) {
    return AvgPool2D{detail::size2_from(c, "pool_size"), detail::size2_from(c, "strides"), detail::padding_from(c), c.name};
  }
};

/// Spec: (C, H, W) -> (C,), the mean over each channel's pixels.
struct GlobalAveragePooling2D {
  /// The layer's name; empty: "global_average_pooling2d_1", ... in the order of the model.
  std::string name = {};
  static constexpr const char* type_name = "global_average_pooling2d";
  HEPNN_FUNCTIONAL_SPEC()
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<GlobalAveragePooling2DLayer<T, Device>>(name.empty() ? auto_name : name, in);
  }
  static GlobalAveragePooling2D from_config(const LayerConfig& c) { return GlobalAveragePooling2D{c.name}; }
};

}  // namespace hepnn
