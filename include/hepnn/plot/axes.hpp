/// @file plot/axes.hpp
/// @brief plot::Axes: one panel of a plot::Figure (plot/svg.hpp), a frame with two axes (linear or log) and
/// the items drawn in it: lines, step histograms, points with error bars, text and heat maps. See
/// plot/svg.hpp for how limits and log axes behave.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hepnn/core/error.hpp"
#include "hepnn/plot/style.hpp"

namespace hepnn::inline HEPNN_ABI::plot {

class Figure;

/// One panel: a frame with two axes and the items drawn in it. Obtained from Figure::axes; every `add_*`
/// returns the Axes so calls chain.
class Axes {
 public:
  /// Title drawn above the frame.
  Axes& title(std::string t) { m_title = std::move(t); return *this; }
  /// Label of the x axis.
  Axes& xlabel(std::string t) { m_xlabel = std::move(t); return *this; }
  /// Label of the y axis.
  Axes& ylabel(std::string t) { m_ylabel = std::move(t); return *this; }
  /// Scale of the x axis.
  Axes& xscale(Scale s) { m_xscale = s; return *this; }
  /// Scale of the y axis.
  Axes& yscale(Scale s) { m_yscale = s; return *this; }
  /// Explicit x limits; lo > hi inverts the axis. On a log axis both must be positive.
  Axes& xlim(double lo, double hi) { m_xlim = {lo, hi}; m_has_xlim = true; return *this; }
  /// Explicit y limits; lo > hi inverts the axis. On a log axis both must be positive.
  Axes& ylim(double lo, double hi) { m_ylim = {lo, hi}; m_has_ylim = true; return *this; }
  /// Explicit x ticks at `positions` with `labels` (e.g. class names); replaces the automatic ticks.
  Axes& xticks(std::vector<double> positions, std::vector<std::string> labels) {
    HEPNN_CHECK(positions.size() == labels.size(), "plot::Axes::xticks: ", positions.size(), " positions but ",
                labels.size(), " labels");
    m_xticks = {std::move(positions), {}, std::move(labels), false};
    m_has_xticks = true;
    return *this;
  }
  /// Explicit y ticks at `positions` with `labels`; replaces the automatic ticks.
  Axes& yticks(std::vector<double> positions, std::vector<std::string> labels) {
    HEPNN_CHECK(positions.size() == labels.size(), "plot::Axes::yticks: ", positions.size(), " positions but ",
                labels.size(), " labels");
    m_yticks = {std::move(positions), {}, std::move(labels), false};
    m_has_yticks = true;
    return *this;
  }
  /// Where the legend goes (upper right by default); only items with a label appear in it.
  Axes& legend(LegendLocation where) { m_legend = where; return *this; }
  /// Light grid lines at the major ticks (on by default).
  Axes& grid(bool on) { m_grid = on; return *this; }

