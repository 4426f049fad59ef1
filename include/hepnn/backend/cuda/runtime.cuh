/// @file backend/cuda/runtime.cuh
/// @brief The CUDA context (device, stream, cuBLAS handle), error checking, the caching
/// allocator, pinned memory, copies and events. nvcc only: included by all.cuh.
///
/// One context per process: every hepnn kernel, copy and cuBLAS call goes to one non-blocking
/// stream, so work is ordered without device-wide synchronisation, and a freed block can be
/// handed out again at once (any later use is queued after every earlier one).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/error.hpp"

namespace hepnn::backend::cuda {

namespace detail {

inline const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "unknown cuBLAS status";
  }
}

[[noreturn]] inline void throw_cuda(cudaError_t e, const char* call, const char* file, int line) {
  throw Error(hepnn::detail::concat("CUDA error in ", call, " (", file, ":", line, "): ", cudaGetErrorName(e), ": ",
                                    cudaGetErrorString(e)));
}
[[noreturn]] inline void throw_cublas(cublasStatus_t s, const char* call, const char* file, int line) {
  throw Error(hepnn::detail::concat("cuBLAS error in ", call, " (", file, ":", line, "): ", cublas_status_name(s)));
}

}  // namespace detail

/// Every CUDA runtime call goes through this: a failure becomes hepnn::Error with the call and the message.
#define HEPNN_CUDA_CHECK(call)                                                                   \
  do {                                                                                           \
    const cudaError_t hepnn_cuda_err_ = (call);                                                  \
    if (hepnn_cuda_err_ != cudaSuccess)                                                          \
      ::hepnn::backend::cuda::detail::throw_cuda(hepnn_cuda_err_, #call, __FILE__, __LINE__);    \
  } while (0)
#define HEPNN_CUBLAS_CHECK(call)                                                                 \
  do {                                                                                           \
    const cublasStatus_t hepnn_cublas_st_ = (call);                                              \
    if (hepnn_cublas_st_ != CUBLAS_STATUS_SUCCESS)                                               \
      ::hepnn::backend::cuda::detail::throw_cublas(hepnn_cublas_st_, #call, __FILE__, __LINE__); \
  } while (0)
namespace detail {
inline void check_launch(const char* kernel, const char* file, int line) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    throw Error(hepnn::detail::concat("CUDA error launching kernel ", kernel, " (", file, ":", line, "): ",
                                      cudaGetErrorName(e), ": ", cudaGetErrorString(e)));
}

/// Process-wide state. Created on first use and deliberately never destroyed: at process exit
/// the CUDA runtime may already be unloaded, and freeing into it would fail.
struct Context {
  int device = 0;
  cudaStream_t stream = nullptr;       // kernels, products, plain copies
  cudaStream_t copy_stream = nullptr;  // training batches, host -> device
  cublasHandle_t blas = nullptr;
  cudaDeviceProp props{};

  static Context& get() {
    static Context* ctx = [] {
      int n = 0;
      const cudaError_t e = cudaGetDeviceCount(&n);
      if (e != cudaSuccess || n == 0) {
        cudaGetLastError();  // clear the sticky "no device" error
        throw Error(hepnn::detail::concat(
            "CUDA: no usable GPU (cudaGetDeviceCount: ", e == cudaSuccess ? "0 devices" : cudaGetErrorString(e),
            "); use Sequential<T, cpu> or run on a machine with an NVIDIA GPU and driver"));
      }
      auto* c = new Context;
      HEPNN_CUDA_CHECK(cudaGetDevice(&c->device));
      HEPNN_CUDA_CHECK(cudaGetDeviceProperties(&c->props, c->device));
      HEPNN_CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
      HEPNN_CUDA_CHECK(cudaStreamCreateWithFlags(&c->copy_stream, cudaStreamNonBlocking));
      HEPNN_CUBLAS_CHECK(cublasCreate(&c->blas));
      HEPNN_CUBLAS_CHECK(cublasSetStream(c->blas, c->stream));
      HEPNN_CUBLAS_CHECK(cublasSetPointerMode(c->blas, CUBLAS_POINTER_MODE_HOST));
      return c;
    }();
    // Work queued from another thread must land on the same device.
    int current = -1;
    if (cudaGetDevice(&current) == cudaSuccess && current != ctx->device) HEPNN_CUDA_CHECK(cudaSetDevice(ctx->device));
    return *ctx;
  }
};

inline cudaStream_t stream() { return Context::get().stream; }
inline cudaStream_t stream(Queue q) {
  const Context& c = Context::get();
  return q == Queue::copy ? c.copy_stream : c.stream;
}

inline std::atomic<bool>& tf32_flag() {
  static std::atomic<bool> on{false};
  return on;
}

/// A caching allocator: blocks keyed by size. A block goes back to the free list when its
/// owner releases it and is handed out again for any request it fits within a factor of two
/// (small requests are rounded up to 512 bytes, large ones to 2 MiB, so that the sizes that
/// a training loop repeats find their blocks again). When cudaMalloc fails the cache is emptied
/// and the call retried once before the out-of-memory error is reported.
class CachingAllocator {
 public:
  static CachingAllocator& get() {
    static CachingAllocator* a = new CachingAllocator;  // never destroyed (see Context)
    return *a;
  }

  void* allocate(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    const std::size_t size = round(bytes);
    std::lock_guard<std::mutex> lock(m_mutex);
    auto it = m_free.lower_bound(size);
    if (it != m_free.end() && it->first <= 2 * size) {
      void* p = it->second;
      const std::size_t got = it->first;
      m_free.erase(it);
      m_stats.bytes_cached -= got;
      take(p, got);
      return p;
    }
    Context::get();  // the device and stream exist before the first block
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, size);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_cached();
      e = cudaMalloc(&p, size);
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      std::size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      throw Error(hepnn::detail::concat("CUDA: out of device memory allocating ", size, " bytes (cudaMalloc: ",
                                        cudaGetErrorString(e), "); hepnn holds ", m_stats.bytes_in_use,
                                        " bytes in use, the device has ", free_b, " of ", total_b, " bytes free"));
    }
    ++m_stats.device_mallocs;
    take(p, size);
    return p;
  }

  void deallocate(void* p) noexcept {
    if (!p) return;
    std::lock_guard<std::mutex> lock(m_mutex);
    auto it = m_live.find(p);
    if (it == m_live.end()) return;  // not ours: nothing to do (never reached through Storage)
    const std::size_t size = it->second;
    m_live.erase(it);
    m_stats.bytes_in_use -= size;
    m_stats.bytes_cached += size;
    m_free.emplace(size, p);
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_stats;
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(m_mutex);
    release_cached();
  }

 private:
  static std::size_t round(std::size_t b) {
    constexpr std::size_t small = 512, large = std::size_t(2) << 20;
    return b < (std::size_t(1) << 20) ? (b + small - 1) / small * small : (b + large - 1) / large * large;
  }
  void take(void* p, std::size_t size) {
    m_live.emplace(p, size);
    m_stats.bytes_in_use += size;
    m_stats.peak_bytes_in_use = std::max(m_stats.peak_bytes_in_use, m_stats.bytes_in_use);
  }
  // requires: m_mutex held
  void release_cached() {
    if (m_free.empty()) return;
    // Blocks may still be read by queued work that released them in stream order.
    cudaStreamSynchronize(Context::get().stream);
    for (auto& [size, p] : m_free) cudaFree(p);
    m_free.clear();
    m_stats.bytes_cached = 0;
  }

  std::mutex m_mutex;
  std::multimap<std::size_t, void*> m_free;
  std::unordered_map<void*, std::size_t> m_live;
  MemoryStats m_stats;
};

