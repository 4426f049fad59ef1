/// @file plot/svg.hpp
/// @brief The generic plotting layer: a Figure of Axes (linear or log scales) holding lines, step histograms,
/// points with error bars, text, legends and heat maps, written as one SVG file or as a PNG image (the same
/// SVG drawn by plot/svg_raster.hpp). The styles are in plot/style.hpp, the panels (Axes) in plot/axes.hpp.
///
/// Standard library only. Coordinates: data values go through an AxisMap to pixels of the figure (SVG user
/// units, origin at the top left, y downwards). Limits are resolved when the figure is drawn: explicit limits
/// when set, otherwise the data range with a 5% margin (a linear range that starts or ends at 0 keeps 0 as its
/// edge, so histograms sit on the axis).
///
/// Log axes draw only positive values: a point with a non-positive coordinate on a log axis is left out (a line
/// is broken there, an error bar is cut at the axis), never an error, so a ROC curve's infinite or undefined
/// rejection at zero background efficiency simply does not show. Explicit limits on a log axis must be positive
/// (hepnn::Error otherwise).
#pragma once
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
#include "hepnn/plot/axes.hpp"
#include "hepnn/plot/style.hpp"
#include "hepnn/plot/svg_raster.hpp"

namespace hepnn::inline HEPNN_ABI::plot {

/// A figure: a grid of rows x cols panels (Axes), each `panel_width` x `panel_height` pixels, and an optional
/// title above them. `svg()` renders it; `save(path)` writes it atomically.
class Figure {
 public:
  /// Margins of a panel's frame inside its cell, in pixels.
  static constexpr double margin_left = 74, margin_right = 18, margin_top = 30, margin_bottom = 50;

  /// requires: rows, cols >= 1 and positive panel sizes.
  explicit Figure(int rows = 1, int cols = 1, double panel_width = 520, double panel_height = 380)
      : m_rows(rows), m_cols(cols), m_pw(panel_width), m_ph(panel_height) {
    HEPNN_CHECK(rows >= 1 && cols >= 1 && rows * cols <= 10000, "plot::Figure: ", rows, " x ", cols,
                " panels; expected at least one row and one column");
    HEPNN_CHECK(panel_width >= 100 && panel_height >= 80, "plot::Figure: panel size ", panel_width, " x ",
                panel_height, " pixels is too small (at least 100 x 80)");
    m_axes.resize(static_cast<std::size_t>(rows * cols));
    layout();
  }

  /// Title above all panels.
  Figure& title(std::string t) {
    m_title = std::move(t);
    layout();
    return *this;
  }
  /// The panel at (row, col), row 0 at the top.
  Axes& axes(int row = 0, int col = 0) {
    HEPNN_CHECK(row >= 0 && row < m_rows && col >= 0 && col < m_cols, "plot::Figure::axes: panel (", row, ", ", col,
                ") outside the ", m_rows, " x ", m_cols, " grid");
    return m_axes[static_cast<std::size_t>(row * m_cols + col)];
  }
  /// Width of the whole figure in pixels.
  double width() const { return m_cols * m_pw; }
  /// Height of the whole figure in pixels.
  double height() const { return m_rows * m_ph + top(); }

