/// @file tests/cuda/cuda_support.hpp
/// @brief Helpers for the CUDA tests: the visible skip without a GPU, uploads and downloads,
/// and element-wise comparison of a GPU result with its CPU reference.
#pragma once
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/tensor.hpp"
#include "support/gradcheck.hpp"

/// Ends the test case with a visible "SKIPPED" warning when the machine has no usable GPU.
#define HEPNN_REQUIRE_GPU()                                                                       \
  do {                                                                                            \
    if (!::hepnn::backend::cuda::available()) {                                                   \
      WARN("SKIPPED: no CUDA GPU on this machine; this case runs on a machine with one");         \
      return;                                                                                     \
    }                                                                                             \
  } while (0)

/// Skips only the device half of a device-generic case.
#define HEPNN_REQUIRE_DEVICE(Device)                                                              \
  do {                                                                                            \
    if constexpr (std::is_same_v<Device, ::hepnn::cuda>) HEPNN_REQUIRE_GPU();                     \
  } while (0)

namespace hepnn::test {

template <class T, class Device>
Tensor<T, Device> on_device(const std::vector<T>& v) {
  Tensor<T, cpu> h(Shape{std::int64_t(v.size())});
  std::copy(v.begin(), v.end(), h.data());
  return h.template to<Device>();
}
template <class T>
Tensor<T, cuda> upload(const std::vector<T>& v) {
  return on_device<T, cuda>(v);
}

/// Tolerances for a GPU result against the CPU's: float results may differ in the last bits
/// (fused multiply-adds, another summation order), double ones far less.
template <class T>
struct Tol {
  double rtol = std::is_same_v<T, float> ? 2e-5 : 1e-12;
  double atol = std::is_same_v<T, float> ? 1e-6 : 1e-14;
};

/// |gpu - cpu| <= atol + rtol * max(|gpu|, |cpu|) for every element; NaN only where both are NaN.
template <class T>
void check_close(const std::vector<T>& gpu, const std::vector<T>& cpu, const std::string& what, Tol<T> tol = {}) {
  REQUIRE(gpu.size() == cpu.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < gpu.size(); ++i) {
    const double g = double(gpu[i]), c = double(cpu[i]);
    const bool both_nan = std::isnan(g) && std::isnan(c);
    const bool ok = both_nan || (g == c) || std::abs(g - c) <= tol.atol + tol.rtol * std::max(std::abs(g), std::abs(c));
    if (ok) continue;
    if (++bad <= 5) {
      INFO(what << ": element " << i << ": gpu " << g << ", cpu " << c);
      CHECK(ok);
    }
  }
  INFO(what << ": " << bad << " of " << gpu.size() << " elements differ");
  CHECK(bad == 0);
}

}  // namespace hepnn::test
