/// @file tests/cuda/test_cuda_runtime.cpp
/// @brief The cuda device itself: what a user gets without a GPU (a clear error, never a crash),
/// copies between devices, the caching allocator, events, errors for impossible requests.
#include <catch2/catch.hpp>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "cuda/cuda_support.hpp"
#include "hepnn/core/tensor.hpp"

using namespace hepnn;
using Catch::Contains;
using DeviceFloats = Tensor<float, cuda>;  // (a comma inside a Catch macro would split its arguments)

TEST_CASE("cuda runtime: without a GPU, device code fails with a clear hepnn::Error", "[cuda][runtime]") {
  if (backend::cuda::available()) {
    WARN("SKIPPED: this machine has a GPU; the no-GPU error is checked on machines without one");
    return;
  }
  CHECK(backend::cuda::device_count() == 0);
  CHECK_THROWS_WITH(DeviceFloats(Shape{16}), Contains("no usable GPU") && Contains("Sequential<T, cpu>"));
  CHECK_THROWS_AS(backend::cuda::device_name(), Error);
  // an empty tensor needs no device
  Tensor<float, cuda> empty;
  CHECK(empty.size() == 0);
}

TEST_CASE("cuda runtime: copies between host and device keep every value", "[cuda][runtime]") {
  HEPNN_REQUIRE_GPU();
  INFO("device: " << backend::cuda::device_name());
  for (std::int64_t n : {1, 3, 1000, 1 << 20}) {
    std::vector<float> v(static_cast<std::size_t>(n));
    std::iota(v.begin(), v.end(), -5.0f);
    Tensor<float, cpu> h(Shape{n}, v);
    Tensor<float, cuda> d = h.to<cuda>();
    Tensor<float, cuda> d2 = d.clone();
    CHECK(d2.to_vector() == v);
    Tensor<float, cpu> back = d2.to<cpu>();
    CHECK(std::vector<float>(back.begin(), back.end()) == v);
  }
}

TEST_CASE("cuda runtime: the caching allocator reuses blocks instead of calling cudaMalloc again", "[cuda][runtime]") {
  HEPNN_REQUIRE_GPU();
  { Tensor<float, cuda> warm(Shape{1000, 37}); }
  const auto before = backend::cuda::memory_stats();
  for (int i = 0; i < 50; ++i) {
    Tensor<float, cuda> a(Shape{1000, 37}), b(Shape{1000, 37});
    Tensor<double, cuda> c(Shape{12345});
  }
  const auto after = backend::cuda::memory_stats();
  // at most the blocks that the first iteration needed beyond the warm-up one
  CHECK(after.device_mallocs <= before.device_mallocs + 2);
  CHECK(after.bytes_in_use == before.bytes_in_use);
  backend::cuda::empty_cache();
  CHECK(backend::cuda::memory_stats().bytes_cached == 0);
}

TEST_CASE("cuda runtime: an impossible allocation is an error naming the size, and the device stays usable",
          "[cuda][runtime]") {
  HEPNN_REQUIRE_GPU();
  CHECK_THROWS_WITH(DeviceFloats(Shape{std::int64_t(1) << 48}), Contains("out of device memory"));
  Tensor<float, cpu> h(Shape{3}, {1.0f, 2.0f, 3.0f});
  CHECK(h.to<cuda>().to_vector() == std::vector<float>{1.0f, 2.0f, 3.0f});
}

TEST_CASE("cuda runtime: events time queued work", "[cuda][runtime]") {
  HEPNN_REQUIRE_GPU();
  backend::cuda::Event start, stop;
  start.record();
  Tensor<float, cuda> big(Shape{1 << 24});
  Tensor<float, cuda> copy = big.clone();
  stop.record();
  stop.synchronize();
  CHECK(backend::cuda::Event::elapsed_ms(start, stop) >= 0.0f);
  backend::cuda::Event never;
  CHECK_THROWS_AS(backend::cuda::Event::elapsed_ms(start, never), Error);
}