  /// The figure as an SVG document.
  std::string svg() const {
    std::string o;
    o += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + detail::num(width()) + "\" height=\"" +
         detail::num(height()) + "\" viewBox=\"0 0 " + detail::num(width()) + " " + detail::num(height()) +
         "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n";
    o += "<rect x=\"0\" y=\"0\" width=\"" + detail::num(width()) + "\" height=\"" + detail::num(height()) +
         "\" fill=\"white\"/>\n";
    if (!m_title.empty())
      o += "<text x=\"" + detail::num(width() / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" "
           "font-weight=\"bold\">" + detail::escape(m_title) + "</text>\n";
    for (std::size_t i = 0; i < m_axes.size(); ++i) draw(o, m_axes[i], i);
    o += "</svg>\n";
    return o;
  }

  /// The figure as a PNG file (bytes): the SVG drawn with 3 x 3 samples per pixel (plot/svg_raster.hpp).
  std::string png() const { return detail::SvgRasterizer().png(svg()); }

  /// Writes the figure to `path` (atomically: a temporary file renamed over it): a PNG image when the name
  /// ends in ".png", else SVG. Throws hepnn::Error when the file cannot be written.
  void save(const std::string& path) const {
    const bool as_png = path.size() >= 4 && (path.compare(path.size() - 4, 4, ".png") == 0 ||
                                             path.compare(path.size() - 4, 4, ".PNG") == 0);
    detail::write_file_atomically(path, as_png ? png() : svg(), "plot::Figure::save");
  }

 private:
  double top() const { return m_title.empty() ? 0.0 : 34.0; }
  void layout() {
    for (int r = 0; r < m_rows; ++r)
      for (int c = 0; c < m_cols; ++c)
        m_axes[static_cast<std::size_t>(r * m_cols + c)].m_frame = {
            c * m_pw + margin_left, top() + r * m_ph + margin_top, m_pw - margin_left - margin_right,
            m_ph - margin_top - margin_bottom};
  }

  static std::string pt(double x, double y) { return detail::num(x) + "," + detail::num(y); }

  static void marker(std::string& o, Marker m, double x, double y, double r, const Color& c) {
    if (m == Marker::circle)
      o += "<circle cx=\"" + detail::num(x) + "\" cy=\"" + detail::num(y) + "\" r=\"" + detail::num(r) +
           "\" fill=\"" + c + "\"/>";
    else if (m == Marker::square)
      o += "<rect x=\"" + detail::num(x - r) + "\" y=\"" + detail::num(y - r) + "\" width=\"" + detail::num(2 * r) +
           "\" height=\"" + detail::num(2 * r) + "\" fill=\"" + c + "\"/>";
  }

  static std::string text(double x, double y, const std::string& s, const char* anchor, double size,
                          const std::string& extra = "") {
    return "<text x=\"" + detail::num(x) + "\" y=\"" + detail::num(y) + "\" text-anchor=\"" + anchor +
           "\" font-size=\"" + detail::num(size) + "\"" + extra + ">" + detail::escape(s) + "</text>";
  }

  static std::string heat_color(double t) {
    t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0);
    // white -> light blue -> dark blue
    const double r0[3] = {255, 158, 20}, g0[3] = {255, 202, 60}, b0[3] = {255, 225, 140};
    const double u = t < 0.5 ? t * 2 : (t - 0.5) * 2;
    const int k = t < 0.5 ? 0 : 1;
    auto mix = [&](const double* a) { return static_cast<int>(std::lround(a[k] + u * (a[k + 1] - a[k]))); };
    char buf[8];
    std::snprintf(buf, sizeof buf, "#%02x%02x%02x", mix(r0) & 0xff, mix(g0) & 0xff, mix(b0) & 0xff);
    return buf;
  }

