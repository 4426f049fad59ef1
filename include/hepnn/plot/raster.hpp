/// @file plot/raster.hpp
/// @brief The PNG writer's canvas: an RGB image drawn with 3 x 3 samples per pixel (averaged at the
/// end, which anti-aliases every edge): filled polygons (nonzero rule, with opacity or hatching),
/// strokes with round joins and dashes, circles, and text in the stroke font of plot/font.hpp.
/// Coordinates are figure pixels, origin top left, y downwards, as in the SVG. Standard library only.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "hepnn/core/error.hpp"
#include "hepnn/plot/font.hpp"

namespace hepnn::inline HEPNN_ABI::plot::detail {

/// A point in figure pixels.
struct Pt {
  double x = 0, y = 0;
};

/// An opaque colour, 0..255 per channel.
struct Rgb {
  unsigned char r = 0, g = 0, b = 0;
};

/// A run of text: its characters, font size, and shift from the baseline (a superscript: dy < 0).
struct TextRun {
  std::string text;
  double size = 12;
  double dy = 0;
};

class Raster {
 public:
  static constexpr int ss = 3;  ///< samples per pixel along each axis

  /// A white canvas of ceil(width) x ceil(height) pixels.
  Raster(double width, double height)
      : m_w(int(std::ceil(width))), m_h(int(std::ceil(height))), m_sw(m_w * ss), m_sh(m_h * ss),
        m_px(std::size_t(m_sw) * std::size_t(m_sh) * 3, 255) {
    HEPNN_CHECK(m_w > 0 && m_h > 0 && double(m_sw) * m_sh <= 4e8, "plot: a PNG of ", width, " x ", height,
                " pixels is empty or too large");
    reset_clip();
  }
  int width() const { return m_w; }
  int height() const { return m_h; }

  /// Later drawing stays inside r (figure pixels).
  void clip(double x, double y, double w, double h) {
    m_cx0 = std::max(0, int(std::floor(x * ss)));
    m_cy0 = std::max(0, int(std::floor(y * ss)));
    m_cx1 = std::min(m_sw, int(std::ceil((x + w) * ss)));
    m_cy1 = std::min(m_sh, int(std::ceil((y + h) * ss)));
  }
  void reset_clip() {
    m_cx0 = m_cy0 = 0;
    m_cx1 = m_sw;
    m_cy1 = m_sh;
  }

