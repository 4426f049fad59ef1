/// @file core/crc32.hpp
/// @brief CRC-32 (the polynomial 0xEDB88320 of zlib, PNG and ZIP), standard library only.
#pragma once
#include "hepnn/core/config.hpp"
#include <array>
#include <cstddef>
#include <cstdint>

namespace hepnn::inline HEPNN_ABI::detail {

/// CRC-32 of p[0, n), continued from `crc` (start with 0).
inline std::uint32_t crc32(const unsigned char* p, std::size_t n, std::uint32_t crc = 0) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

}  // namespace hepnn::detail
