/// @file train/summary_format.hpp
/// @brief The few text helpers that Sequential::summary() and Model::summary() share: digit
/// grouping, a batch shape as Keras prints it, a byte count, a joined list of names.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "hepnn/core/shape.hpp"

namespace hepnn::inline HEPNN_ABI {
namespace detail {

/// "a, b, c" (or with another separator).
inline std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string r;
  for (std::size_t i = 0; i < v.size(); ++i) r += (i ? sep : "") + v[i];
  return r;
}

/// 1234567 -> "1,234,567".
inline std::string group_digits(std::int64_t v) {
  const std::string digits = std::to_string(v);
  std::string s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-') s.push_back(',');
    s.push_back(digits[i]);
  }
  return s;
}

/// A per-sample shape with the batch axis in front: {12} -> "(None, 12)".
inline std::string batch_shape(const Shape& s) {
  std::string r = "(None";
  for (int i = 0; i < s.rank(); ++i) r += ", " + std::to_string(s[i]);
  return r + ")";
}

/// 2048 -> "2.00 KB".
inline std::string human_bytes(std::int64_t b) {
  char buf[32];
  if (b < 1024) std::snprintf(buf, sizeof buf, "%lld B", (long long)b);
  else if (b < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.2f KB", double(b) / 1024);
  else std::snprintf(buf, sizeof buf, "%.2f MB", double(b) / 1048576);
  return buf;
}

}  // namespace detail
}  // namespace hepnn