  /// A polyline through (x[i], y[i]); non-finite points (and non-positive ones on a log axis) break it.
  /// requires: x.size() == y.size().
  Axes& line(std::span<const double> x, std::span<const double> y, const std::string& label = "",
             LineStyle style = {}) {
    HEPNN_CHECK(x.size() == y.size(), "plot::Axes::line: ", x.size(), " x values but ", y.size(), " y values");
    Item it;
    it.kind = Item::line;
    it.x.assign(x.begin(), x.end());
    it.y.assign(y.begin(), y.end());
    it.label = label;
    it.color = pick(style.color);
    it.ls = std::move(style);
    m_items.push_back(std::move(it));
    return *this;
  }
  /// A step histogram of `values` (one per bin) over `edges` (bins + 1, increasing).
  /// requires: edges.size() == values.size() + 1, at least one bin, finite increasing edges.
  Axes& step_histogram(std::span<const double> edges, std::span<const double> values, const std::string& label = "",
                       HistStyle style = {}) {
    HEPNN_CHECK(!values.empty() && edges.size() == values.size() + 1, "plot::Axes::step_histogram: ", edges.size(),
                " edges for ", values.size(), " bins; expected bins + 1 edges and at least one bin");
    for (std::size_t i = 0; i + 1 < edges.size(); ++i)
      HEPNN_CHECK(std::isfinite(edges[i]) && std::isfinite(edges[i + 1]) && edges[i] < edges[i + 1],
                  "plot::Axes::step_histogram: edges[", i, "] = ", edges[i], " and edges[", i + 1, "] = ",
                  edges[i + 1], "; edges must be finite and increasing");
    Item it;
    it.kind = Item::hist;
    it.x.assign(edges.begin(), edges.end());
    it.y.assign(values.begin(), values.end());
    it.label = label;
    it.color = pick(style.color);
    it.hs = std::move(style);
    m_items.push_back(std::move(it));
    return *this;
  }
  /// Points (x[i], y[i]) with symmetric error bars; `yerr`/`xerr` empty means none. Non-finite points are left out.
  /// requires: equal sizes (error spans empty or of the same size).
  Axes& errorbar(std::span<const double> x, std::span<const double> y, std::span<const double> yerr,
                 std::span<const double> xerr = {}, const std::string& label = "", PointStyle style = {}) {
    HEPNN_CHECK(x.size() == y.size() && (yerr.empty() || yerr.size() == x.size()) &&
                    (xerr.empty() || xerr.size() == x.size()),
                "plot::Axes::errorbar: ", x.size(), " x, ", y.size(), " y, ", yerr.size(), " y errors and ",
                xerr.size(), " x errors; expected equal sizes (errors may be empty)");
    Item it;
    it.kind = Item::points;
    it.x.assign(x.begin(), x.end());
    it.y.assign(y.begin(), y.end());
    it.ey.assign(yerr.begin(), yerr.end());
    it.ex.assign(xerr.begin(), xerr.end());
    it.label = label;
    it.color = pick(style.color);
    it.ps = std::move(style);
    m_items.push_back(std::move(it));
    return *this;
  }
  /// A text at (x, y), in axes fractions by default (TextStyle::coords).
  Axes& text(double x, double y, const std::string& s, TextStyle style = {}) {
    Item it;
    it.kind = Item::text;
    it.x = {x};
    it.y = {y};
    it.label = s;
    it.ts = style;
    m_items.push_back(std::move(it));
    return *this;
  }
  /// A heat map of `values` (rows x cols, row-major): cell (r, c) covers x in [c - 0.5, c + 0.5] and y in
  /// [r - 0.5, r + 0.5]. Set ylim(rows - 0.5, -0.5) to put row 0 at the top. Non-finite cells are left blank.
  /// requires: values.size() == rows * cols, rows, cols >= 1.
  Axes& heatmap(std::size_t rows, std::size_t cols, std::span<const double> values, HeatStyle style = {}) {
    HEPNN_CHECK(rows >= 1 && cols >= 1 && values.size() == rows * cols, "plot::Axes::heatmap: ", values.size(),
                " values for ", rows, " x ", cols, " cells");
    Item it;
    it.kind = Item::heat;
    it.rows = rows;
    it.cols = cols;
    it.y.assign(values.begin(), values.end());
    it.hm = style;
    m_items.push_back(std::move(it));
    return *this;
  }

  /// The frame (plotting area) in figure pixels.
  Rect frame() const { return m_frame; }
  /// The x mapping with the limits as they will be drawn (explicit, or resolved from the data now).
  AxisMap xmap() const { return {m_xscale, limits(true).first, limits(true).second, m_frame.x, m_frame.x + m_frame.width}; }
  /// The y mapping with the limits as they will be drawn (explicit, or resolved from the data now).
  AxisMap ymap() const {
    return {m_yscale, limits(false).first, limits(false).second, m_frame.y + m_frame.height, m_frame.y};
  }

 private:
  friend class Figure;
  struct Item {
    enum Kind { line, hist, points, text, heat };
    Kind kind = line;
    std::vector<double> x, y, ex, ey;
    std::string label;
    Color color;
    LineStyle ls;
    HistStyle hs;
    PointStyle ps;
    TextStyle ts;
    HeatStyle hm;
    std::size_t rows = 0, cols = 0;
  };

  Color pick(const Color& c) {
    if (!c.empty()) return c;
    const auto& d = default_colors();
    return d[m_next_color++ % d.size()];
  }

