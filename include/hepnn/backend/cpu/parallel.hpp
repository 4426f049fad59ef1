/// @file backend/cpu/parallel.hpp
/// @brief Thread count and the one parallel loop of the CPU backend.
///
/// Work is always cut into the same chunks for a given shape, whatever the thread count, and
/// each chunk is computed by the same code: results are bitwise identical with 1 or N threads.
///
/// Shared machines (login nodes, batch slots) are the normal case, so the defaults are safe there:
///  - the default thread count is the CPUs this process may use: the affinity mask (taskset,
///    Slurm's binding), the cgroup CPU quota (containers, Slurm's cgroup plugin) and
///    SLURM_CPUS_PER_TASK, whichever is smallest; HEPNN_NUM_THREADS or OMP_NUM_THREADS override it;
///  - idle threads sleep (a futex wait). After an inference pass (inference_chunks), and only
///    while other processes leave the machine a free core for each of hepnn's threads, they first
///    wait up to HEPNN_SPIN_US (default 200 µs) without sleeping, so that an event loop's
///    back-to-back predict calls do not pay a wake-up each; a busy core is never taken;
///  - chunks are handed out one at a time, so when a thread is held up by another process the
///    others take its share, and nobody waits for a whole region's slice of a descheduled thread.
/// Threads exist when hepnn is built with OpenMP (the CMake default); the parallel loop itself
/// runs on hepnn's own small pool (docs/architecture.md, "Threads").
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(HEPNN_HAS_THREADS)
#include <dirent.h>
#include <sched.h>
#endif

namespace hepnn::inline HEPNN_ABI {

namespace detail {
/// A positive integer from the environment variable `name`, or 0.
inline int env_threads(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return (end && (*end == '\0' || *end == ',') && n > 0 && n < 100000) ? int(n) : 0;
}

/// CPUs of this process's affinity mask (0 when unknown).
inline int affinity_cpus() {
#if defined(HEPNN_HAS_THREADS) && defined(CPU_COUNT)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
#endif
  return 0;
}

/// The cgroup CPU quota, rounded up to whole CPUs (0 when there is none): cgroup v2 `cpu.max`
/// ("max 100000" or "150000 100000"), else cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`.
inline int cgroup_quota_cpus(const std::string& root = "/sys/fs/cgroup") {
  auto ceil_div = [](double q, double p) { return (q > 0 && p > 0) ? std::max(1, int((q + p - 1) / p)) : 0; };
  {
    std::ifstream f(root + "/cpu.max");
    std::string quota;
    double period = 0;
    if (f >> quota >> period) return quota == "max" ? 0 : ceil_div(std::atof(quota.c_str()), period);
  }
  for (const char* dir : {"/cpu", "/cpu,cpuacct", ""}) {
    std::ifstream q(root + dir + "/cpu.cfs_quota_us"), p(root + dir + "/cpu.cfs_period_us");
    double quota = 0, period = 0;
    if (q >> quota && p >> period) return quota < 0 ? 0 : ceil_div(quota, period);
  }
  return 0;
}

/// Hardware threads this process may use: the smallest of the affinity mask, the cgroup quota
/// and SLURM_CPUS_PER_TASK (each where known), at least 1.
inline int available_cpus() {
  int n = affinity_cpus();
  if (n <= 0) n = int(std::thread::hardware_concurrency());
  if (n <= 0) n = 1;
  if (const int q = cgroup_quota_cpus(); q > 0) n = std::min(n, q);
  if (const int s = env_threads("SLURM_CPUS_PER_TASK"); s > 0) n = std::min(n, s);
  return std::max(1, n);
}

/// The thread count when the program sets none: HEPNN_NUM_THREADS, else OMP_NUM_THREADS, else
/// available_cpus().
inline int default_threads() {
  if (const int n = env_threads("HEPNN_NUM_THREADS"); n > 0) return n;
  if (const int n = env_threads("OMP_NUM_THREADS"); n > 0) return n;
  return available_cpus();
}

inline std::atomic<int>& thread_setting() {
#if defined(HEPNN_HAS_THREADS)
  static std::atomic<int> n{default_threads()};
#else
  static std::atomic<int> n{1};
#endif
  return n;
}
}  // namespace detail

/// Sets the number of threads hepnn's CPU kernels use (n <= 0: every CPU this process may use,
/// see available_cpus()). Without threads (a build without OpenMP) this records the wish only.
inline void set_num_threads(int n) {
#if defined(HEPNN_HAS_THREADS)
  if (n <= 0) n = detail::available_cpus();
#else
  if (n <= 0) n = 1;
#endif
  detail::thread_setting().store(n);
}

/// The number of threads hepnn's CPU kernels use.
inline int num_threads() {
#if defined(HEPNN_HAS_THREADS)
  return detail::thread_setting().load();
#else
  return 1;
#endif
}

/// The CPUs this process may use: affinity mask, cgroup quota and SLURM_CPUS_PER_TASK.
inline int available_cpus() { return detail::available_cpus(); }

namespace detail {
/// Runnable threads on the whole machine right now, from /proc/loadavg ("0.52 0.58 0.59 3/456
/// 12345": the 3), or -1 when unknown.
inline int runnable_threads() {
  std::ifstream f("/proc/loadavg");
  double a, b, c;
  int running = -1;
  char slash;
  if (f >> a >> b >> c >> running >> slash) return running;
  return -1;
}

/// Runnable threads of this process (state R in /proc/self/task/*/stat), or -1 when unknown:
/// hepnn's own workers finishing a region must not count as "other processes".
inline int own_runnable_threads() {
#if defined(HEPNN_HAS_THREADS)
  DIR* d = ::opendir("/proc/self/task");
  if (!d) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream f(std::string("/proc/self/task/") + e->d_name + "/stat");
    std::string line;
    std::getline(f, line);
    const auto close = line.rfind(')');  // the command name may hold spaces and parentheses
    if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'R') ++n;
  }
  ::closedir(d);
  return n;
#else
  return -1;
#endif
}

