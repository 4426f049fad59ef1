/// @file core/philox.hpp
/// @brief Philox4x32-10 counter-based random numbers (Salmon et al., SC'11).
///
/// A number is a pure function of (seed, stream, index), so the CUDA backend computes exactly
/// the same dropout masks and initial weights as the CPU, in any order, on any thread.
/// Checked against the Random123 known-answer vectors in tests/core/test_philox.cpp.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <cstdint>

#include "hepnn/core/device.hpp"

#include "hepnn/core/intrin.hpp"

namespace hepnn::inline HEPNN_ABI {

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

/// out[i] = philox_u32(seed, stream, first + i) for i in [0, count): the same numbers, eight
/// blocks (32 numbers) at a time with AVX2 where the compiler targets it (about 10x faster than
/// one philox_u32 call per number), one block at a time otherwise. Host only.
inline void philox_fill_u32(std::uint64_t seed, std::uint64_t stream, std::uint64_t first, std::int64_t count,
                            std::uint32_t* out) {
  std::int64_t i = 0;
  for (; i < count && ((first + std::uint64_t(i)) & 3) != 0; ++i) out[i] = philox_u32(seed, stream, first + std::uint64_t(i));
#if defined(__AVX2__) && !defined(__CUDA_ARCH__)
  const __m256i s0 = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(stream)));
  const __m256i s1 = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(stream >> 32)));
  const __m256i m0 = _mm256_set1_epi64x(0xD2511F53ll), m1 = _mm256_set1_epi64x(0xCD9E8D57ll);
  // (hi, lo) of the 32 x 32 -> 64-bit products of each 32-bit lane of a with the constant m
  auto mul_hi_lo = [](__m256i a, __m256i m, __m256i& hi, __m256i& lo) {
    const __m256i even = _mm256_mul_epu32(a, m);                         // lanes 0, 2, 4, 6
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);  // lanes 1, 3, 5, 7
    hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  };
  for (; i + 32 <= count; i += 32) {
    const std::uint64_t block0 = (first + std::uint64_t(i)) >> 2;
    // counters of 8 consecutive blocks; the low word may carry into the high word inside the group
    alignas(32) std::uint32_t lo_words[8], hi_words[8];
    for (int l = 0; l < 8; ++l) {
      lo_words[l] = static_cast<std::uint32_t>(block0 + std::uint64_t(l));
      hi_words[l] = static_cast<std::uint32_t>((block0 + std::uint64_t(l)) >> 32);
    }
    __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo_words));
    __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi_words));
    __m256i c2 = s0, c3 = s1;
    std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
    for (int round = 0; round < 10; ++round) {
      __m256i hi0, lo0, hi1, lo1;
      mul_hi_lo(c0, m0, hi0, lo0);
      mul_hi_lo(c2, m1, hi1, lo1);
      const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
      const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
      c0 = n0;
      c1 = lo1;
      c2 = n2;
      c3 = lo0;
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    // transpose: block l's four words go to out[i + 4l .. 4l + 3]
    alignas(32) std::uint32_t w[4][8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(w[0]), c0);
    _mm256_store_si256(reinterpret_cast<__m256i*>(w[1]), c1);
    _mm256_store_si256(reinterpret_cast<__m256i*>(w[2]), c2);
    _mm256_store_si256(reinterpret_cast<__m256i*>(w[3]), c3);
    for (int l = 0; l < 8; ++l)
      for (int j = 0; j < 4; ++j) out[i + 4 * l + j] = w[j][l];
  }
#endif
  for (; i + 4 <= count; i += 4) {
    const std::uint64_t block = (first + std::uint64_t(i)) >> 2;
    const PhiloxBlock b = philox4x32_10(
        PhiloxBlock{{static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
                     static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)}},
        static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
    for (int j = 0; j < 4; ++j) out[i + j] = b.v[j];
  }
  for (; i < count; ++i) out[i] = philox_u32(seed, stream, first + std::uint64_t(i));
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
inline constexpr std::uint64_t sampling = 5ull << 40;  ///< + (layer index << 32) + step (GaussianSample)
}  // namespace rng_stream

}  // namespace hepnn