  /// Data range of the items along one axis, ignoring non-finite values and non-positive ones on a log axis.
  std::pair<double, double> data_range(bool x_axis, bool& any) const {
    const bool logs = (x_axis ? m_xscale : m_yscale) == Scale::log;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    auto take = [&](double v) {
      if (!std::isfinite(v) || (logs && !(v > 0))) return;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    };
    for (const auto& it : m_items) {
      switch (it.kind) {
        case Item::line:
          for (std::size_t i = 0; i < it.x.size(); ++i)
            if (std::isfinite(it.x[i]) && std::isfinite(it.y[i])) take(x_axis ? it.x[i] : it.y[i]);
          break;
        case Item::hist:
          if (x_axis) {
            take(it.x.front());
            take(it.x.back());
          } else {
            for (double v : it.y) take(v);
            if (!logs) take(0.0);
          }
          break;
        case Item::points:
          for (std::size_t i = 0; i < it.x.size(); ++i) {
            if (!std::isfinite(it.x[i]) || !std::isfinite(it.y[i])) continue;
            const auto& v = x_axis ? it.x : it.y;
            const auto& e = x_axis ? it.ex : it.ey;
            const double err = e.empty() || !std::isfinite(e[i]) ? 0.0 : std::abs(e[i]);
            take(v[i] - err);
            take(v[i]);
            take(v[i] + err);
          }
          break;
        case Item::heat:
          take(-0.5);
          take((x_axis ? double(it.cols) : double(it.rows)) - 0.5);
          break;
        case Item::text:
          if (it.ts.coords == Coords::data) take(x_axis ? it.x[0] : it.y[0]);
          break;
      }
    }
    any = lo <= hi;
    return {lo, hi};
  }

  std::pair<double, double> limits(bool x_axis) const {
    const Scale s = x_axis ? m_xscale : m_yscale;
    const char* name = x_axis ? "x" : "y";
    if (x_axis ? m_has_xlim : m_has_ylim) {
      const auto l = x_axis ? m_xlim : m_ylim;
      HEPNN_CHECK(std::isfinite(l.first) && std::isfinite(l.second) && l.first != l.second, "plot::Axes: ", name,
                  " limits (", l.first, ", ", l.second, ") must be finite and different");
      HEPNN_CHECK(s == Scale::linear || (l.first > 0 && l.second > 0), "plot::Axes: ", name, " limits (", l.first,
                  ", ", l.second, ") on a log axis must be positive");
      return l;
    }
    bool any = false;
    auto [lo, hi] = data_range(x_axis, any);
    const bool heat = std::any_of(m_items.begin(), m_items.end(), [](const Item& i) { return i.kind == Item::heat; });
    if (s == Scale::log) {
      if (!any) return {1, 10};
      if (lo == hi) return {lo / 10, hi * 10};
      const double m = std::pow(hi / lo, 0.05);
      return {lo / m, hi * m};
    }
    if (!any) return {0, 1};
    if (lo == hi) return {lo - (lo == 0 ? 1 : std::abs(lo) * 0.1), hi + (hi == 0 ? 1 : std::abs(hi) * 0.1)};
    if (heat) return {lo, hi};
    const double pad = 0.05 * (hi - lo);
    const bool hist_x = x_axis && std::any_of(m_items.begin(), m_items.end(), [](const Item& i) {
                          return i.kind == Item::hist;
                        });
    if (hist_x) return {lo, hi};  // histograms fill the x range exactly
    double a = lo - pad, b = hi + pad;
    if (lo >= 0 && a < 0) a = 0;
    if (hi <= 0 && b > 0) b = 0;
    return {a, b};
  }

  std::string m_title, m_xlabel, m_ylabel;
  Scale m_xscale = Scale::linear, m_yscale = Scale::linear;
  std::pair<double, double> m_xlim{0, 1}, m_ylim{0, 1};
  bool m_has_xlim = false, m_has_ylim = false;
  detail::Ticks m_xticks, m_yticks;
  bool m_has_xticks = false, m_has_yticks = false;
  LegendLocation m_legend = LegendLocation::upper_right;
  bool m_grid = true;
  std::vector<Item> m_items;
  std::size_t m_next_color = 0;
  Rect m_frame;
};

}  // namespace hepnn::plot
