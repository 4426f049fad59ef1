/// @file tests/core/test_philox.cpp
/// @brief Philox4x32-10 against the Random123 known-answer vectors, and the statistics of the
/// uniform and normal numbers derived from it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "hepnn/core/philox.hpp"

using hepnn::PhiloxBlock;

namespace {

struct KnownAnswer {
  PhiloxBlock counter;
  std::uint32_t k0, k1;
  PhiloxBlock expected;
};

struct Moments {
  double mean, variance, min, max;
};

template <class F>
Moments moments(std::uint64_t n, F&& draw) {
  double s = 0, s2 = 0, lo = 1e300, hi = -1e300;
  for (std::uint64_t i = 0; i < n; ++i) {
    const double x = draw(i);
    s += x;
    s2 += x * x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const double mean = s / double(n);
  return {mean, s2 / double(n) - mean * mean, lo, hi};
}

}  // namespace

TEST_CASE("philox: Random123 known-answer vectors for philox4x32_10", "[core]") {
  // kat_vectors of Random123 1.09: philox4x32 10 rounds, (counter; key) -> output.
  const KnownAnswer kats[] = {
      {{{0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}},
       0x00000000u,
       0x00000000u,
       {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
      {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
       0xffffffffu,
       0xffffffffu,
       {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
      {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
       0xa4093822u,
       0x299f31d0u,
       {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
  };
  for (const auto& kat : kats) {
    const PhiloxBlock out = hepnn::philox4x32_10(kat.counter, kat.k0, kat.k1);
    for (int lane = 0; lane < 4; ++lane) {
      INFO("counter " << std::hex << kat.counter.v[0] << " key " << kat.k0 << " lane " << std::dec << lane);
      CHECK(out.v[lane] == kat.expected.v[lane]);
    }
  }
}

TEST_CASE("philox: philox_u32 lays out (index / 4, stream) as the counter and seed as the key", "[core]") {
  // With seed 0 and stream 0, indices 0..3 are the four lanes of the all-zero known answer.
  const std::uint32_t zero_kat[] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
  for (std::uint64_t i = 0; i < 4; ++i) CHECK(hepnn::philox_u32(0, 0, i) == zero_kat[i]);

  // A block below 2^62 (so 4 * block + lane fits in 64 bits) and seed/stream words taken from the
  // third known answer: the counter must be (block lo, block hi, stream lo, stream hi), key (seed lo, seed hi).
  const std::uint64_t seed = 0x299f31d0a4093822ull, stream = 0x0370734413198a2eull, block = 0x12345678abcdefull;
  const PhiloxBlock expect = hepnn::philox4x32_10(
      PhiloxBlock{{0x78abcdefu, 0x00123456u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u);
  for (std::uint64_t lane = 0; lane < 4; ++lane) CHECK(hepnn::philox_u32(seed, stream, 4 * block + lane) == expect.v[lane]);
}

TEST_CASE("philox: uniform numbers lie in 0 <= u < 1 with mean 1/2 and variance 1/12", "[core]") {
  constexpr std::uint64_t n = 100000;
  std::uint64_t outside = 0;
  const Moments m = moments(n, [&](std::uint64_t i) {
    const float u = hepnn::philox_uniform(20240917, 3, i);
    outside += !(u >= 0.0f && u < 1.0f);
    return double(u);
  });
  CHECK(outside == 0);
  // Standard errors: mean 0.29 / sqrt(n) = 9e-4, variance 2.4e-4; the bounds are about 5 sigma.
  CHECK(std::abs(m.mean - 0.5) < 0.005);
  CHECK(std::abs(m.variance - 1.0 / 12.0) < 0.0015);
  CHECK(m.min < 1e-3);
  CHECK(m.max > 1.0 - 1e-3);
  // 24 random bits: every value is a multiple of 2^-24.
  for (std::uint64_t i = 0; i < 100; ++i) {
    const double scaled = double(hepnn::philox_uniform(7, 0, i)) * 16777216.0;
    CHECK(scaled == std::floor(scaled));
    CHECK(scaled == double(hepnn::philox_u32(7, 0, i) >> 8));
  }
}

TEST_CASE("philox: normal numbers have mean 0 and variance 1", "[core]") {
  constexpr std::uint64_t n = 100000;
  std::uint64_t within_one_sigma = 0, not_finite = 0;
  const Moments m = moments(n, [&](std::uint64_t i) {
    const double x = hepnn::philox_normal(42, 11, i);
    not_finite += !std::isfinite(x);
    if (std::abs(x) < 1.0) ++within_one_sigma;
    return x;
  });
  CHECK(not_finite == 0);
  // Standard errors: mean 3.2e-3, variance 4.5e-3, fraction within one sigma 1.5e-3.
  CHECK(std::abs(m.mean) < 0.02);
  CHECK(std::abs(m.variance - 1.0) < 0.025);
  CHECK(std::abs(double(within_one_sigma) / double(n) - 0.682689492137) < 0.008);
  CHECK(m.min < -3.5);
  CHECK(m.max > 3.5);
}

TEST_CASE("philox: numbers are a pure function of (seed, stream, index)", "[core]") {
  constexpr std::uint64_t n = 256;
  auto draw = [](std::uint64_t seed, std::uint64_t stream) {
    std::vector<std::uint32_t> v(n);
    for (std::uint64_t i = 0; i < n; ++i) v[i] = hepnn::philox_u32(seed, stream, i);
    return v;
  };
  const auto base = draw(1, 0);
  CHECK(draw(1, 0) == base);
  // Reverse order gives the same numbers (no hidden state).
  for (std::uint64_t i = n; i-- > 0;) CHECK(hepnn::philox_u32(1, 0, i) == base[i]);

  auto count_equal = [](const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
    int same = 0;
    for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
    return same;
  };
  CHECK(count_equal(base, draw(2, 0)) == 0);
  CHECK(count_equal(base, draw(1, 1)) == 0);
  CHECK(count_equal(base, draw(1ull << 32, 0)) == 0);  // the high word of the seed matters
  CHECK(count_equal(base, draw(1, 1ull << 32)) == 0);  // and that of the stream
  CHECK(count_equal(draw(0, hepnn::rng_stream::init), draw(0, hepnn::rng_stream::dropout)) == 0);

  // Normal numbers differ across seeds and streams too.
  int same = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    same += hepnn::philox_normal(5, 0, i) == hepnn::philox_normal(6, 0, i);
    same += hepnn::philox_normal(5, 0, i) == hepnn::philox_normal(5, 1, i);
  }
  CHECK(same == 0);
}
