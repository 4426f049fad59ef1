/// @file plot/font.hpp
/// @brief The stroke font of the PNG writer: each printable ASCII character as a few polylines on a
/// small grid, drawn with round pens, so text stays legible at any size without a font file.
///
/// Grid: x from 0 to 4, y from 0 (cap height) down to 8 (descender), baseline at y = 6 and the
/// lowercase x-height at y = 2. Glyphs are written as "xy xy ...|xy ..." (one digit each, '|'
/// between polylines). Besides printable ASCII there are the Greek letters and signs physicists
/// put in axis labels (epsilon, eta, mu, sigma, chi, phi, alpha, beta, gamma, Delta, squared,
/// plus-minus, times); any other character (one UTF-8 sequence) is drawn as an empty box.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace hepnn::inline HEPNN_ABI::plot::detail {

/// The strokes of the character with code point c; an empty box for one the font lacks.
inline std::string_view glyph_strokes(char32_t c) {
  static constexpr std::array<std::string_view, 95> g{
      "",                                            // space
      "00 04|06 06",                                 // !
      "00 01|20 21",                                 // "
      "10 16|30 36|02 42|04 44",                     // #
      "41 30 10 01 02 13 33 44 45 36 16 05|20 26",   // $
      "00 10 11 01 00|35 45 46 36 35|06 40",         // %
      "46 01 10 20 31 22 03 05 16 26 44",            // &
      "00 01",                                       // '
      "20 11 16 27",                                 // (
      "00 11 16 07",                                 // )
      "01 43|41 03|20 24",                           // *
      "03 43|21 25",                                 // +
      "15 16 07",                                    // ,
      "03 33",                                       // -
      "06 06",                                       // .
      "07 40",                                       // /
      "10 30 41 45 36 16 05 01 10",                  // 0
      "11 20 26|16 36",                              // 1
      "01 10 30 41 42 06 46",                        // 2
      "01 10 30 41 42 33 13|33 44 45 36 16 05",      // 3
      "36 30 04 44",                                 // 4
      "40 00 02 32 43 45 36 06",                     // 5
      "30 10 01 05 16 36 45 44 33 13 04",            // 6
      "00 40 16",                                    // 7
      "10 30 41 42 33 13 04 05 16 36 45 44 33|13 02 01 10",  // 8
      "43 13 02 01 10 30 41 45 36 16 05",            // 9
      "02 02|06 06",                                 // :
      "12 12|15 16 07",                              // ;
      "41 03 45",                                    // <
      "02 42|04 44",                                 // =
      "01 43 05",                                    // >
      "01 10 30 41 42 23 24|26 26",                  // ?
      "34 23 13 14 25 35 32 42 41 30 10 01 05 16 36",  // @
      "06 20 46|14 34",                              // A
      "06 00 30 41 42 33 03|33 44 45 36 06",         // B
      "41 30 10 01 05 16 36 45",                     // C
      "00 30 41 45 36 06 00",                        // D
      "40 00 06 46|03 33",                           // E
      "40 00 06|03 33",                              // F
      "41 30 10 01 05 16 36 45 43 23",               // G
      "00 06|40 46|03 43",                           // H
      "10 30|20 26|16 36",                           // I
      "20 40 45 36 16 05",                           // J
      "00 06|40 03 46",                              // K
      "00 06 46",                                    // L
      "06 00 23 40 46",                              // M
      "06 00 46 40",                                 // N
      "10 30 41 45 36 16 05 01 10",                  // O
      "06 00 30 41 42 33 03",                        // P
      "10 30 41 45 36 16 05 01 10|24 47",            // Q
      "06 00 30 41 42 33 03|23 46",                  // R
      "41 30 10 01 02 13 33 44 45 36 16 05",         // S
      "00 40|20 26",                                 // T
      "00 05 16 36 45 40",                           // U
      "00 26 40",                                    // V
      "00 16 23 36 40",                              // W
      "00 46|40 06",                                 // X
      "00 23 40|23 26",                              // Y
      "00 40 06 46",                                 // Z
      "20 00 07 27",                                 // [
      "00 47",                                       // backslash
      "00 20 27 07",                                 // ]
      "02 20 42",                                    // ^
      "07 47",                                       // _
      "00 11",                                       // `
      "12 32 43 46|44 14 05 16 36 45",               // a
      "00 06|03 12 32 43 45 36 16 05",               // b
      "43 32 12 03 05 16 36 45",                     // c
      "40 46|43 32 12 03 05 16 36 45",               // d
      "04 44 43 32 12 03 05 16 36",                  // e
      "30 20 11 16|02 32",                           // f
      "42 47 38 18 07|43 32 12 03 04 15 35 44",      // g
      "00 06|03 12 32 43 46",                        // h
      "02 06|00 00",                                 // i
      "22 27 18 07|20 20",                           // j
      "00 06|32 04 36",                              // k
      "00 05 16",                                    // l
      "02 06|03 12 23 26|23 32 43 46",               // m
      "02 06|03 12 32 43 46",                        // n
      "12 32 43 45 36 16 05 03 12",                  // o
      "02 08|03 12 32 43 45 36 16 05",               // p
      "42 48|43 32 12 03 05 16 36 45",               // q
      "02 06|04 22 32",                              // r
      "42 12 03 14 34 45 36 06",                     // s
      "10 15 26 36|02 32",                           // t
      "02 05 16 36 45|42 46",                        // u
      "02 26 42",                                    // v
      "02 16 23 36 42",                              // w
      "02 46|42 06",                                 // x
      "02 26|42 18 08",                              // y
      "02 42 06 46",                                 // z
      "30 21 22 13 24 25 36",                        // {
      "00 08",                                       // |
      "00 11 12 23 14 15 06",                        // }
      "04 13 24 33 42",                              // ~
  };
  if (c >= 32 && c <= 126) return g[c - 32];
  switch (c) {
    case U'\u03B5': return "43 32 12 03 14 34|14 05 16 36 45";      // epsilon
    case U'\u03B7': return "02 06|03 12 32 43 48";                   // eta
    case U'\u03BC': return "02 08|05 16 36 45|42 46";                // mu
    case U'\u03C3': return "42 12 03 05 16 36 45 43 32";             // sigma
    case U'\u03C7': return "02 12 38 48|42 08";                      // chi
    case U'\u03C6': return "12 32 43 45 36 16 05 03 12|20 28";       // phi
    case U'\u03B1': return "46 32 12 03 05 16 26 42";                // alpha
    case U'\u03B2': return "08 01 10 30 41 42 33 13|33 44 45 36 16 05";  // beta
    case U'\u03B3': return "02 25 28|42 25";                         // gamma
    case U'\u0394': return "06 20 46 06";                            // Delta
    case U'\u00B2': return "01 10 20 21 03 23";                      // squared
    case U'\u00B1': return "02 42|20 24|06 46";                      // plus-minus
    case U'\u00D7': return "11 35|31 15";                            // times
    default: return "00 40 46 06 00";
  }
}

/// The widest x of a glyph's strokes (0 for none).
inline int glyph_width(std::string_view s) {
  int w = 0;
  for (std::size_t i = 0; i + 1 < s.size(); ++i)
    if (s[i] >= '0' && s[i] <= '9' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '|')) w = std::max(w, s[i] - '0');
  return w;
}

/// The code points of a UTF-8 string (a malformed byte counts as one character the font lacks).
inline std::vector<char32_t> glyph_codes(std::string_view text) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > text.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

/// Advance of a glyph in grid units: its width, one unit of space and room for the pen.
inline double glyph_advance(char32_t c) {
  if (c == ' ') return 3.0;
  return glyph_width(glyph_strokes(c)) + 2.0;
}

/// Width of a text in grid units.
inline double text_units(std::string_view text) {
  double w = 0;
  for (char32_t c : glyph_codes(text)) w += glyph_advance(c);
  return w > 0 ? w - 1.0 : 0.0;  // no space after the last glyph
}

}  // namespace hepnn::plot::detail
