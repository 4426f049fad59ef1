/// @file plot/png.hpp
/// @brief PNG encoding of an 8-bit RGB image, standard library only: per-row PNG filters, then a
/// zlib stream of one deflate block (LZ77 with a hash chain over a 32 KiB window, fixed Huffman
/// codes; RFC 1950, 1951 and the PNG specification). Plots are mostly flat colour, which this
/// compresses to a few percent of the raw size.
#pragma once
#include "hepnn/core/config.hpp"
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "hepnn/core/crc32.hpp"
#include "hepnn/core/error.hpp"

namespace hepnn::inline HEPNN_ABI::plot::detail {

using hepnn::detail::crc32;

/// Adler-32 of the uncompressed data (the zlib trailer).
inline std::uint32_t adler32(const std::vector<unsigned char>& d) {
  std::uint32_t a = 1, b = 0;
  for (std::size_t i = 0; i < d.size();) {
    const std::size_t end = std::min(d.size(), i + 5552);  // no overflow before the modulo
    for (; i < end; ++i) {
      a += d[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return (b << 16) | a;
}

/// Bits written least significant first, as deflate wants them.
class BitWriter {
 public:
  void bits(std::uint32_t v, int n) {
    m_acc |= std::uint64_t(v) << m_n;
    m_n += n;
    while (m_n >= 8) {
      out.push_back(static_cast<unsigned char>(m_acc & 0xff));
      m_acc >>= 8;
      m_n -= 8;
    }
  }
  /// A Huffman code of n bits, which deflate stores most significant bit first.
  void code(std::uint32_t c, int n) {
    std::uint32_t r = 0;
    for (int i = 0; i < n; ++i) r |= ((c >> i) & 1u) << (n - 1 - i);
    bits(r, n);
  }
  void flush() {
    if (m_n > 0) bits(0, 8 - m_n);
  }
  std::vector<unsigned char> out;

 private:
  std::uint64_t m_acc = 0;
  int m_n = 0;
};

/// Deflate's fixed literal/length code of symbol s (0..287).
inline void fixed_symbol(BitWriter& w, int s) {
  if (s < 144) w.code(std::uint32_t(0x30 + s), 8);
  else if (s < 256) w.code(std::uint32_t(0x190 + s - 144), 9);
  else if (s < 280) w.code(std::uint32_t(s - 256), 7);
  else w.code(std::uint32_t(0xC0 + s - 280), 8);
}

/// The zlib stream (header, one fixed-Huffman deflate block, Adler-32) of `data`.
inline std::vector<unsigned char> zlib_compress(const std::vector<unsigned char>& data) {
  // length codes 257..285 and distance codes 0..29: base values and extra bits
  static const auto tables = [] {
    struct T {
      std::array<int, 29> len_base{}, len_extra{};
      std::array<int, 30> dist_base{}, dist_extra{};
    } t;
    int base = 3;
    for (int c = 0; c < 28; ++c) {
      t.len_extra[std::size_t(c)] = c < 8 ? 0 : c / 4 - 1;
      t.len_base[std::size_t(c)] = base;
      base += 1 << t.len_extra[std::size_t(c)];
    }
    t.len_base[28] = 258;
    base = 1;
    for (int c = 0; c < 30; ++c) {
      t.dist_extra[std::size_t(c)] = c < 4 ? 0 : c / 2 - 1;
      t.dist_base[std::size_t(c)] = base;
      base += 1 << t.dist_extra[std::size_t(c)];
    }
    return t;
  }();
  BitWriter w;
  w.bits(0x78, 8);  // CMF: deflate, 32 KiB window
  w.bits(0x01, 8);  // FLG: (0x78 * 256 + 0x01) % 31 == 0, no dictionary
  w.bits(1, 1);     // the final block
  w.bits(1, 2);     // fixed Huffman codes
  constexpr int window = 32768, hash_bits = 15, max_chain = 48, max_len = 258;
  std::vector<int> head(std::size_t(1) << hash_bits, -1), prev(window, -1);
  const int n = static_cast<int>(data.size());
  auto hash = [&](int i) {
    const std::uint32_t v = std::uint32_t(data[std::size_t(i)]) << 16 | std::uint32_t(data[std::size_t(i) + 1]) << 8 |
                            data[std::size_t(i) + 2];
    return int((v * 2654435761u) >> (32 - hash_bits));
  };
  auto insert = [&](int i) {
    if (i + 2 >= n) return;
    const int h = hash(i);
    prev[std::size_t(i % window)] = head[std::size_t(h)];
    head[std::size_t(h)] = i;
  };
  for (int i = 0; i < n;) {
    int best = 0, best_dist = 0;
    if (i + 2 < n) {
      int cand = head[std::size_t(hash(i))];
      const int limit = std::min(max_len, n - i);
      for (int chain = 0; cand >= 0 && i - cand <= window - 1 && chain < max_chain; ++chain) {
        int l = 0;
        while (l < limit && data[std::size_t(cand + l)] == data[std::size_t(i + l)]) ++l;
        if (l > best) {
          best = l;
          best_dist = i - cand;
          if (l == limit) break;
        }
        const int next = prev[std::size_t(cand % window)];
        if (next >= cand) break;  // the slot was reused by a newer position
        cand = next;
      }
    }
    if (best >= 3) {
      int lc = 0;
      while (lc < 28 && tables.len_base[std::size_t(lc + 1)] <= best) ++lc;
      fixed_symbol(w, 257 + lc);
      w.bits(std::uint32_t(best - tables.len_base[std::size_t(lc)]), tables.len_extra[std::size_t(lc)]);
      int dc = 0;
      while (dc < 29 && tables.dist_base[std::size_t(dc + 1)] <= best_dist) ++dc;
      w.code(std::uint32_t(dc), 5);
      w.bits(std::uint32_t(best_dist - tables.dist_base[std::size_t(dc)]), tables.dist_extra[std::size_t(dc)]);
      for (int k = 0; k < best; ++k) insert(i + k);
      i += best;
    } else {
      fixed_symbol(w, data[std::size_t(i)]);
      insert(i);
      ++i;
    }
  }
  fixed_symbol(w, 256);  // end of block
  w.flush();
  const std::uint32_t a = adler32(data);
  for (int s = 24; s >= 0; s -= 8) w.out.push_back(static_cast<unsigned char>((a >> s) & 0xff));
  return std::move(w.out);
}

/// The PNG file of a width x height image of RGB bytes, rows top to bottom.
inline std::string encode_png(int width, int height, const std::vector<unsigned char>& rgb) {
  HEPNN_CHECK(width > 0 && height > 0 && rgb.size() == std::size_t(width) * std::size_t(height) * 3,
              "plot: a PNG image of ", width, " x ", height, " pixels needs ", std::size_t(width) * std::size_t(height) * 3,
              " RGB bytes, got ", rgb.size());
  // each row with the filter (none, sub or up) whose bytes have the smallest sum of magnitudes
  const std::size_t stride = std::size_t(width) * 3;
  std::vector<unsigned char> raw;
  raw.reserve((stride + 1) * std::size_t(height));
  std::vector<unsigned char> cand[3];
  for (int y = 0; y < height; ++y) {
    const unsigned char* row = rgb.data() + std::size_t(y) * stride;
    const unsigned char* up = y ? row - stride : nullptr;
    long best_cost = -1;
    int best = 0;
    for (int f = 0; f < 3; ++f) {
      cand[f].resize(stride);
      long cost = 0;
      for (std::size_t i = 0; i < stride; ++i) {
        const int pred = f == 1 ? (i >= 3 ? row[i - 3] : 0) : f == 2 ? (up ? up[i] : 0) : 0;
        const auto v = static_cast<unsigned char>(row[i] - pred);
        cand[f][i] = v;
        cost += v < 128 ? v : 256 - v;
      }
      if (best_cost < 0 || cost < best_cost) best_cost = cost, best = f;
    }
    raw.push_back(static_cast<unsigned char>(best));
    raw.insert(raw.end(), cand[best].begin(), cand[best].end());
  }
  std::string png("\x89PNG\r\n\x1a\n", 8);
  auto chunk = [&](const char* type, const std::vector<unsigned char>& d) {
    for (int s = 24; s >= 0; s -= 8) png.push_back(static_cast<char>((d.size() >> s) & 0xff));
    std::vector<unsigned char> body(type, type + 4);
    body.insert(body.end(), d.begin(), d.end());
    png.append(reinterpret_cast<const char*>(body.data()), body.size());
    const std::uint32_t c = crc32(body.data(), body.size());
    for (int s = 24; s >= 0; s -= 8) png.push_back(static_cast<char>((c >> s) & 0xff));
  };
  std::vector<unsigned char> ihdr;
  for (std::uint32_t v : {std::uint32_t(width), std::uint32_t(height)})
    for (int s = 24; s >= 0; s -= 8) ihdr.push_back(static_cast<unsigned char>((v >> s) & 0xff));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8 bits, RGB, deflate, adaptive filters, no interlace
  chunk("IHDR", ihdr);
  chunk("IDAT", zlib_compress(raw));
  chunk("IEND", {});
  return png;
}

}  // namespace hepnn::plot::detail
