// Timing helpers shared by the benchmark programs and their libtorch peers (standard library
// only, so that a peer needs nothing of hepnn's build).
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

namespace bench {

/// The median of v (the mean of the two middle values for an even count).
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Median seconds per call of f over `reps` repetitions, each of enough calls (doubling from 1,
/// after one warm-up call) to last at least min_seconds.
inline double median_seconds(const std::function<void()>& f, int reps, double min_seconds) {
  f();
  std::int64_t calls = 1;
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t c = 0; c < calls; ++c) f();
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >= min_seconds) break;
    calls *= 2;
  }
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t c = 0; c < calls; ++c) f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(calls));
  }
  return median(std::move(t));
}

}  // namespace bench
