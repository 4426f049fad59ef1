/// @file plot/svg_raster.hpp
/// @brief PNG from the SVG a plot::Figure writes: the SVG is read back (the closed subset that
/// plot/svg.hpp emits: svg, g with stroke and clip-path, clipPath, defs/pattern for hatching,
/// rect, line, path with M/L/Z, circle, text with tspan superscripts and a -90 degree rotation)
/// and drawn on a plot::detail::Raster. One drawing code serves both formats, so the PNG cannot
/// drift from the SVG. Anything outside the subset is a hepnn::Error naming it.
#pragma once
#include "hepnn/core/config.hpp"
#include <array>
#include <charconv>
#include <cstdlib>
#include <functional>
#include <memory>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hepnn/core/error.hpp"
#include "hepnn/plot/png.hpp"
#include "hepnn/plot/raster.hpp"

namespace hepnn::inline HEPNN_ABI::plot::detail {

/// A colour as the figure writes it: #rgb, #rrggbb or one of the common SVG names.
inline Rgb parse_color(std::string_view s) {
  auto hex = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (s.size() == 7 && s[0] == '#') {
    int v[6];
    bool ok = true;
    for (int i = 0; i < 6; ++i) ok = ok && (v[i] = hex(s[std::size_t(i) + 1])) >= 0;
    if (ok) return {static_cast<unsigned char>(v[0] * 16 + v[1]), static_cast<unsigned char>(v[2] * 16 + v[3]),
                    static_cast<unsigned char>(v[4] * 16 + v[5])};
  }
  if (s.size() == 4 && s[0] == '#' && hex(s[1]) >= 0 && hex(s[2]) >= 0 && hex(s[3]) >= 0)
    return {static_cast<unsigned char>(hex(s[1]) * 17), static_cast<unsigned char>(hex(s[2]) * 17),
            static_cast<unsigned char>(hex(s[3]) * 17)};
  static const std::map<std::string, Rgb, std::less<>> names{
      {"black", {0, 0, 0}},        {"white", {255, 255, 255}},  {"red", {255, 0, 0}},       {"green", {0, 128, 0}},
      {"blue", {0, 0, 255}},       {"gray", {128, 128, 128}},   {"grey", {128, 128, 128}},  {"orange", {255, 165, 0}},
      {"purple", {128, 0, 128}},   {"yellow", {255, 255, 0}},   {"cyan", {0, 255, 255}},    {"magenta", {255, 0, 255}},
      {"brown", {165, 42, 42}},    {"pink", {255, 192, 203}},   {"navy", {0, 0, 128}},      {"teal", {0, 128, 128}},
      {"olive", {128, 128, 0}},    {"maroon", {128, 0, 0}},     {"lightgray", {211, 211, 211}},
      {"darkgray", {169, 169, 169}}, {"silver", {192, 192, 192}}, {"gold", {255, 215, 0}}};
  auto it = names.find(s);
  HEPNN_CHECK(it != names.end(), "plot: the PNG writer does not know the colour '", std::string(s),
              "'; give it as #rrggbb (or one of the common names: red, blue, gray, ...)");
  return it->second;
}

/// A number at p, before end, as the SVG writer's std::to_chars wrote it (locale-independent:
/// strtod would read "1.5" as 1 in a program that set a German locale); moves p past it.
inline bool read_number(const char*& p, const char* end, double& v) {
  const std::from_chars_result r = std::from_chars(p, end, v);
  if (r.ec != std::errc{}) return false;
  p = r.ptr;
  return true;
}
/// The number that s holds, or def.
inline double to_number(const std::string& s, double def) {
  const char* p = s.data();
  double v = def;
  return read_number(p, s.data() + s.size(), v) ? v : def;
}

/// Reads the SVG of a plot::Figure and draws it; returns the PNG file.
class SvgRasterizer {
 public:
  std::string png(std::string_view svg) {
    m_s = svg;
    m_i = 0;
    while (next_tag()) handle();
    HEPNN_CHECK(m_canvas, "plot: the figure's SVG has no <svg> element");
    return encode_png(m_canvas->width(), m_canvas->height(), m_canvas->pixels());
  }

 private:
  using Attrs = std::map<std::string, std::string, std::less<>>;
  struct Group {
    std::string stroke, stroke_width;
    bool clipped = false;
  };

