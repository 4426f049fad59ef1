/// @file layers/padding.hpp
/// @brief Size2 and Padding, the options shared by Conv2D and the pooling layers, and the
/// checked computation of their Conv2DGeometry.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cstdint>
#include <string>

#include "hepnn/core/error.hpp"
#include "hepnn/layers/layer_config.hpp"
#include "hepnn/core/shape.hpp"
#include "hepnn/ops/conv_geometry.hpp"

namespace hepnn::inline HEPNN_ABI {

/// Two extents (height, width): `Size2{3}` is 3x3, `Size2{3, 5}` is 3 high and 5 wide.
struct Size2 {
  /// Height (rows) and width (columns).
  std::int64_t h = 1, w = 1;
  /// 1x1.
  constexpr Size2() = default;
  /// n x n.
  constexpr Size2(std::int64_t n) : h(n), w(n) {}  // NOLINT: implicit, like Keras' kernel_size=3
  /// height x width.
  constexpr Size2(std::int64_t height, std::int64_t width) : h(height), w(width) {}
  /// "HxW", for messages and summary().
  std::string str() const { return detail::concat(h, "x", w); }
  friend constexpr bool operator==(const Size2&, const Size2&) = default;
};

/// Padding::valid (none), Padding::same (TensorFlow's rule: output = ceil(input / stride), the
/// padding split evenly with the odd pixel at the bottom/right) or explicit pixel counts.
struct Padding {
  /// How the padding is chosen.
  enum class Mode { valid, same, explicit_pads };
  /// valid: none; same: computed from the input and the stride; explicit_pads: the counts below.
  Mode mode = Mode::valid;
  /// Pixels added above, below, left and right (explicit_pads only).
  std::int64_t top = 0, bottom = 0, left = 0, right = 0;

