/// @file backend/cpu/parallel.hpp
/// @brief Thread count and the one parallel loop of the CPU backend (OpenMP when available).
///
/// Work is always cut into the same chunks for a given shape, whatever the thread count, and
/// each chunk is computed by the same code: results are bitwise identical with 1 or N threads.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <atomic>
#include <cstdint>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace hepnn::inline HEPNN_ABI {

namespace detail {
inline std::atomic<int>& thread_setting() {
#if defined(_OPENMP)
  static std::atomic<int> n{omp_get_max_threads()};
#else
  static std::atomic<int> n{1};
#endif
  return n;
}
}  // namespace detail

/// Sets the number of threads hepnn's CPU kernels use (n <= 0: all hardware threads).
/// Without OpenMP hepnn runs on one thread and this records the wish only.
inline void set_num_threads(int n) {
#if defined(_OPENMP)
  if (n <= 0) n = omp_get_num_procs();
#else
  if (n <= 0) n = 1;
#endif
  detail::thread_setting().store(n);
}

/// The number of threads hepnn's CPU kernels use.
inline int num_threads() {
#if defined(_OPENMP)
  return detail::thread_setting().load();
#else
  return 1;
#endif
}

}  // namespace hepnn::inline HEPNN_ABI

namespace hepnn::backend::cpu::inline HEPNN_ABI {

/// Runs f(chunk) for every chunk in [0, n_chunks). Uses up to num_threads() threads when
/// `flops` (an estimate of the total work) is large enough to pay for waking them.
template <class F>
void parallel_chunks(std::int64_t n_chunks, double flops, F&& f) {
  // A parallel region costs a few microseconds, and much more when the machine is busy and
  // OpenMP threads spin waiting for a core: only work of >= 1 MFLOP per thread is split.
  constexpr double min_flops_per_thread = 1.0e6;
  int threads = static_cast<int>(std::min<double>({static_cast<double>(num_threads()), static_cast<double>(n_chunks),
                                                   flops / min_flops_per_thread}));
#if defined(_OPENMP)
  if (threads > 1 && !omp_in_parallel()) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::int64_t c = 0; c < n_chunks; ++c) f(c);
    return;
  }
#endif
  (void)threads;
  for (std::int64_t c = 0; c < n_chunks; ++c) f(c);
}

/// Calls f(begin, end) over [0, n) in chunks of `grain` elements, in parallel for large n.
template <class F>
void parallel_range(std::int64_t n, std::int64_t grain, double flops_per_element, F&& f) {
  if (n <= 0) return;
  const std::int64_t chunks = (n + grain - 1) / grain;
  parallel_chunks(chunks, flops_per_element * static_cast<double>(n), [&](std::int64_t c) {
    const std::int64_t b = c * grain;
    f(b, std::min(n, b + grain));
  });
}

}  // namespace hepnn::backend::cpu::inline HEPNN_ABI
