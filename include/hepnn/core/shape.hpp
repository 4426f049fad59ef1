/// @file core/shape.hpp
/// @brief Shape: up to five extents, row-major.
#pragma once
#include "hepnn/core/config.hpp"
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "hepnn/core/error.hpp"

namespace hepnn::inline HEPNN_ABI {

using index_t = std::int64_t;

class Shape {
 public:
  static constexpr int max_rank = 5;

  Shape() = default;
  Shape(std::initializer_list<index_t> dims) {
    HEPNN_CHECK(dims.size() <= max_rank, "Shape: rank ", dims.size(), " exceeds the maximum of ", max_rank);
    for (index_t d : dims) push_back(d);
  }

  void push_back(index_t d) {
    HEPNN_CHECK(m_rank < max_rank, "Shape: rank exceeds the maximum of ", max_rank);
    HEPNN_CHECK(d >= 0, "Shape: negative extent ", d);
    m_dims[m_rank++] = d;
  }
  int rank() const { return m_rank; }
  index_t operator[](int i) const { return m_dims[i]; }
  index_t& operator[](int i) { return m_dims[i]; }
  /// Number of elements (1 for rank 0).
  index_t size() const {
    index_t n = 1;
    for (int i = 0; i < m_rank; ++i) n *= m_dims[i];
    return n;
  }
  /// Shape without the leading (batch) extent.
  Shape tail() const {
    Shape s;
    for (int i = 1; i < m_rank; ++i) s.push_back(m_dims[i]);
    return s;
  }
  /// This shape with `n` prepended (per-sample shape -> batch shape).
  Shape with_batch(index_t n) const {
    Shape s;
    s.push_back(n);
    for (int i = 0; i < m_rank; ++i) s.push_back(m_dims[i]);
    return s;
  }
  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.m_rank != b.m_rank) return false;
    for (int i = 0; i < a.m_rank; ++i)
      if (a.m_dims[i] != b.m_dims[i]) return false;
    return true;
  }
  std::string str() const {
    std::string s = "(";
    for (int i = 0; i < m_rank; ++i) s += (i ? ", " : "") + std::to_string(m_dims[i]);
    return s + (m_rank == 1 ? ",)" : ")");
  }

 private:
  std::array<index_t, max_rank> m_dims{};
  int m_rank = 0;
};

inline std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

}  // namespace hepnn
