/// @file tests/plot/test_png.cpp
/// @brief The PNG writer: its zlib stream decompressed by zlib itself (an independent decoder) gives
/// back every byte, for flat, random and long-range-repeating images; a figure's pixels are where
/// the data put them (fill colours, frame, background, text); errors for colours it cannot draw.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hepnn/plot.hpp"

#ifdef HEPNN_HAVE_ZLIB
#include <zlib.h>
#endif

using namespace hepnn;
using Catch::Contains;

namespace {

std::uint32_t be32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int k = 0; k < 4; ++k) v = v << 8 | static_cast<unsigned char>(s[at + std::size_t(k)]);
  return v;
}

struct Decoded {
  int width = 0, height = 0;
  std::vector<unsigned char> rgb;
  unsigned char at(int x, int y, int c) const { return rgb[(std::size_t(y) * std::size_t(width) + std::size_t(x)) * 3 + std::size_t(c)]; }
};

#ifdef HEPNN_HAVE_ZLIB
/// Decodes an 8-bit RGB PNG with zlib's inflate and the PNG filters (None, Sub, Up, Average, Paeth).
Decoded decode(const std::string& png) {
  REQUIRE(png.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0);
  Decoded d;
  std::string idat;
  for (std::size_t at = 8; at < png.size();) {
    const std::uint32_t n = be32(png, at);
    const std::string type = png.substr(at + 4, 4);
    const std::string body = png.substr(at + 8, n);
    const std::uint32_t crc = be32(png, at + 8 + n);
    REQUIRE(crc == ::crc32(0, reinterpret_cast<const Bytef*>(png.data() + at + 4), n + 4));
    if (type == "IHDR") {
      d.width = int(be32(body, 0));
      d.height = int(be32(body, 4));
      REQUIRE(body[8] == 8);  // bit depth
      REQUIRE(body[9] == 2);  // RGB
    } else if (type == "IDAT") {
      idat += body;
    }
    at += 12 + n;
  }
  const std::size_t stride = std::size_t(d.width) * 3;
  std::vector<unsigned char> raw((stride + 1) * std::size_t(d.height));
  uLongf len = uLongf(raw.size());
  REQUIRE(::uncompress(raw.data(), &len, reinterpret_cast<const Bytef*>(idat.data()), uLong(idat.size())) == Z_OK);
  REQUIRE(len == raw.size());
  d.rgb.resize(stride * std::size_t(d.height));
  for (int y = 0; y < d.height; ++y) {
    const unsigned char f = raw[std::size_t(y) * (stride + 1)];
    REQUIRE(f <= 4);
    const unsigned char* in = &raw[std::size_t(y) * (stride + 1) + 1];
    unsigned char* out = &d.rgb[std::size_t(y) * stride];
    const unsigned char* up = y ? out - stride : nullptr;
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= 3 ? out[i - 3] : 0, b = up ? up[i] : 0, c = (up && i >= 3) ? up[i - 3] : 0;
      int pred = 0;
      if (f == 1) pred = a;
      if (f == 2) pred = b;
      if (f == 3) pred = (a + b) / 2;
      if (f == 4) {
        const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[i] = static_cast<unsigned char>(in[i] + pred);
    }
  }
  return d;
}
#endif

}  // namespace

TEST_CASE("png: zlib inflates the writer's stream back to every byte", "[plot][png]") {
#ifndef HEPNN_HAVE_ZLIB
  WARN("SKIPPED: built without zlib, the independent decoder of this test");
  return;
#else
  std::mt19937 rng(3);
  // flat, random, and a random block repeated at distances up to and beyond the 32 KiB window
  auto image = [&](int w, int h, int kind) {
    std::vector<unsigned char> v(std::size_t(w) * std::size_t(h) * 3, 255);
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (kind == 1) v[i] = static_cast<unsigned char>(rng());
      if (kind == 2) v[i] = static_cast<unsigned char>((i % 40000) < 700 ? (i * 2654435761u) >> 24 : i % 7);
    }
    return v;
  };
  for (int kind = 0; kind < 3; ++kind) {
    const int w = 173, h = 129;
    const auto px = image(w, h, kind);
    const std::string png = plot::detail::encode_png(w, h, px);
    const Decoded d = decode(png);
    CHECK(d.width == w);
    CHECK(d.height == h);
    CHECK(d.rgb == px);
    if (kind == 0) CHECK(png.size() < 2000);  // a flat image compresses to almost nothing
  }
  CHECK_THROWS_WITH(plot::detail::encode_png(4, 4, std::vector<unsigned char>(10)), Contains("4 x 4"));
