/// @file plot/style.hpp
/// @brief The vocabulary of the plotting layer: scales, legend places, markers, colours, the styles of
/// lines, histograms, points, text and heat maps, the data-to-pixel AxisMap, and the helpers that format
/// numbers, choose ticks and write files atomically. Standard library only.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "hepnn/core/error.hpp"

namespace hepnn::inline HEPNN_ABI::plot {

/// Scale of an axis.
enum class Scale { linear, log };

/// Where a legend goes inside the axes frame; `none` draws no legend.
enum class LegendLocation { upper_right, upper_left, lower_right, lower_left, none };

/// Coordinates of a text: data values, or fractions of the axes frame ((0, 0) bottom left, (1, 1) top right).
enum class Coords { data, axes };

/// Horizontal anchoring of a text at its position.
enum class Anchor { start, middle, end };

/// Marker drawn at each point of a line or of a point series.
enum class Marker { none, circle, square };

/// A colour as SVG understands it ("#1f5fa8", "black", "none").
using Color = std::string;

/// Colours given, in turn, to series drawn without an explicit colour.
inline const std::vector<Color>& default_colors() {
  static const std::vector<Color> c{"#2a62b8", "#d0342c", "#2e9e4a", "#e08a1e", "#7a4fb0",
                                    "#8c564b", "#d45fa6", "#5f6b73", "#a0a22a", "#1fa5b8"};
  return c;
}

/// How a line is drawn.
struct LineStyle {
  Color color = {};               ///< empty: the next default colour
  double width = 1.8;        ///< stroke width in pixels
  std::string dash = {};          ///< SVG dash array ("6,3"), empty for solid
  Marker marker = Marker::none;   ///< marker at each point
  double marker_size = 3.5;  ///< radius (circle) or half side (square) in pixels
};

/// How a step histogram is drawn.
struct HistStyle {
  Color color = {};                ///< empty: the next default colour
  double width = 1.6;         ///< outline width in pixels
  std::string dash = {};           ///< outline dash array, empty for solid
  bool fill = false;          ///< fill between the steps and the baseline
  double fill_opacity = 0.3;  ///< opacity of the fill
  bool hatch = false;         ///< diagonal hatching instead of (or on top of) the fill
};

/// How points with error bars are drawn.
struct PointStyle {
  Color color = {};                 ///< empty: the next default colour
  Marker marker = Marker::circle;  ///< marker at each point
  double marker_size = 3.0;    ///< radius (circle) or half side (square) in pixels
  double width = 1.3;          ///< error bar width in pixels
};

/// A text placed in an Axes.
struct TextStyle {
  Anchor anchor = Anchor::start;  ///< where the position is: the text's start, middle or end
  double size = 12;            ///< font size in pixels
  Color color = "black";          ///< text colour
  Coords coords = Coords::axes;   ///< the position in data values or in fractions of the frame
};

/// A sequential colour map for heat maps: white at `lo`, dark blue at `hi` (values outside are clamped).
struct HeatStyle {
  double lo = std::numeric_limits<double>::quiet_NaN();  ///< NaN: the smallest value
  double hi = std::numeric_limits<double>::quiet_NaN();  ///< NaN: the largest value
  bool annotate = true;        ///< print each cell's value in it
  int decimals = 2;            ///< decimals of the printed values
};

/// Pixel rectangle in figure coordinates (origin top left).
struct Rect {
  double x = 0;       ///< left edge
  double y = 0;       ///< top edge
  double width = 0;   ///< width in pixels
  double height = 0;  ///< height in pixels
};

/// Mapping of one axis from data values to pixels. `lo` maps to `p_lo` and `hi` to `p_hi`; lo > hi is allowed
/// (an inverted axis). On a log axis a non-positive value maps to NaN.
struct AxisMap {
  Scale scale = Scale::linear;  ///< linear or log
  double lo = 0;                ///< data value at p_lo
  double hi = 1;                ///< data value at p_hi
  double p_lo = 0;              ///< pixel position of lo
  double p_hi = 1;              ///< pixel position of hi