/// CPUs of the machine that other processes leave free: online CPUs minus the runnable threads
/// of other processes (at least 1), measured at most every 50 ms. Other processes' work on the
/// node counts whatever cores they are bound to: a cheap, conservative proxy.
inline int free_cpus() {
  using clock = std::chrono::steady_clock;
  static std::atomic<std::int64_t> next_ns{0};
  static std::atomic<int> value{1 << 20};
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count();
  std::int64_t due = next_ns.load(std::memory_order_relaxed);
  if (now >= due && next_ns.compare_exchange_strong(due, now + 50'000'000)) {
    static const int online = std::max(1, int(std::thread::hardware_concurrency()));
    const int running = runnable_threads(), own = own_runnable_threads();
    const int others = running < 1 ? -1 : running - std::max(1, own);
    value.store(others < 0 ? (1 << 20) : std::max(1, online - others), std::memory_order_relaxed);
  }
  return value.load(std::memory_order_relaxed);
}
}  // namespace detail

}  // namespace hepnn::inline HEPNN_ABI

namespace hepnn::backend::cpu::inline HEPNN_ABI {

namespace detail {
/// How long a thread of the pool waits without sleeping after an inference region, for the next
/// region or for the other threads to finish one: HEPNN_SPIN_US microseconds (0: never), default
/// 200. Read once. Only inference regions spin: in training, the serial work between a step's
/// small regions ran up to 9% slower beside a spinning thread (docs/architecture.md).
inline std::chrono::nanoseconds spin_time() {
  static const std::chrono::nanoseconds t = [] {
    const char* v = std::getenv("HEPNN_SPIN_US");
    long us = 200;
    if (v && *v) {
      char* end = nullptr;
      const long n = std::strtol(v, &end, 10);
      if (end && *end == '\0' && n >= 0 && n <= 100000) us = n;
    }
    return std::chrono::nanoseconds(us * 1000);
  }();
  return t;
}
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
/// Waits without sleeping, for at most spin_time(), until done() is true; returns done().
template <class F>
bool spin_until(F&& done) {
  const auto until = std::chrono::steady_clock::now() + spin_time();
  while (!done()) {
    for (int i = 0; i < 32; ++i) cpu_relax();
    if (std::chrono::steady_clock::now() >= until) return done();
  }
  return true;
}

/// A pool of sleeping worker threads for parallel_chunks. One region runs at a time; a caller
/// that finds the pool busy (another thread's region, or a region inside a region) runs its
/// chunks itself. Workers claim chunks from a shared counter, the caller too. The region's
/// description is handed over under a mutex; workers sleep on a condition variable (a futex).
/// A worker joins a region only while it is open: once the caller has run out of chunks it
/// closes the region and waits only for workers that joined, never for one that was not yet
/// scheduled (on a busy machine that could take a whole time slice). In a region run with `hot`
/// (inference), while the machine has a free core for every thread of the region, the threads
/// wait a little without sleeping first (spin_time()): a worker for the next region, the caller
/// for the workers to finish.
class ChunkPool {
 public:
  static ChunkPool& instance() {
    static ChunkPool pool;
    return pool;
  }
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;
  ~ChunkPool() {
    {
      const std::lock_guard<std::mutex> g(m_state);
      m_stop = true;
    }
    m_wake.notify_all();
    for (auto& t : m_workers) t.join();
  }