  /// No padding.
  static const Padding valid;
  /// TensorFlow's "same" padding (see above).
  static const Padding same;
  /// ph rows above and below, pw columns left and right (PyTorch's padding=(ph, pw)).
  static constexpr Padding pads(std::int64_t ph, std::int64_t pw) { return {Mode::explicit_pads, ph, ph, pw, pw}; }
  /// The given numbers of pixels on each side.
  static constexpr Padding pads(std::int64_t top, std::int64_t bottom, std::int64_t left, std::int64_t right) {
    return {Mode::explicit_pads, top, bottom, left, right};
  }
  /// "valid", "same" or "(top, bottom, left, right)", for messages and summary().
  std::string str() const {
    if (mode == Mode::valid) return "valid";
    if (mode == Mode::same) return "same";
    return detail::concat("(", top, ", ", bottom, ", ", left, ", ", right, ")");
  }
};
inline constexpr Padding Padding::valid{Padding::Mode::valid, 0, 0, 0, 0};
inline constexpr Padding Padding::same{Padding::Mode::same, 0, 0, 0, 0};

namespace detail {

/// Size2 and Padding as layer options (model files) and back.
inline ConfigValue size2_option(Size2 s) { return std::vector<std::int64_t>{s.h, s.w}; }
inline Size2 size2_from(const LayerConfig& c, const std::string& key) {
  const auto v = c.get<std::vector<std::int64_t>>(key);
  HEPNN_CHECK(v.size() == 2, c.type, " '", c.name, "': option '", key, "' needs 2 values, got ", v.size());
  return {v[0], v[1]};
}
inline void add_padding_options(std::map<std::string, ConfigValue>& o, const Padding& p) {
  o["padding"] = std::string(p.mode == Padding::Mode::valid ? "valid" : p.mode == Padding::Mode::same ? "same" : "explicit");
  o["pads"] = std::vector<std::int64_t>{p.top, p.bottom, p.left, p.right};
}
inline Padding padding_from(const LayerConfig& c) {
  const std::string mode = c.get<std::string>("padding");
  if (mode == "valid") return Padding::valid;
  if (mode == "same") return Padding::same;
  HEPNN_CHECK(mode == "explicit", c.type, " '", c.name, "': unknown padding '", mode, "'");
  const auto v = c.get<std::vector<std::int64_t>>("pads");
  HEPNN_CHECK(v.size() == 4, c.type, " '", c.name, "': option 'pads' needs 4 values, got ", v.size());
  return Padding::pads(v[0], v[1], v[2], v[3]);
}

/// The geometry of a window sweep over per-sample inputs `in` = (C, H, W), checked: names the
/// layer, its options and the shapes in every error. `filters` is 0 for pooling (F = C).
inline Conv2DGeometry conv_geometry(const std::string& type, const std::string& name, const Shape& in,
                                    std::int64_t filters, Size2 kernel, Size2 strides, Size2 dilation,
                                    const Padding& padding) {
  const std::string who = type + " '" + name + "'";
  HEPNN_CHECK(in.rank() == 3, who, ": expects per-sample inputs (channels, height, width), got ", in.str(),
              in.rank() == 2 ? "; add a channel axis, e.g. Reshape{{1, H, W}}" : "");
  HEPNN_CHECK(in.size() > 0, who, ": empty input ", in.str());
  HEPNN_CHECK(kernel.h > 0 && kernel.w > 0, who, ": the kernel size must be positive, got ", kernel.str());
  HEPNN_CHECK(strides.h > 0 && strides.w > 0, who, ": strides must be positive, got ", strides.str(), " for input ",
              in.str());
  HEPNN_CHECK(dilation.h > 0 && dilation.w > 0, who, ": dilation must be positive, got ", dilation.str());
  Conv2DGeometry g;
  g.C = in[0];
  g.H = in[1];
  g.W = in[2];
  g.F = filters > 0 ? filters : g.C;
  g.KH = kernel.h;
  g.KW = kernel.w;
  g.SH = strides.h;
  g.SW = strides.w;
  g.DH = dilation.h;
  g.DW = dilation.w;
  const std::int64_t eh = (g.KH - 1) * g.DH + 1, ew = (g.KW - 1) * g.DW + 1;  // dilated extent
  if (padding.mode == Padding::Mode::same) {
    auto split = [](std::int64_t n, std::int64_t s, std::int64_t e, std::int64_t& lo, std::int64_t& hi) {
      const std::int64_t out = (n + s - 1) / s;
      const std::int64_t total = std::max<std::int64_t>((out - 1) * s + e - n, 0);
      lo = total / 2;
      hi = total - lo;
    };
    split(g.H, g.SH, eh, g.PT, g.PB);
    split(g.W, g.SW, ew, g.PL, g.PR);
  } else if (padding.mode == Padding::Mode::explicit_pads) {
    HEPNN_CHECK(padding.top >= 0 && padding.bottom >= 0 && padding.left >= 0 && padding.right >= 0, who,
                ": padding must not be negative, got ", padding.str());
    g.PT = padding.top;
    g.PB = padding.bottom;
    g.PL = padding.left;
    g.PR = padding.right;
  }
  HEPNN_CHECK(g.H + g.PT + g.PB >= eh && g.W + g.PL + g.PR >= ew, who, ": the input ", in.str(),
              " is smaller than the ", filters > 0 ? "kernel " : "pool window ", kernel.str(),
              dilation == Size2{1} ? std::string() : " (dilated to " + Size2{eh, ew}.str() + ")", " with padding ",
              padding.str());
  g.OH = Conv2DGeometry::output_extent(g.H, g.KH, g.SH, g.DH, g.PT + g.PB);
  g.OW = Conv2DGeometry::output_extent(g.W, g.KW, g.SW, g.DW, g.PL + g.PR);
  return g;
}

inline std::string window_description(Size2 kernel, Size2 strides, const Padding& padding, Size2 dilation = Size2{1}) {
  std::string s = "kernel=" + kernel.str() + ", strides=" + strides.str() + ", padding=" + padding.str();
  if (!(dilation == Size2{1})) s += ", dilation=" + dilation.str();
  return s;
}

}  // namespace detail
}  // namespace hepnn
