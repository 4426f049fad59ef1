// Dataset: construction checks, subsets, shuffles and splits keep events intact.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "hepnn/data/dataset.hpp"

using namespace hepnn;

namespace {
data::Dataset<double> numbered(std::int64_t n) {
  Tensor<double> x(Shape{n, 2}), y(Shape{n}), w(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) {
    x(i, 0) = double(i);
    x(i, 1) = -double(i);
    y(i) = double(i % 2);
    w(i) = 1.0 + double(i);
  }
  return data::Dataset<double>(std::move(x), std::move(y), std::move(w));
}
}  // namespace

TEST_CASE("dataset: targets of rank 1 become one column, weights default to one", "[data]") {
  data::Dataset<double> d(Tensor<double>(Shape{3, 2}, 0.0), Tensor<double>(Shape{3}, 1.0));
  CHECK(d.targets().shape() == Shape{3, 1});
  CHECK(!d.weighted());
  CHECK(d.sum_of_weights() == 3.0);
  REQUIRE_THROWS_WITH(data::Dataset<double>(Tensor<double>(Shape{3, 2}, 0.0), Tensor<double>(Shape{4, 1}, 0.0)),
                      Catch::Contains("3 events") && Catch::Contains("(4, 1)"));
}

TEST_CASE("dataset: shuffled is a permutation that keeps rows, targets and weights together", "[data]") {
  const auto d = numbered(101);
  const auto s = d.shuffled(7);
  std::set<double> seen;
  bool moved = false;
  for (std::int64_t i = 0; i < s.size(); ++i) {
    const double id = s.features()(i, 0);
    CHECK(s.features()(i, 1) == -id);
    CHECK(s.targets()(i, 0) == double(std::int64_t(id) % 2));
    CHECK(s.weights()(i) == 1.0 + id);
    seen.insert(id);
    moved |= id != double(i);
  }
  CHECK(seen.size() == 101);
  CHECK(moved);
  CHECK(d.shuffled(7).features().to_vector() == s.features().to_vector());
  CHECK(d.shuffled(8).features().to_vector() != s.features().to_vector());
}

TEST_CASE("dataset: permutation is uniform enough (each position sees each value)", "[data]") {
  // Over 3000 permutations of 3 elements each of the 6 orders appears ~500 times.
  std::map<std::vector<std::int64_t>, int> counts;
  for (std::uint64_t s = 0; s < 3000; ++s) counts[data::permutation(3, s, 1)]++;
  REQUIRE(counts.size() == 6);
  for (const auto& [perm, c] : counts) CHECK(std::abs(c - 500) < 100);
}

TEST_CASE("dataset: permutation is Fisher-Yates over the documented Philox numbers, across block edges", "[data]") {
  // The definition, one philox_u32 call per number: step i swaps p[i] with p[r % (i + 1)],
  // r = numbers 2i (high half) and 2i + 1 (low half). permutation() draws them in blocks; the
  // orders of streamed and shuffled data depend on it giving exactly these.
  auto reference = [](std::int64_t n, std::uint64_t seed, std::uint64_t stream) {
    std::vector<std::int64_t> p(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) p[std::size_t(i)] = i;
    for (std::int64_t i = n - 1; i > 0; --i) {
      const auto k = static_cast<std::uint64_t>(i);
      const std::uint64_t r = (std::uint64_t(philox_u32(seed, stream, 2 * k)) << 32) | philox_u32(seed, stream, 2 * k + 1);
      std::swap(p[std::size_t(i)], p[std::size_t(r % (k + 1))]);
    }
    return p;
  };
  for (std::int64_t n : {0, 1, 2, 3, 511, 512, 513, 1024, 1025, 4099})
    for (std::uint64_t seed : {1ull, 42ull}) {
      INFO("n = " << n << ", seed " << seed);
      CHECK(data::permutation(n, seed, 7) == reference(n, seed, 7));
    }
}

TEST_CASE("dataset: split sizes and order", "[data]") {
  const auto d = numbered(100);
  const auto s = d.split({.validation = 0.2, .test = 0.1});
  CHECK(s.train.size() == 70);
  CHECK(s.validation.size() == 20);
  CHECK(s.test.size() == 10);
  CHECK(s.validation.features()(0, 0) == 70.0);
  CHECK(s.test.features()(9, 0) == 99.0);
  CHECK(s.test.weighted());
  REQUIRE_THROWS_AS(d.split({.validation = 0.6, .test = 0.5}), Error);
  REQUIRE_THROWS_AS(d.slice(5, 200), Error);
}