  /// Fills the polygon (closed implicitly) by the nonzero rule with colour c at opacity alpha;
  /// `hatch` fills only diagonal stripes (SVG's 45-degree line pattern).
  void fill(const std::vector<Pt>& pts, Rgb c, double alpha = 1.0, bool hatch = false) {
    if (pts.size() < 3 || !(alpha > 0)) return;
    double ylo = pts[0].y, yhi = pts[0].y;
    for (const auto& p : pts) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) return;
      ylo = std::min(ylo, p.y);
      yhi = std::max(yhi, p.y);
    }
    const int sy0 = std::max(m_cy0, int(std::floor(ylo * ss))), sy1 = std::min(m_cy1, int(std::ceil(yhi * ss)));
    const double a = std::clamp(alpha, 0.0, 1.0);
    std::vector<std::pair<double, int>> xs;
    const std::size_t n = pts.size();
    for (int sy = sy0; sy < sy1; ++sy) {
      const double yc = (sy + 0.5) / ss;
      xs.clear();
      for (std::size_t i = 0; i < n; ++i) {
        const Pt& p = pts[i];
        const Pt& q = pts[(i + 1) % n];
        if ((p.y <= yc && yc < q.y) || (q.y <= yc && yc < p.y))
          xs.emplace_back(p.x + (yc - p.y) * (q.x - p.x) / (q.y - p.y), q.y > p.y ? 1 : -1);
      }
      std::sort(xs.begin(), xs.end());
      int wind = 0;
      for (std::size_t k = 0; k + 1 < xs.size(); ++k) {
        wind += xs[k].second;
        if (wind == 0) continue;
        const int sx0 = std::max(m_cx0, int(std::ceil(xs[k].first * ss - 0.5)));
        const int sx1 = std::min(m_cx1, int(std::ceil(xs[k + 1].first * ss - 0.5)));
        for (int sx = sx0; sx < sx1; ++sx) {
          if (hatch && (sx + sy) % (ss * 17 / 2) >= ss * 17 / 10) continue;  // stripes 8.5 px apart, 1.7 px wide
          blend(sx, sy, c, a);
        }
      }
    }
  }

  /// A filled circle.
  void circle(double x, double y, double r, Rgb c, double alpha = 1.0) {
    if (!(r > 0)) return;
    const int k = std::clamp(int(r * 4), 12, 64);
    std::vector<Pt> pts(static_cast<std::size_t>(k));
    for (int i = 0; i < k; ++i) {
      const double t = 2 * 3.14159265358979323846 * i / k;
      pts[std::size_t(i)] = {x + r * std::cos(t), y + r * std::sin(t)};
    }
    fill(pts, c, alpha);
  }

  /// Strokes a polyline (closed: back to the first point) of `width` pixels with round joins and
  /// caps; `dash` alternates drawn and skipped lengths (empty: solid).
  void stroke(const std::vector<Pt>& pts_in, bool closed, Rgb c, double width, const std::vector<double>& dash = {}) {
    std::vector<Pt> pts = pts_in;
    if (closed && !pts.empty()) pts.push_back(pts.front());
    if (pts.empty() || !(width > 0)) return;
    const double hw = std::max(width, 0.6) / 2;
    if (pts.size() == 1) return circle(pts[0].x, pts[0].y, hw, c);
    double total = 0;
    for (double d : dash) total += std::max(d, 0.0);
    std::size_t di = 0;
    double left = dash.empty() ? 0 : dash[0];  // what is left of the current dash entry
    for (std::size_t i = 0; i + 1 < pts.size(); ++i) {
      Pt a = pts[i];
      const Pt b = pts[i + 1];
      double len = std::hypot(b.x - a.x, b.y - a.y);
      if (dash.empty() || !(total > 0)) {
        segment(a, b, hw, c);
        continue;
      }
      while (len > 1e-12) {  // split the segment at the dash boundaries
        const double step = std::min(len, left);
        const Pt e{a.x + (b.x - a.x) * step / len, a.y + (b.y - a.y) * step / len};
        if (di % 2 == 0) segment(a, e, hw, c);
        a = e;
        len -= step;
        left -= step;
        if (left <= 1e-12) {
          di = (di + 1) % dash.size();
          left = dash[di] > 0 ? dash[di] : 1e-9;
        }
      }
    }
  }

  /// Text runs at (x, y) (the baseline), anchored at their start (0), middle (1) or end (2), in
  /// colour c, bold or not, turned by -90 degrees about (x, y) when `vertical` (reads upwards).
  void text(double x, double y, const std::vector<TextRun>& runs, int anchor, Rgb c, bool bold, bool vertical) {
    double w = 0;
    for (const auto& r : runs) w += text_units(r.text) * r.size / 9 + (w > 0 ? r.size / 9 : 0);
    double pen = anchor == 0 ? 0 : anchor == 1 ? -w / 2 : -w;
    for (const auto& r : runs) {
      const double u = r.size / 9, hw = std::max(0.7, r.size * 0.085 * (bold ? 1.45 : 1.0)), dy = r.dy;
      for (char32_t ch : glyph_codes(r.text)) {
        const std::string_view s = glyph_strokes(ch);
        std::vector<Pt> line;
        for (std::size_t i = 0; i <= s.size(); ++i) {
          if (i == s.size() || s[i] == '|') {
            stroke(line, false, c, 2 * hw);
            line.clear();
          } else if (s[i] != ' ' && i + 1 < s.size()) {
            const double gx = pen + (s[i] - '0') * u, gy = dy + (s[i + 1] - '0' - 6) * u;
            line.push_back(vertical ? Pt{x + gy, y - gx} : Pt{x + gx, y + gy});
            ++i;
          }
        }
        pen += glyph_advance(ch) * u;
      }
    }
  }

  /// The image: each pixel the mean of its samples.
  std::vector<unsigned char> pixels() const {
    std::vector<unsigned char> out(std::size_t(m_w) * std::size_t(m_h) * 3);
    for (int y = 0; y < m_h; ++y)
      for (int x = 0; x < m_w; ++x)
        for (int ch = 0; ch < 3; ++ch) {
          int s = 0;
          for (int j = 0; j < ss; ++j)
            for (int i = 0; i < ss; ++i)
              s += m_px[(std::size_t(y * ss + j) * std::size_t(m_sw) + std::size_t(x * ss + i)) * 3 + std::size_t(ch)];
          out[(std::size_t(y) * std::size_t(m_w) + std::size_t(x)) * 3 + std::size_t(ch)] =
              static_cast<unsigned char>((s + ss * ss / 2) / (ss * ss));
        }
    return out;
  }

 private:
  void blend(int sx, int sy, Rgb c, double a) {
    unsigned char* p = &m_px[(std::size_t(sy) * std::size_t(m_sw) + std::size_t(sx)) * 3];
    if (a >= 1) {
      p[0] = c.r, p[1] = c.g, p[2] = c.b;
      return;
    }
    p[0] = static_cast<unsigned char>(std::lround(p[0] * (1 - a) + c.r * a));
    p[1] = static_cast<unsigned char>(std::lround(p[1] * (1 - a) + c.g * a));
    p[2] = static_cast<unsigned char>(std::lround(p[2] * (1 - a) + c.b * a));
  }
  void segment(Pt a, Pt b, double hw, Rgb c) {
    const double len = std::hypot(b.x - a.x, b.y - a.y);
    if (len <= 1e-9) return circle(a.x, a.y, hw, c);  // a dot
    const double nx = -(b.y - a.y) / len * hw, ny = (b.x - a.x) / len * hw;
    fill({{a.x + nx, a.y + ny}, {b.x + nx, b.y + ny}, {b.x - nx, b.y - ny}, {a.x - nx, a.y - ny}}, c);
    if (hw > 0.75) {  // round joins and caps where they show
      circle(a.x, a.y, hw, c);
      circle(b.x, b.y, hw, c);
    }
  }

  int m_w, m_h, m_sw, m_sh;
  std::vector<unsigned char> m_px;
  int m_cx0 = 0, m_cy0 = 0, m_cx1 = 0, m_cy1 = 0;
};

}  // namespace hepnn::plot::detail
