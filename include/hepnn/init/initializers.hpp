/// @file init/initializers.hpp
/// @brief Seeded weight initialisers (Glorot, He, LeCun; uniform and normal; zeros, ones).
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <cstdint>
#include <string>

#include "hepnn/core/error.hpp"
#include "hepnn/core/philox.hpp"

namespace hepnn::inline HEPNN_ABI {

enum class Init { zeros, ones, glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_uniform, lecun_normal };

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
  }
  return "?";
}

inline Init init_from_string(const std::string& s) {
  for (Init i : {Init::zeros, Init::ones, Init::glorot_uniform, Init::glorot_normal, Init::he_uniform, Init::he_normal,
                 Init::lecun_uniform, Init::lecun_normal})
    if (to_string(i) == s) return i;
  throw Error("unknown initializer '" + s + "'");
}

/// Fills p[0..n) with the initialiser's distribution, drawn from Philox stream `stream` of `seed`.
/// Uniform variants draw from U(-limit, limit): limit = sqrt(6 / (fan_in + fan_out)) (Glorot),
/// sqrt(6 / fan_in) (He), sqrt(3 / fan_in) (LeCun). Normal variants draw from an untruncated
/// N(0, s^2): s = sqrt(2 / (fan_in + fan_out)), sqrt(2 / fan_in), sqrt(1 / fan_in).
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
    case Init::glorot_normal: stddev = std::sqrt(2.0 / (fi + fo)); break;
    case Init::he_normal: stddev = std::sqrt(2.0 / fi); break;
    case Init::lecun_normal: stddev = std::sqrt(1.0 / fi); break;
  }
  for (std::int64_t i = 0; i < n; ++i) {
    const auto idx = static_cast<std::uint64_t>(i);
    p[i] = limit > 0 ? T(limit * (2.0 * double(philox_uniform(seed, stream, idx)) - 1.0))
                     : T(stddev * philox_normal(seed, stream, idx));
  }
}

}  // namespace hepnn