#endif
}

TEST_CASE("png: a figure's pixels are where its data put them", "[plot][png]") {
#ifndef HEPNN_HAVE_ZLIB
  WARN("SKIPPED: built without zlib, the independent decoder of this test");
  return;
#else
  plot::Figure fig(1, 1, 400, 300);
  const std::vector<double> edges{0, 1, 2}, values{1, 0.5};
  fig.axes()
      .step_histogram(edges, values, "", {.color = "#ff0000", .fill = true, .fill_opacity = 1.0})
      .xlim(0, 2)
      .ylim(0, 1)
      .grid(false)
      .title("Title");
  const Decoded d = decode(fig.png());
  REQUIRE(d.width == 400);
  REQUIRE(d.height == 300);
  // the frame: x from 74 to 382, y from 30 to 250 (Figure's margins); data (0..2, 0..1) fill it
  const double fx = 74, fy = 30, fw = 400 - 74 - 18, fh = 300 - 30 - 50;
  auto px = [&](double x, double y) { return std::array<int, 3>{d.at(int(x), int(y), 0), d.at(int(x), int(y), 1), d.at(int(x), int(y), 2)}; };
  CHECK(px(5, 295) == std::array<int, 3>{255, 255, 255});                        // background
  CHECK(px(fx + fw * 0.25, fy + fh * 0.5) == std::array<int, 3>{255, 0, 0});     // first bin, full height
  CHECK(px(fx + fw * 0.75, fy + fh * 0.75) == std::array<int, 3>{255, 0, 0});    // second bin, below 0.5
  CHECK(px(fx + fw * 0.75, fy + fh * 0.25) == std::array<int, 3>{255, 255, 255});  // second bin, above 0.5
  CHECK(px(fx - 30, fy + fh * 0.3) == std::array<int, 3>{255, 255, 255});        // left of the frame, no label there
  const auto frame = px(fx + fw * 0.75, fy);  // the frame's top edge: black, anti-aliased
  CHECK(frame[0] < 120);
  // the title "Title" above the frame: dark pixels near the middle, none at the far left
  int dark_mid = 0, dark_left = 0;
  for (int y = 5; y < 24; ++y)  // above the top y tick label (baseline 34)
    for (int x = 0; x < 400; ++x)
      if (d.at(x, y, 0) < 128) (x > 150 && x < 250 ? dark_mid : dark_left) += 1;
  CHECK(dark_mid > 20);
  CHECK(dark_left == 0);
#endif
}

TEST_CASE("png: save by extension, colours it cannot draw are errors", "[plot][png]") {
  const auto dir = std::filesystem::temp_directory_path() / ("hepnn_png_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  plot::Figure fig;
  const std::vector<double> x{0, 1, 2}, y{1, 3, 2};
  fig.axes().line(x, y, "a line", {.color = "steelblue"});
  CHECK_THROWS_WITH(fig.save((dir / "bad.png").string()), Contains("colour 'steelblue'") && Contains("#rrggbb"));
  CHECK_FALSE(std::filesystem::exists(dir / "bad.png"));  // nothing half-written
  fig.save((dir / "bad.svg").string());                    // the SVG takes any colour the browser knows
  plot::Figure ok;
  ok.axes().line(x, y, "a line", {.color = "#4682b4", .dash = "6,3"}).title("\xce\xb5 and \xcf\x87\xc2\xb2");
  ok.save((dir / "ok.png").string());
  std::ifstream f(dir / "ok.png", std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  CHECK(ss.str().compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0);
  CHECK(plot::detail::glyph_codes("\xce\xb5\xcf\x87\xc2\xb2x") == std::vector<char32_t>{U'\u03B5', U'\u03C7', U'\u00B2', U'x'});
  std::filesystem::remove_all(dir);
}