  void draw(std::string& o, const Axes& ax, std::size_t index) const {
    const Rect f = ax.m_frame;
    const AxisMap mx = ax.xmap(), my = ax.ymap();
    const std::string clip = "clip" + std::to_string(index);
    o += "<g>\n<clipPath id=\"" + clip + "\"><rect x=\"" + detail::num(f.x) + "\" y=\"" + detail::num(f.y) +
         "\" width=\"" + detail::num(f.width) + "\" height=\"" + detail::num(f.height) + "\"/></clipPath>\n";
    const auto xt = ax.m_has_xticks ? ax.m_xticks
                    : mx.scale == Scale::log ? detail::log_ticks(mx.lo, mx.hi)
                                             : detail::linear_ticks(mx.lo, mx.hi);
    const auto yt = ax.m_has_yticks ? ax.m_yticks
                    : my.scale == Scale::log ? detail::log_ticks(my.lo, my.hi)
                                             : detail::linear_ticks(my.lo, my.hi);
    const bool has_heat =
        std::any_of(ax.m_items.begin(), ax.m_items.end(), [](const Axes::Item& i) { return i.kind == Axes::Item::heat; });
    // grid
    if (ax.m_grid && !has_heat) {
      o += "<g stroke=\"#e3e3e3\" stroke-width=\"1\">";
      for (double v : xt.major) {
        const double p = mx(v);
        if (std::isfinite(p)) o += "<line x1=\"" + detail::num(p) + "\" y1=\"" + detail::num(f.y) + "\" x2=\"" +
                                   detail::num(p) + "\" y2=\"" + detail::num(f.y + f.height) + "\"/>";
      }
      for (double v : yt.major) {
        const double p = my(v);
        if (std::isfinite(p)) o += "<line x1=\"" + detail::num(f.x) + "\" y1=\"" + detail::num(p) + "\" x2=\"" +
                                   detail::num(f.x + f.width) + "\" y2=\"" + detail::num(p) + "\"/>";
      }
      o += "</g>\n";
    }
    // items
    o += "<g clip-path=\"url(#" + clip + ")\">\n";
    for (std::size_t k = 0; k < ax.m_items.size(); ++k) {
      const auto& it = ax.m_items[k];
      if (it.kind == Axes::Item::hist && it.hs.hatch)  // one pattern per hatched histogram, in its colour
        o += "<defs><pattern id=\"" + hatch_id(index, k) + "\" patternUnits=\"userSpaceOnUse\" width=\"6\" "
             "height=\"6\" patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"" +
             it.color + "\" stroke-width=\"1.2\"/></pattern></defs>\n";
      draw_item(o, it, mx, my, f, hatch_id(index, k));
    }
    o += "</g>\n";
    // frame, ticks, labels
    o += "<rect x=\"" + detail::num(f.x) + "\" y=\"" + detail::num(f.y) + "\" width=\"" + detail::num(f.width) +
         "\" height=\"" + detail::num(f.height) + "\" fill=\"none\" stroke=\"black\" stroke-width=\"1.2\"/>\n";
    o += "<g stroke=\"black\" stroke-width=\"1\">";
    auto tick = [&](double p, bool x_axis, double len) {
      if (!std::isfinite(p)) return;
      if (x_axis)
        o += "<line x1=\"" + detail::num(p) + "\" y1=\"" + detail::num(f.y + f.height) + "\" x2=\"" + detail::num(p) +
             "\" y2=\"" + detail::num(f.y + f.height - len) + "\"/>";
      else
        o += "<line x1=\"" + detail::num(f.x) + "\" y1=\"" + detail::num(p) + "\" x2=\"" + detail::num(f.x + len) +
             "\" y2=\"" + detail::num(p) + "\"/>";
    };
    for (double v : xt.major) tick(mx(v), true, 6);
    for (double v : xt.minor) tick(mx(v), true, 3);
    for (double v : yt.major) tick(my(v), false, 6);
    for (double v : yt.minor) tick(my(v), false, 3);
    o += "</g>\n";
    auto label = [&](const detail::Ticks& t, std::size_t i) {
      if (!t.powers) return detail::escape(t.labels[i]);
      return std::string("10<tspan dy=\"-6\" font-size=\"8\">") + detail::escape(t.labels[i]) + "</tspan>";
    };
    for (std::size_t i = 0; i < xt.major.size(); ++i) {
      const double p = mx(xt.major[i]);
      if (!std::isfinite(p) || xt.labels[i].empty()) continue;
      o += "<text x=\"" + detail::num(p) + "\" y=\"" + detail::num(f.y + f.height + 17) +
           "\" text-anchor=\"middle\" font-size=\"11\">" + label(xt, i) + "</text>";
    }
    for (std::size_t i = 0; i < yt.major.size(); ++i) {
      const double p = my(yt.major[i]);
      if (!std::isfinite(p) || yt.labels[i].empty()) continue;
      o += "<text x=\"" + detail::num(f.x - 6) + "\" y=\"" + detail::num(p + 4) +
           "\" text-anchor=\"end\" font-size=\"11\">" + label(yt, i) + "</text>";
    }
    o += "\n";
    if (!ax.m_xlabel.empty()) o += text(f.x + f.width / 2, f.y + f.height + 38, ax.m_xlabel, "middle", 13) + "\n";
    if (!ax.m_ylabel.empty()) {
      const double x = f.x - margin_left + 16, y = f.y + f.height / 2;
      o += text(x, y, ax.m_ylabel, "middle", 13,
                " transform=\"rotate(-90 " + detail::num(x) + " " + detail::num(y) + ")\"") + "\n";
    }
    if (!ax.m_title.empty()) o += text(f.x + f.width / 2, f.y - 10, ax.m_title, "middle", 14) + "\n";
    draw_legend(o, ax, index);
    o += "</g>\n";
  }

