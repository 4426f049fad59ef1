/// @file init/initializers.hpp
/// @brief Seeded weight initialisers (Glorot, He, LeCun; uniform and normal; zeros, ones).
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "hepnn/core/error.hpp"
#include "hepnn/core/philox.hpp"

namespace hepnn::inline HEPNN_ABI {

enum class Init {
  zeros, ones, glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal,
  orthogonal,  ///< a (fan_in, fan_out) matrix with orthonormal rows or columns (Keras' recurrent default)
  pytorch_uniform  ///< U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Linear and Conv weights and biases
};

inline std::string to_string(Init i) {
  switch (i) {
    case Init::zeros: return "zeros";
    case Init::ones: return "ones";
    case Init::glorot_uniform: return "glorot_uniform";
    case Init::glorot_normal: return "glorot_normal";
    case Init::he_uniform: return "he_uniform";
    case Init::he_normal: return "he_normal";
    case Init::lecun_uniform: return "lecun_uniform";
    case Init::lecun_normal: return "lecun_normal";
    case Init::orthogonal: return "orthogonal";
    case Init::pytorch_uniform: return "pytorch_uniform";
  }
  return "?";
}

inline Init init_from_string(const std::string& s) {
  for (Init i : {Init::zeros, Init::ones, Init::glorot_uniform, Init::glorot_normal, Init::he_uniform, Init::he_normal,
                 Init::lecun_uniform, Init::lecun_normal, Init::orthogonal, Init::pytorch_uniform})
    if (to_string(i) == s) return i;
  throw Error("unknown initializer '" + s + "'");
}

namespace detail {
/// Init::orthogonal (see initialize below).
template <class T>
void orthogonal(T* p, std::int64_t n, std::int64_t rows, std::int64_t cols, std::uint64_t seed, std::uint64_t stream) {
  HEPNN_CHECK(n == rows * cols, "initializer orthogonal: ", n, " values are not a ", rows, " x ", cols, " matrix");
  const bool by_rows = rows <= cols;
  const std::int64_t vecs = by_rows ? rows : cols, len = by_rows ? cols : rows;
  std::vector<double> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[std::size_t(i)] = philox_normal(seed, stream, static_cast<std::uint64_t>(i));
  auto at = [&](std::int64_t k, std::int64_t j) -> double& {
    return v[std::size_t(by_rows ? k * cols + j : j * cols + k)];
  };
  for (std::int64_t k = 0; k < vecs; ++k) {
    for (int pass = 0; pass < 2; ++pass)  // twice: modified Gram-Schmidt to working precision
      for (std::int64_t q = 0; q < k; ++q) {
        double d = 0;
        for (std::int64_t j = 0; j < len; ++j) d += at(k, j) * at(q, j);
        for (std::int64_t j = 0; j < len; ++j) at(k, j) -= d * at(q, j);
      }
    double norm = 0;
    for (std::int64_t j = 0; j < len; ++j) norm += at(k, j) * at(k, j);
    norm = std::sqrt(norm);
    for (std::int64_t j = 0; j < len; ++j) at(k, j) /= norm;
  }
  for (std::int64_t i = 0; i < n; ++i) p[i] = T(v[std::size_t(i)]);
}
}  // namespace detail

/// Fills p[0..n) with the initialiser's distribution, drawn from Philox stream `stream` of `seed`.
/// Uniform variants draw from U(-limit, limit): limit = sqrt(6 / (fan_in + fan_out)) (Glorot),
/// sqrt(6 / fan_in) (He), sqrt(3 / fan_in) (LeCun), sqrt(1 / fan_in) (pytorch_uniform: what
/// torch.nn.Linear and Conv2d draw for weights and biases alike, kaiming_uniform with a = sqrt(5);
/// a bias drawn with it uses its layer's fan_in). Normal variants draw from an untruncated
/// N(0, s^2): s = sqrt(2 / (fan_in + fan_out)), sqrt(2 / fan_in), sqrt(1 / fan_in). Orthogonal
/// fills p as a (fan_in, fan_out) matrix (n = fan_in * fan_out): standard normal numbers, then
/// Gram-Schmidt on the rows (fan_in <= fan_out) or the columns, so that W W^T = 1 or W^T W = 1.
template <class T>
void initialize(Init kind, T* p, std::int64_t n, std::int64_t fan_in, std::int64_t fan_out, std::uint64_t seed,
                std::uint64_t stream) {
  HEPNN_CHECK(fan_in > 0 && fan_out > 0, "initializer ", to_string(kind), ": fan_in and fan_out must be positive, got ",
              fan_in, " and ", fan_out);
  const double fi = double(fan_in), fo = double(fan_out);
  double limit = 0, stddev = 0;
  switch (kind) {
    case Init::zeros:
      for (std::int64_t i = 0; i < n; ++i) p[i] = T(0);
      return;
    case Init::ones:
      for (std::int64_t i = 0; i < n; ++i) p[i] = T(1);
      return;
    case Init::glorot_uniform: limit = std::sqrt(6.0 / (fi + fo)); break;
    case Init::he_uniform: limit = std::sqrt(6.0 / fi); break;
    case Init::lecun_uniform: limit = std::sqrt(3.0 / fi); break;
    case Init::pytorch_uniform: limit = std::sqrt(1.0 / fi); break;
    case Init::glorot_normal: stddev = std::sqrt(2.0 / (fi + fo)); break;
    case Init::he_normal: stddev = std::sqrt(2.0 / fi); break;
    case Init::lecun_normal: stddev = std::sqrt(1.0 / fi); break;
    case Init::orthogonal: detail::orthogonal(p, n, fan_in, fan_out, seed, stream); return;
  }
  for (std::int64_t i = 0; i < n; ++i) {
    const auto idx = static_cast<std::uint64_t>(i);
    p[i] = limit > 0 ? T(limit * (2.0 * double(philox_uniform(seed, stream, idx)) - 1.0))
                     : T(stddev * philox_normal(seed, stream, idx));
  }
}

}  // namespace hepnn
