/// @file core/test_compiler.cpp
/// @brief The compiler bugs hepnn works around, reproduced: these fail when the workaround is
/// missing on an affected compiler (docs/architecture.md, "GCC 12 and AVX-512").
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <vector>

#include "hepnn/core/config.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#define HEPNN_TEST_OPAQUE [[gnu::noipa]]
#else
#define HEPNN_TEST_OPAQUE [[gnu::noinline]]
#endif

namespace {

// Each returns a constant through memory, out of line, so that the store itself is compiled
// (GCC 12.2 -O2 -mavx512f stored the first three as broadcasts: {1,1,1,1}, {5,5,5,5}, ...).
HEPNN_TEST_OPAQUE std::vector<double> labels_1100() { return {1, 1, 0, 0}; }
HEPNN_TEST_OPAQUE std::vector<std::int64_t> words_5550() { return {5, 5, 5, 0}; }
HEPNN_TEST_OPAQUE std::vector<std::int64_t> words_512bit() { return {7, 7, 7, 7, 0, 0, 0, 0}; }
HEPNN_TEST_OPAQUE std::vector<float> floats_256bit() { return {2, 2, 2, 2, 0, 0, 0, 0}; }
HEPNN_TEST_OPAQUE void store_1100(double* p) {
  const double c[4] = {1, 1, 0, 0};
  std::memcpy(p, c, sizeof c);
}

}  // namespace

TEST_CASE("compiler: 256- and 512-bit constants are stored as written (GCC 12 AVX-512 broadcast bug)", "[compiler]") {
  INFO("hepnn ABI tag of this build: " << hepnn::abi_tag);
  const std::vector<double> a = labels_1100();
  REQUIRE(a.size() == 4);
  CHECK(a[0] == 1.0);
  CHECK(a[1] == 1.0);
  CHECK(a[2] == 0.0);
  CHECK(a[3] == 0.0);

  const std::vector<std::int64_t> b = words_5550();
  REQUIRE(b.size() == 4);
  CHECK(b[2] == 5);
  CHECK(b[3] == 0);

  const std::vector<std::int64_t> c = words_512bit();
  REQUIRE(c.size() == 8);
  for (std::size_t i = 0; i < 8; ++i) CHECK(c[i] == (i < 4 ? 7 : 0));

  const std::vector<float> d = floats_256bit();
  REQUIRE(d.size() == 8);
  for (std::size_t i = 0; i < 8; ++i) CHECK(d[i] == (i < 4 ? 2.0f : 0.0f));

  double e[4] = {-1, -1, -1, -1};
  store_1100(e);
  CHECK(e[0] == 1.0);
  CHECK(e[1] == 1.0);
  CHECK(e[2] == 0.0);
  CHECK(e[3] == 0.0);
}