  static std::string hatch_id(std::size_t axes, std::size_t item) {
    return "hatch" + std::to_string(axes) + "_" + std::to_string(item);
  }

  static void draw_item(std::string& o, const Axes::Item& it, const AxisMap& mx, const AxisMap& my, const Rect& f,
                        const std::string& hatch) {
    using K = Axes::Item;
    switch (it.kind) {
      case K::line: {
        const auto& s = it.ls;
        std::string path, marks;
        bool pen = false;
        double lx = 0, ly = 0;
        for (std::size_t i = 0; i < it.x.size(); ++i) {
          const double px = mx(it.x[i]), py = my(it.y[i]);
          if (!std::isfinite(px) || !std::isfinite(py) || !std::isfinite(it.x[i]) || !std::isfinite(it.y[i])) {
            pen = false;
            continue;
          }
          const bool last = i + 1 == it.x.size() || !std::isfinite(mx(it.x[i + 1])) || !std::isfinite(my(it.y[i + 1]));
          // thin: skip points within half a pixel of the last one drawn (a million-point ROC curve stays small)
          if (pen && !last && std::abs(px - lx) < 0.5 && std::abs(py - ly) < 0.5) continue;
          path += (pen ? " L" : " M") + pt(px, py);
          pen = true;
          lx = px;
          ly = py;
          if (s.marker != Marker::none) marker(marks, s.marker, px, py, s.marker_size, it.color);
        }
        if (!path.empty())
          o += "<path d=\"" + path.substr(1) + "\" fill=\"none\" stroke=\"" + it.color + "\" stroke-width=\"" +
               detail::num(s.width) + "\"" + (s.dash.empty() ? "" : " stroke-dasharray=\"" + s.dash + "\"") +
               " stroke-linejoin=\"round\"/>\n";
        if (!marks.empty()) o += marks + "\n";
        break;
      }
      case K::hist: {
        const auto& s = it.hs;
        // baseline: y = 0 on a linear axis, the bottom of the frame on a log one
        const double base = my.scale == Scale::log ? f.y + f.height : my(0.0);
        auto ypix = [&](double v) {
          const double p = my(v);
          return std::isfinite(p) && std::isfinite(v) ? p : base;
        };
        std::string d = "M" + pt(mx(it.x[0]), base);
        for (std::size_t i = 0; i < it.y.size(); ++i) {
          d += " L" + pt(mx(it.x[i]), ypix(it.y[i]));
          d += " L" + pt(mx(it.x[i + 1]), ypix(it.y[i]));
        }
        d += " L" + pt(mx(it.x.back()), base);
        if (s.fill)
          o += "<path d=\"" + d + " Z\" fill=\"" + it.color + "\" fill-opacity=\"" + detail::num(s.fill_opacity, 3) +
               "\" stroke=\"none\"/>\n";
        if (s.hatch)
          o += "<path d=\"" + d + " Z\" fill=\"url(#" + hatch + ")\" stroke=\"none\"/>\n";
        o += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + it.color + "\" stroke-width=\"" + detail::num(s.width) +
             "\"" + (s.dash.empty() ? "" : " stroke-dasharray=\"" + s.dash + "\"") + "/>\n";
        break;
      }
      case K::points: {
        const auto& s = it.ps;
        std::string bars, marks;
        for (std::size_t i = 0; i < it.x.size(); ++i) {
          const double px = mx(it.x[i]), py = my(it.y[i]);
          if (!std::isfinite(px) || !std::isfinite(py) || !std::isfinite(it.x[i]) || !std::isfinite(it.y[i])) continue;
          auto clamp_pix = [](double p, double fallback) { return std::isfinite(p) ? p : fallback; };
          if (!it.ey.empty() && std::isfinite(it.ey[i]) && it.ey[i] != 0) {
            const double e = std::abs(it.ey[i]);
            const double y0 = clamp_pix(my(it.y[i] - e), my.p_lo), y1 = clamp_pix(my(it.y[i] + e), my.p_hi);
            bars += "<line x1=\"" + detail::num(px) + "\" y1=\"" + detail::num(y0) + "\" x2=\"" + detail::num(px) +
                    "\" y2=\"" + detail::num(y1) + "\"/>";
          }
          if (!it.ex.empty() && std::isfinite(it.ex[i]) && it.ex[i] != 0) {
            const double e = std::abs(it.ex[i]);
            const double x0 = clamp_pix(mx(it.x[i] - e), mx.p_lo), x1 = clamp_pix(mx(it.x[i] + e), mx.p_hi);
            bars += "<line x1=\"" + detail::num(x0) + "\" y1=\"" + detail::num(py) + "\" x2=\"" + detail::num(x1) +
                    "\" y2=\"" + detail::num(py) + "\"/>";
          }
          marker(marks, s.marker, px, py, s.marker_size, it.color);
        }
        if (!bars.empty())
          o += "<g stroke=\"" + it.color + "\" stroke-width=\"" + detail::num(s.width) + "\">" + bars + "</g>\n";
        if (!marks.empty()) o += marks + "\n";
        break;
      }
      case K::text: {
        const auto& s = it.ts;
        double px, py;
        if (s.coords == Coords::axes) {
          px = f.x + it.x[0] * f.width;
          py = f.y + (1 - it.y[0]) * f.height;
        } else {
          px = mx(it.x[0]);
          py = my(it.y[0]);
        }
        if (!std::isfinite(px) || !std::isfinite(py)) break;
        const char* a = s.anchor == Anchor::start ? "start" : s.anchor == Anchor::middle ? "middle" : "end";
        o += text(px, py, it.label, a, s.size, s.color == "black" ? "" : " fill=\"" + s.color + "\"") + "\n";
        break;
      }
      case K::heat: {
        double lo = it.hm.lo, hi = it.hm.hi;
        if (std::isnan(lo) || std::isnan(hi)) {
          double a = std::numeric_limits<double>::infinity(), b = -a;
          for (double v : it.y)
            if (std::isfinite(v)) a = std::min(a, v), b = std::max(b, v);
          if (std::isnan(lo)) lo = a <= b ? std::min(a, 0.0) : 0.0;
          if (std::isnan(hi)) hi = a <= b ? b : 1.0;
        }
        const double range = hi > lo ? hi - lo : 1.0;
        for (std::size_t r = 0; r < it.rows; ++r)
          for (std::size_t c = 0; c < it.cols; ++c) {
            const double v = it.y[r * it.cols + c];
            if (!std::isfinite(v)) continue;
            const double x0 = mx(double(c) - 0.5), x1 = mx(double(c) + 0.5);
            const double y0 = my(double(r) - 0.5), y1 = my(double(r) + 0.5);
            const double t = (v - lo) / range;
            o += "<rect x=\"" + detail::num(std::min(x0, x1)) + "\" y=\"" + detail::num(std::min(y0, y1)) +
                 "\" width=\"" + detail::num(std::abs(x1 - x0)) + "\" height=\"" + detail::num(std::abs(y1 - y0)) +
                 "\" fill=\"" + heat_color(t) + "\"/>";
            if (it.hm.annotate)
              o += text((x0 + x1) / 2, (y0 + y1) / 2 + 4, detail::num(v, it.hm.decimals), "middle", 12,
                        t > 0.55 ? " fill=\"white\"" : "");
          }
        o += "\n";
        break;
      }
    }
  }

