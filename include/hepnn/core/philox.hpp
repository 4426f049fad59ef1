/// @file core/philox.hpp
/// @brief Philox4x32-10 counter-based random numbers (Salmon et al., SC'11).
///
/// A number is a pure function of (seed, stream, index), so the CUDA backend computes exactly
/// the same dropout masks and initial weights as the CPU, in any order, on any thread.
/// Checked against the Random123 known-answer vectors in tests/core/test_philox.cpp.
#pragma once
#include <cmath>
#include <cstdint>

#include "hepnn/core/device.hpp"

namespace hepnn {

struct PhiloxBlock {
  std::uint32_t v[4];
};

/// The raw Philox4x32 bijection with 10 rounds: counter (4 words) and key (2 words) in, 4 words out.
HEPNN_HOST_DEVICE inline PhiloxBlock philox4x32_10(PhiloxBlock ctr, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  constexpr std::uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(m0) * ctr.v[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(m1) * ctr.v[2];
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    ctr = PhiloxBlock{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    k0 += w0;
    k1 += w1;
  }
  return ctr;
}

/// The `index`-th 32-bit number of stream `stream` under `seed`.
/// Block counter = (index / 4 as 64 bits, stream as 64 bits); key = seed; lane = index % 4.
HEPNN_HOST_DEVICE inline std::uint32_t philox_u32(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  const std::uint64_t block = index >> 2;
  const PhiloxBlock out = philox4x32_10(
      PhiloxBlock{{static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
                   static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)}},
      static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
  return out.v[index & 3];
}

/// Uniform in [0, 1) with 24 random bits (exactly representable in float and double alike,
/// so float and double models draw the same numbers).
HEPNN_HOST_DEVICE inline float philox_uniform(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  return static_cast<float>(philox_u32(seed, stream, index) >> 8) * (1.0f / 16777216.0f);
}

/// Standard normal by Box-Muller from the numbers 2*index and 2*index+1 of the stream.
HEPNN_HOST_DEVICE inline double philox_normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  // 1 - u lies in (0, 1], so the logarithm is finite.
  const double u1 = 1.0 - static_cast<double>(philox_uniform(seed, stream, 2 * index));
  const double u2 = static_cast<double>(philox_uniform(seed, stream, 2 * index + 1));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

/// Streams used inside hepnn, so that no two purposes share random numbers.
namespace rng_stream {
inline constexpr std::uint64_t init = 1ull << 40;     // + layer index
inline constexpr std::uint64_t dropout = 2ull << 40;  // + (layer index << 32) + step
inline constexpr std::uint64_t shuffle = 3ull << 40;  // + epoch
inline constexpr std::uint64_t dataset_shuffle = 4ull << 40;
}  // namespace rng_stream

}  // namespace hepnn