  /// Moves to the next tag; fills m_name (with a leading '/' for a closing tag), m_attrs, m_self.
  bool next_tag() {
    const std::size_t lt = m_s.find('<', m_i);
    if (lt == std::string_view::npos) return false;
    m_text_before = m_s.substr(m_i, lt - m_i);
    std::size_t j = lt + 1;
    const std::size_t gt = m_s.find('>', j);
    HEPNN_CHECK(gt != std::string_view::npos, "plot: unterminated tag in the figure's SVG");
    std::string_view body = m_s.substr(j, gt - j);
    m_i = gt + 1;
    m_self = !body.empty() && body.back() == '/';
    if (m_self) body.remove_suffix(1);
    std::size_t k = 0;
    while (k < body.size() && body[k] != ' ' && body[k] != '\n') ++k;
    m_name = std::string(body.substr(0, k));
    m_attrs.clear();
    while (k < body.size()) {
      while (k < body.size() && (body[k] == ' ' || body[k] == '\n')) ++k;
      const std::size_t eq = body.find('=', k);
      if (eq == std::string_view::npos) break;
      const std::string key(body.substr(k, eq - k));
      const std::size_t q0 = eq + 1, q1 = body.find('"', q0 + 1);
      HEPNN_CHECK(q0 < body.size() && body[q0] == '"' && q1 != std::string_view::npos,
                  "plot: malformed attribute '", key, "' in the figure's SVG");
      m_attrs[key] = unescape(body.substr(q0 + 1, q1 - q0 - 1));
      k = q1 + 1;
    }
    return true;
  }

  static std::string unescape(std::string_view s) {
    std::string o;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '&') {
        o += s[i];
        continue;
      }
      static const std::pair<std::string_view, char> ent[] = {
          {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
      bool done = false;
      for (const auto& [e, c] : ent)
        if (s.substr(i, e.size()) == e) {
          o += c;
          i += e.size() - 1;
          done = true;
          break;
        }
      if (!done) o += '&';
    }
    return o;
  }

  std::string attr(const char* k, const char* def = "") const {
    auto it = m_attrs.find(k);
    return it == m_attrs.end() ? std::string(def) : it->second;
  }
  double num(const char* k, double def = 0) const {
    auto it = m_attrs.find(k);
    return it == m_attrs.end() ? def : to_number(it->second, def);
  }
  std::string inherited(const char* k) const {
    std::string v = attr(k);
    for (auto g = m_groups.rbegin(); v.empty() && g != m_groups.rend(); ++g)
      v = std::string_view(k) == "stroke" ? g->stroke : g->stroke_width;
    return v;
  }
  static std::vector<double> dashes(const std::string& s) {
    std::vector<double> d;
    const char* p = s.data();
    const char* end = s.data() + s.size();
    double v = 0;
    while (read_number(p, end, v)) {
      d.push_back(v);
      while (p != end && (*p == ',' || *p == ' ')) ++p;
    }
    return d;
  }

  /// Fill (unless "none"; the outline closed implicitly), hatching and stroke (closed when
  /// `closed`) of the current element's outline pts.
  void paint(const std::vector<Pt>& pts, bool closed) {
    const std::string fill = attr("fill", "black");
    if (fill.rfind("url(#", 0) == 0) {
      const std::string id = fill.substr(5, fill.size() - 6);
      auto it = m_patterns.find(id);
      HEPNN_CHECK(it != m_patterns.end(), "plot: the figure's SVG fills with an unknown pattern '", id, "'");
      m_canvas->fill(pts, it->second, 1.0, true);
    } else if (fill != "none") {
      m_canvas->fill(pts, parse_color(fill), num("fill-opacity", 1.0));
    }
    const std::string stroke = inherited("stroke");
    if (!stroke.empty() && stroke != "none") {
      const std::string w = inherited("stroke-width");
      m_canvas->stroke(pts, closed, parse_color(stroke), to_number(w, 1.0),
                       dashes(attr("stroke-dasharray")));
    }
  }

  static std::vector<Pt> path_points(const std::string& d, bool& closed) {
    std::vector<Pt> pts;
    closed = false;
    const char* p = d.data();
    const char* end = d.data() + d.size();
    while (p != end) {
      while (p != end && (*p == ' ' || *p == 'M' || *p == 'L')) ++p;
      if (p == end) break;
      if (*p == 'Z' || *p == 'z') {
        closed = true;
        ++p;
        continue;
      }
      double x = 0, y = 0;
      const bool ok = read_number(p, end, x) && p != end && *p++ == ',' && read_number(p, end, y);
      HEPNN_CHECK(ok, "plot: path data the PNG writer cannot read: '", d.substr(0, 40), "'");
      pts.push_back({x, y});
    }
    return pts;
  }