  static void draw_legend(std::string& o, const Axes& ax, std::size_t index) {
    if (ax.m_legend == LegendLocation::none) return;
    std::vector<const Axes::Item*> entries;
    for (const auto& it : ax.m_items)
      if (it.kind != Axes::Item::text && it.kind != Axes::Item::heat && !it.label.empty()) entries.push_back(&it);
    if (entries.empty()) return;
    const Rect f = ax.m_frame;
    std::size_t chars = 0;
    for (auto* e : entries) chars = std::max(chars, e->label.size());
    const double row = 18, w = 40 + 6.6 * double(chars), h = row * double(entries.size()) + 8;
    const bool right = ax.m_legend == LegendLocation::upper_right || ax.m_legend == LegendLocation::lower_right;
    const bool upper = ax.m_legend == LegendLocation::upper_right || ax.m_legend == LegendLocation::upper_left;
    const double x = right ? f.x + f.width - w - 8 : f.x + 8, y = upper ? f.y + 8 : f.y + f.height - h - 8;
    o += "<g><rect x=\"" + detail::num(x) + "\" y=\"" + detail::num(y) + "\" width=\"" + detail::num(w) +
         "\" height=\"" + detail::num(h) + "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#b0b0b0\"/>";
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto& e = *entries[i];
      const double cy = y + 4 + row * (double(i) + 0.5), x0 = x + 6, x1 = x + 30;
      if (e.kind == Axes::Item::hist && (e.hs.fill || e.hs.hatch)) {
        const std::string r = "<rect x=\"" + detail::num(x0) + "\" y=\"" + detail::num(cy - 6) + "\" width=\"" +
                              detail::num(x1 - x0) + "\" height=\"12\" ";
        if (e.hs.fill) o += r + "fill=\"" + e.color + "\" fill-opacity=\"" + detail::num(e.hs.fill_opacity, 3) + "\"/>";
        if (e.hs.hatch) o += r + "fill=\"url(#" + hatch_id(index, static_cast<std::size_t>(&e - ax.m_items.data())) + ")\"/>";
        o += r + "fill=\"none\" stroke=\"" + e.color + "\" stroke-width=\"" + detail::num(e.hs.width) + "\"/>";
      } else if (e.kind == Axes::Item::points) {
        o += "<line x1=\"" + detail::num((x0 + x1) / 2) + "\" y1=\"" + detail::num(cy - 6) + "\" x2=\"" +
             detail::num((x0 + x1) / 2) + "\" y2=\"" + detail::num(cy + 6) + "\" stroke=\"" + e.color +
             "\" stroke-width=\"" + detail::num(e.ps.width) + "\"/>";
        marker(o, e.ps.marker, (x0 + x1) / 2, cy, e.ps.marker_size, e.color);
      } else {
        const double width = e.kind == Axes::Item::line ? e.ls.width : e.hs.width;
        const std::string& dash = e.kind == Axes::Item::line ? e.ls.dash : e.hs.dash;
        o += "<line x1=\"" + detail::num(x0) + "\" y1=\"" + detail::num(cy) + "\" x2=\"" + detail::num(x1) +
             "\" y2=\"" + detail::num(cy) + "\" stroke=\"" + e.color + "\" stroke-width=\"" + detail::num(width) + "\"" +
             (dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"") + "/>";
        if (e.kind == Axes::Item::line) marker(o, e.ls.marker, (x0 + x1) / 2, cy, e.ls.marker_size, e.color);
      }
      o += text(x1 + 6, cy + 4, e.label, "start", 12);
    }
    o += "</g>\n";
  }

  int m_rows, m_cols;
  double m_pw, m_ph;
  std::string m_title;
  std::vector<Axes> m_axes;
};

}  // namespace hepnn::plot
