/// @file core/storage.hpp
/// @brief Owning, 64-byte aligned buffers on a device.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"
#include "hepnn/core/error.hpp"

namespace hepnn::inline HEPNN_ABI {

inline constexpr std::size_t storage_alignment = 64;

/// A raw owning buffer of `n` elements of T on Device; contents are uninitialised.
/// Move-only: copies between buffers and devices are always explicit.
template <class T, class Device>
class Storage {
  static_assert(std::is_trivially_copyable_v<T>, "Storage holds trivially copyable scalars only");

 public:
  Storage() = default;
  explicit Storage(std::size_t n) : m_size(n) {
    if (n == 0) return;
    const std::size_t bytes = padded_bytes(n);
    if constexpr (std::is_same_v<Device, cpu>) {
      m_data = static_cast<T*>(std::aligned_alloc(storage_alignment, bytes));
      if (!m_data) throw Error(detail::concat("out of host memory allocating ", bytes, " bytes"));
    } else {
      m_data = static_cast<T*>(backend::cuda::allocate(bytes));
    }
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  Storage(Storage&& o) noexcept : m_data(std::exchange(o.m_data, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
  Storage& operator=(Storage&& o) noexcept {
    if (this != &o) {
      release();
      m_data = std::exchange(o.m_data, nullptr);
      m_size = std::exchange(o.m_size, 0);
    }
    return *this;
  }
  ~Storage() { release(); }

  T* data() { return m_data; }
  const T* data() const { return m_data; }
  std::size_t size() const { return m_size; }

 private:
  static std::size_t padded_bytes(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    return (bytes + storage_alignment - 1) / storage_alignment * storage_alignment;
  }
  void release() noexcept {
    if (!m_data) return;
    if constexpr (std::is_same_v<Device, cpu>) {
      std::free(m_data);
    } else {
      backend::cuda::deallocate(m_data, padded_bytes(m_size));
    }
    m_data = nullptr;
    m_size = 0;
  }

  T* m_data = nullptr;
  std::size_t m_size = 0;
};

namespace detail {
/// Copies `bytes` between two buffers that may live on different devices.
template <class DstDevice, class SrcDevice>
void copy_bytes(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  if constexpr (std::is_same_v<DstDevice, cpu> && std::is_same_v<SrcDevice, cpu>) {
    std::memcpy(dst, src, bytes);
  } else if constexpr (std::is_same_v<DstDevice, cpu>) {
    backend::cuda::copy_device_to_host(dst, src, bytes);
  } else if constexpr (std::is_same_v<SrcDevice, cpu>) {
    backend::cuda::copy_host_to_device(dst, src, bytes);
  } else {
    backend::cuda::copy_device_to_device(dst, src, bytes);
  }
}
}  // namespace detail

}  // namespace hepnn