  /// Runs f(c) for c in [0, n_chunks) on the caller and up to threads - 1 workers.
  template <class F>
  void run(int threads, std::int64_t n_chunks, F& f, bool hot = false) {
    auto serial = [&] {
      for (std::int64_t c = 0; c < n_chunks; ++c) f(c);
    };
    if (t_inside) return serial();  // a region inside a region (checked first: m_busy may be ours)
    std::unique_lock<std::mutex> busy(m_busy, std::try_to_lock);
    if (!busy.owns_lock()) return serial();
    const bool spin = hot && spin_time().count() > 0 && hepnn::detail::free_cpus() >= threads;
    Region r{[](void* p, std::int64_t c) { (*static_cast<F*>(p))(c); }, &f, n_chunks, threads - 1, spin};
    {
      const std::lock_guard<std::mutex> g(m_state);
      ensure_workers(threads - 1);
      m_region = r;
      m_next.store(0);
      m_error = nullptr;
      m_open = true;
      m_posted.store(++m_generation, std::memory_order_release);
    }
    m_wake.notify_all();  // no system call when every worker is still spinning
    t_inside = true;
    work(r);
    t_inside = false;
    {
      // no worker joins from now on; wait for those that joined and may still be computing a
      // chunk: without sleeping for a moment when there are free cores, then asleep
      {
        const std::lock_guard<std::mutex> g(m_state);
        m_open = false;
      }
      if (!spin || !spin_until([&] { return m_active.load(std::memory_order_acquire) == 0; })) {
        std::unique_lock<std::mutex> g(m_state);
        m_done.wait(g, [&] { return m_active.load(std::memory_order_acquire) == 0; });
      }
    }
    if (m_error) std::rethrow_exception(m_error);
  }

 private:
  struct Region {
    void (*fn)(void*, std::int64_t) = nullptr;
    void* arg = nullptr;
    std::int64_t chunks = 0;
    int workers = 0;     // how many of the pool's threads take part
    bool spin = false;   // the machine has a free core for each thread: wait without sleeping first
  };

  ChunkPool() = default;

  void ensure_workers(int n) {
    while (int(m_workers.size()) < n) {
      const int index = int(m_workers.size());
      m_workers.emplace_back([this, index] { worker(index); });
    }
  }

  /// Claims and runs chunks until none are left.
  void work(const Region& r) {
    for (std::int64_t c = m_next.fetch_add(1); c < r.chunks; c = m_next.fetch_add(1)) {
      try {
        r.fn(r.arg, c);
      } catch (...) {
        const std::lock_guard<std::mutex> g(m_error_mutex);
        if (!m_error) m_error = std::current_exception();
      }
    }
  }

