/// @file core/device.hpp
/// @brief Device tags: `cpu` (Eigen backend) and `cuda` (reserved for the GPU backend).
#pragma once
#include <string_view>
#include <type_traits>

namespace hepnn {

struct cpu {
  static constexpr std::string_view name = "cpu";
};
struct cuda {
  static constexpr std::string_view name = "cuda";
};

template <class D>
inline constexpr bool is_device_v = std::is_same_v<D, cpu> || std::is_same_v<D, cuda>;

/// Shared by host and device code (the CUDA backend compiles the same functions with nvcc).
#if defined(__CUDACC__)
#define HEPNN_HOST_DEVICE __host__ __device__
#else
#define HEPNN_HOST_DEVICE
#endif

}  // namespace hepnn