/// Pinned host scratch for the scalar results of reductions (loss, sums), one per thread.
struct HostScalar {
  double* value = nullptr;
  HostScalar() { HEPNN_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&value), sizeof(double))); }
  ~HostScalar() { cudaFreeHost(value); }
  static HostScalar& get() {
    thread_local HostScalar s;
    return s;
  }
};

/// Device scratch of at least `bytes`, from the caching allocator, returned when it goes out of scope.
class DeviceScratch {
 public:
  explicit DeviceScratch(std::size_t bytes) : m_bytes(bytes), m_ptr(CachingAllocator::get().allocate(bytes)) {}
  ~DeviceScratch() { CachingAllocator::get().deallocate(m_ptr); }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  template <class U>
  U* as() const {
    return static_cast<U*>(m_ptr);
  }

 private:
  std::size_t m_bytes;
  void* m_ptr;
};

/// Launch geometry for element-wise kernels: grid-stride loops over at most this many blocks.
inline constexpr int threads_per_block = 256;
inline unsigned blocks_for(std::int64_t n, int per_thread = 1) {
  const std::int64_t b =
      (n + std::int64_t(threads_per_block) * per_thread - 1) / (std::int64_t(threads_per_block) * per_thread);
  return unsigned(std::clamp<std::int64_t>(b, 1, 65535));
}