  /// Pixel position of data value v.
  double operator()(double v) const {
    if (scale == Scale::log) {
      if (!(v > 0)) return std::numeric_limits<double>::quiet_NaN();
      return p_lo + (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) * (p_hi - p_lo);
    }
    return p_lo + (v - lo) / (hi - lo) * (p_hi - p_lo);
  }
};

/// Text formatting and the SVG writer's helpers.
namespace detail {

/// A number with at most `decimals` decimals, trailing zeros and "-0" removed; locale-independent.
inline std::string num(double v, int decimals = 2) {
  if (!std::isfinite(v)) return "0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  std::string s = r.ec == std::errc{} ? std::string(buf, r.ptr) : std::string("0");
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

/// A number in %g style with `precision` significant digits; locale-independent.
inline std::string gnum(double v, int precision = 4) {
  if (v == 0) return "0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, precision);
  return r.ec == std::errc{} ? std::string(buf, r.ptr) : std::string("?");
}

/// Text escaped for XML character data and attribute values; control characters XML 1.0 forbids are dropped.
inline std::string escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') o += c;
    }
  }
  return o;
}

/// Writes `content` to `path` atomically: into a temporary file beside it, then renamed over it, so a reader
/// never sees half a file. Throws hepnn::Error naming the file on any failure.
inline void write_file_atomically(const std::string& path, const std::string& content, const char* who) {
  HEPNN_CHECK(!path.empty(), who, ": empty output path");
  const std::filesystem::path target(path);
  std::filesystem::path tmp = target;
  tmp += ".tmp-hepnn";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    HEPNN_CHECK(f.good(), who, ": cannot write '", path, "' (cannot create '", tmp.string(), "')");
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    f.close();
    if (!f) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      throw Error(error_detail::concat(who, ": cannot write '", path, "' (writing '", tmp.string(), "' failed)"));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, target, ec);
  if (ec) {
    std::error_code ec2;
    std::filesystem::remove(tmp, ec2);
    throw Error(error_detail::concat(who, ": cannot write '", path, "' (rename failed: ", ec.message(), ")"));
  }
}

/// Tick positions and labels of one axis.
struct Ticks {
  std::vector<double> major, minor;
  std::vector<std::string> labels = {};  ///< one per major tick; "10^k" written as "10" + superscript by the axes
  bool powers = false;              ///< labels are decade exponents
};

inline Ticks linear_ticks(double lo, double hi) {
  Ticks t;
  const double a = std::min(lo, hi), b = std::max(lo, hi);
  const double raw = (b - a) / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  const double tol = step * 1e-9;
  for (double k = std::ceil((a - tol) / step); k * step <= b + tol; k += 1) {
    const double v = k * step;
    t.major.push_back(v);
    const bool sci = std::abs(v) >= 1e6 || (decimals > 5 && v != 0);
    t.labels.push_back(sci ? gnum(v, 3) : num(v, decimals));
  }
  return t;
}

inline Ticks log_ticks(double lo, double hi) {
  Ticks t;
  const double a = std::min(lo, hi), b = std::max(lo, hi);
  const int k0 = static_cast<int>(std::floor(std::log10(a) + 1e-9)), k1 = static_cast<int>(std::ceil(std::log10(b) - 1e-9));
  const bool in = [&] {  // how many decades lie inside
    int n = 0;
    for (int k = k0; k <= k1; ++k) n += (std::pow(10.0, k) >= a * (1 - 1e-9) && std::pow(10.0, k) <= b * (1 + 1e-9));
    return n >= 2;
  }();
  const int span = k1 - k0;
  const int every = span > 12 ? (span + 7) / 8 : 1;  // label every n-th decade on very long axes
  for (int k = k0; k <= k1; ++k) {
    const double d = std::pow(10.0, k);
    if (d >= a * (1 - 1e-9) && d <= b * (1 + 1e-9) && (in ? (k % every == 0) : true)) {
      t.major.push_back(d);
      t.labels.push_back(std::to_string(k));
    }
    for (int m = 2; m <= 9; ++m) {
      const double v = m * d;
      if (v < a || v > b) continue;
      if (!in && (m == 2 || m == 5)) {  // less than two decades: label 2 and 5 as numbers too
        t.major.push_back(v);
        t.labels.push_back("");
      } else if (span <= 8) {
        t.minor.push_back(v);
      }
    }
  }
  t.powers = true;
  if (!in) {  // plain numbers read better than powers on a short log axis
    t.powers = false;
    std::vector<std::size_t> idx(t.major.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](std::size_t i, std::size_t j) { return t.major[i] < t.major[j]; });
    Ticks s;
    s.minor = t.minor;
    for (std::size_t i : idx) {
      s.major.push_back(t.major[i]);
      s.labels.push_back(gnum(t.major[i], 3));
    }
    return s;
  }
  return t;
}

}  // namespace detail

}  // namespace hepnn::plot