  void handle() {
    const std::string& n = m_name;
    if (n == "?xml" || n == "/svg" || n == "defs" || n == "/defs" || n == "/clipPath" || n == "/pattern") return;
    if (n == "svg") {
      m_canvas = std::make_unique<Raster>(num("width"), num("height"));
    } else if (!m_canvas) {
      throw Error(::hepnn::error_detail::concat("plot: the figure's SVG starts with <", n, "> before <svg>"));
    } else if (n == "g") {
      m_groups.push_back({attr("stroke"), attr("stroke-width"), false});
      const std::string clip = attr("clip-path");
      if (clip.rfind("url(#", 0) == 0) {
        auto it = m_clips.find(clip.substr(5, clip.size() - 6));
        HEPNN_CHECK(it != m_clips.end(), "plot: the figure's SVG clips to an unknown path '", clip, "'");
        m_canvas->clip(it->second[0], it->second[1], it->second[2], it->second[3]);
        m_groups.back().clipped = true;
      }
      if (m_self) m_groups.pop_back();
    } else if (n == "/g") {
      HEPNN_CHECK(!m_groups.empty(), "plot: unbalanced </g> in the figure's SVG");
      if (m_groups.back().clipped) m_canvas->reset_clip();
      m_groups.pop_back();
    } else if (n == "clipPath") {
      m_clip_id = attr("id");
    } else if (n == "pattern") {
      m_pattern_id = attr("id");
    } else if (n == "rect" && !m_clip_id.empty()) {
      m_clips[m_clip_id] = {num("x"), num("y"), num("width"), num("height")};
      m_clip_id.clear();
    } else if (n == "line" && !m_pattern_id.empty()) {
      m_patterns[m_pattern_id] = parse_color(attr("stroke", "black"));
      m_pattern_id.clear();
    } else if (n == "rect") {
      const double x = num("x"), y = num("y"), w = num("width"), h = num("height");
      paint({{x, y}, {x + w, y}, {x + w, y + h}, {x, y + h}}, true);
    } else if (n == "line") {
      if (attr("fill").empty()) m_attrs["fill"] = "none";
      paint({{num("x1"), num("y1")}, {num("x2"), num("y2")}}, false);
    } else if (n == "path") {
      bool closed = false;
      const std::vector<Pt> pts = path_points(attr("d"), closed);
      paint(pts, closed);
    } else if (n == "circle") {
      m_canvas->circle(num("cx"), num("cy"), num("r"), parse_color(attr("fill", "black")));
    } else if (n == "text") {
      read_text();
    } else {
      throw Error(::hepnn::error_detail::concat("plot: the PNG writer cannot draw the SVG element <", n, ">"));
    }
  }

  /// A <text> element up to its </text>: runs of characters, a <tspan> as a shifted run.
  void read_text() {
    const double x = num("x"), y = num("y"), size = num("font-size", 12);
    const std::string anchor = attr("text-anchor", "start"), transform = attr("transform");
    const Rgb color = parse_color(attr("fill", "black"));
    const bool bold = attr("font-weight") == "bold", vertical = transform.rfind("rotate(-90", 0) == 0;
    HEPNN_CHECK(transform.empty() || vertical, "plot: the PNG writer cannot draw text transformed by '", transform, "'");
    std::vector<TextRun> runs;
    double run_size = size, level = 0;  // a <tspan> (not nested) shifts its run by dy and sets its size
    while (true) {
      HEPNN_CHECK(next_tag(), "plot: unterminated <text> in the figure's SVG");
      if (!m_text_before.empty()) runs.push_back({unescape(m_text_before), run_size, level});
      if (m_name == "/text") break;
      if (m_name == "tspan") {
        run_size = num("font-size", size);
        level += num("dy");
      } else if (m_name == "/tspan") {
        run_size = size;
        level = 0;
      } else {
        throw Error(::hepnn::error_detail::concat("plot: the PNG writer cannot draw <", m_name, "> inside <text>"));
      }
    }
    m_canvas->text(x, y, runs, anchor == "middle" ? 1 : anchor == "end" ? 2 : 0, color, bold, vertical);
  }

  std::string_view m_s, m_text_before;
  std::size_t m_i = 0;
  std::string m_name;
  Attrs m_attrs;
  bool m_self = false;
  std::unique_ptr<Raster> m_canvas;
  std::vector<Group> m_groups;
  std::map<std::string, std::array<double, 4>> m_clips;
  std::map<std::string, Rgb> m_patterns;
  std::string m_clip_id, m_pattern_id;
};

}  // namespace hepnn::plot::detail