/// Launches a kernel on hepnn's compute stream and checks the launch (with the kernel's name).
template <class... Params, class... Args>
void launch(const char* name, dim3 grid, dim3 block, void (*kernel)(Params...), Args... args) {
  kernel<<<grid, block, 0, stream()>>>(args...);
  check_launch(name, __FILE__, __LINE__);
}

}  // namespace detail

// ---- the api.hpp functions: defined (not inline) in the one translation unit that includes all.cuh ----

int device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

std::string device_name() {
  const auto& c = detail::Context::get();
  return hepnn::detail::concat(c.props.name, " (sm_", c.props.major, c.props.minor, ", ",
                               c.props.totalGlobalMem >> 20, " MiB)");
}

void synchronize() {
  const auto& c = detail::Context::get();
  HEPNN_CUDA_CHECK(cudaStreamSynchronize(c.copy_stream));
  HEPNN_CUDA_CHECK(cudaStreamSynchronize(c.stream));
}

void set_tf32(bool on) noexcept { detail::tf32_flag().store(on); }
bool tf32() noexcept { return detail::tf32_flag().load(); }

void* allocate(std::size_t bytes) { return detail::CachingAllocator::get().allocate(bytes); }
void deallocate(void* ptr, std::size_t) noexcept { detail::CachingAllocator::get().deallocate(ptr); }
MemoryStats memory_stats() { return detail::CachingAllocator::get().stats(); }
void empty_cache() { detail::CachingAllocator::get().empty_cache(); }

void* allocate_pinned(std::size_t bytes) {
  detail::Context::get();
  void* p = nullptr;
  HEPNN_CUDA_CHECK(cudaMallocHost(&p, std::max<std::size_t>(bytes, 1)));
  return p;
}
void deallocate_pinned(void* ptr) noexcept {
  if (ptr) cudaFreeHost(ptr);
}

void copy_host_to_device(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  const cudaStream_t s = detail::stream();
  HEPNN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s));
  // From pageable memory the call returns once src has been read; from pinned memory it may
  // not have been: wait, so that the caller may reuse src at once in either case.
  HEPNN_CUDA_CHECK(cudaStreamSynchronize(s));
}
void copy_device_to_host(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  const cudaStream_t s = detail::stream();
  HEPNN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
  HEPNN_CUDA_CHECK(cudaStreamSynchronize(s));
}
void copy_device_to_device(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0 || dst == src) return;
  HEPNN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, detail::stream()));
}
void copy_host_to_device_async(void* dst, const void* src, std::size_t bytes, Queue q) {
  if (bytes == 0) return;
  HEPNN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, detail::stream(q)));
}

Event::Event() {
  detail::Context::get();
  cudaEvent_t e = nullptr;
  HEPNN_CUDA_CHECK(cudaEventCreate(&e));
  m_event = e;
}
Event::~Event() {
  if (m_event) cudaEventDestroy(static_cast<cudaEvent_t>(m_event));
}
void Event::record(Queue q) {
  HEPNN_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(m_event), detail::stream(q)));
  m_recorded = true;
}
void Event::wait_on(Queue q) {
  if (m_recorded) HEPNN_CUDA_CHECK(cudaStreamWaitEvent(detail::stream(q), static_cast<cudaEvent_t>(m_event), 0));
}
void Event::synchronize() {
  if (m_recorded) HEPNN_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(m_event)));
}
float Event::elapsed_ms(const Event& start, const Event& stop) {
  HEPNN_CHECK(start.m_recorded && stop.m_recorded, "cuda::Event::elapsed_ms: both events must be recorded");
  float ms = 0;
  HEPNN_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start.m_event),
                                        static_cast<cudaEvent_t>(stop.m_event)));
  return ms;
}

}  // namespace hepnn::backend::cuda