  void worker(int index) {
    std::uint64_t seen = 0;
    bool spin = false;
    while (true) {
      // after a region, a moment without sleeping for the next one (when there are free cores)
      if (spin) spin_until([&] { return m_posted.load(std::memory_order_acquire) != seen; });
      Region r;
      {
        std::unique_lock<std::mutex> g(m_state);
        m_wake.wait(g, [&] { return m_stop || m_generation != seen; });
        if (m_stop) return;
        seen = m_generation;
        if (!m_open || index >= m_region.workers) continue;  // closed already, or fewer threads
        r = m_region;
        m_active.fetch_add(1, std::memory_order_relaxed);
      }
      t_inside = true;
      work(r);
      t_inside = false;
      bool last;
      {
        const std::lock_guard<std::mutex> g(m_state);
        last = m_active.fetch_sub(1, std::memory_order_acq_rel) == 1;
      }
      if (last) m_done.notify_one();  // no system call when the caller is spinning, not waiting
      spin = r.spin;
    }
  }

  std::mutex m_busy, m_state, m_error_mutex;
  std::condition_variable m_wake, m_done;
  std::vector<std::thread> m_workers;
  Region m_region;                 // guarded by m_state
  std::uint64_t m_generation = 0;  // guarded by m_state
  bool m_stop = false;             // guarded by m_state
  bool m_open = false;             // guarded by m_state: workers may still join the region
  std::atomic<int> m_active{0};    // changed under m_state: workers inside the region
  std::atomic<std::uint64_t> m_posted{0};  // m_generation, for workers that wait without the lock
  std::atomic<std::int64_t> m_next{0};
  std::exception_ptr m_error;
  static inline thread_local bool t_inside = false;
};
}  // namespace detail

/// Runs f(chunk) for every chunk in [0, n_chunks). Uses up to num_threads() threads when
/// `flops` (an estimate of the total work) is large enough to pay for waking them. `hot`: the
/// threads may wait for the next region without sleeping first (inference passes only).
template <class F>
void parallel_chunks(std::int64_t n_chunks, double flops, F&& f, bool hot = false) {
  // Waking a sleeping thread costs a few microseconds (more on a busy machine): only work of
  // >= 1 MFLOP per thread is split.
#if defined(HEPNN_MIN_FLOPS_PER_THREAD)
  constexpr double min_flops_per_thread = HEPNN_MIN_FLOPS_PER_THREAD;
#else
  constexpr double min_flops_per_thread = 1.0e6;
#endif
  int threads = static_cast<int>(std::min<double>({static_cast<double>(num_threads()), static_cast<double>(n_chunks),
                                                   flops / min_flops_per_thread}));
#if defined(HEPNN_HAS_THREADS)
  // on a busy machine, only as many threads as other processes leave cores for
  if (threads > 1) threads = std::min(threads, hepnn::detail::free_cpus());
  if (threads > 1) {
    detail::ChunkPool::instance().run(threads, n_chunks, f, hot);
    return;
  }
#endif
  (void)threads, (void)hot;
  for (std::int64_t c = 0; c < n_chunks; ++c) f(c);
}

/// Rows per chunk of the CPU inference passes (Sequential and Model predict): small enough that a
/// chunk's activations stay in a core's L2, a multiple of the fused Dense kernel's 6-row tiles.
/// Measured on the 20-64-64-1 net: 64 and 96 rows gave the same speed (docs/benchmarks.md).
#if defined(HEPNN_INFERENCE_CHUNK_ROWS)
inline constexpr std::int64_t inference_chunk_rows = HEPNN_INFERENCE_CHUNK_ROWS;
#else
inline constexpr std::int64_t inference_chunk_rows = 96;
#endif

/// Inference over B samples in row chunks: f(first_row, rows) for each chunk of
/// inference_chunk_rows rows (the last one shorter), the chunks spread over the threads when
/// `flops` pays for it. The whole model runs on one chunk before the next (one parallel region
/// per call instead of one per layer; a chunk's activations stay in its core's cache). The chunks
/// depend on B only, so the results do not depend on the thread count. The threads wait for the
/// next pass a moment without sleeping (spin_time()), when the machine has the cores for it.
template <class F>
void inference_chunks(std::int64_t B, double flops, F&& f) {
  constexpr std::int64_t rows = inference_chunk_rows;
  parallel_chunks((B + rows - 1) / rows, flops, [&](std::int64_t c) { f(c * rows, std::min(rows, B - c * rows)); },
                  /*hot=*/true);
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
