// The CPU thread budget (affinity mask, cgroup quota, SLURM_CPUS_PER_TASK, environment) and the
// pool behind parallel_chunks: every chunk exactly once, concurrent callers, nested regions,
// exceptions carried to the caller.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "hepnn/backend/cpu/parallel.hpp"

namespace fs = std::filesystem;

namespace {
struct TempCgroup {
  fs::path dir = fs::temp_directory_path() / ("hepnn_cgroup_" + std::to_string(::getpid()));
  TempCgroup() { fs::create_directories(dir); }
  ~TempCgroup() { fs::remove_all(dir); }
  void write(const std::string& name, const std::string& text) {
    fs::create_directories((dir / name).parent_path());
    std::ofstream(dir / name) << text;
  }
};
/// Sets an environment variable for the scope, restoring the old value.
struct ScopedEnv {
  std::string name, old;
  bool had;
  ScopedEnv(std::string n, const char* value) : name(std::move(n)) {
    const char* o = std::getenv(name.c_str());
    had = o != nullptr;
    if (had) old = o;
    if (value) ::setenv(name.c_str(), value, 1);
    else ::unsetenv(name.c_str());
  }
  ~ScopedEnv() {
    if (had) ::setenv(name.c_str(), old.c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};
}  // namespace

TEST_CASE("threads: the cgroup CPU quota, v2 and v1", "[core][threads]") {
  {
    TempCgroup c;
    CHECK(hepnn::detail::cgroup_quota_cpus(c.dir.string()) == 0);  // no files: no quota
    c.write("cpu.max", "150000 100000\n");
    CHECK(hepnn::detail::cgroup_quota_cpus(c.dir.string()) == 2);  // 1.5 CPUs: rounded up
    c.write("cpu.max", "max 100000\n");
    CHECK(hepnn::detail::cgroup_quota_cpus(c.dir.string()) == 0);
    c.write("cpu.max", "50000 100000\n");
    CHECK(hepnn::detail::cgroup_quota_cpus(c.dir.string()) == 1);
  }
  {
    TempCgroup c;
    c.write("cpu/cpu.cfs_quota_us", "400000\n");
    c.write("cpu/cpu.cfs_period_us", "100000\n");
    CHECK(hepnn::detail::cgroup_quota_cpus(c.dir.string()) == 4);
    c.write("cpu/cpu.cfs_quota_us", "-1\n");
    CHECK(hepnn::detail::cgroup_quota_cpus(c.dir.string()) == 0);
  }
}

TEST_CASE("threads: SLURM_CPUS_PER_TASK and HEPNN_NUM_THREADS bound the default", "[core][threads]") {
  const ScopedEnv h("HEPNN_NUM_THREADS", nullptr), o("OMP_NUM_THREADS", nullptr);
  const int all = hepnn::detail::available_cpus();
  CHECK(all >= 1);
  CHECK(all <= int(std::max(1u, std::thread::hardware_concurrency())));
  {
    const ScopedEnv s("SLURM_CPUS_PER_TASK", "1");
    CHECK(hepnn::detail::available_cpus() == 1);
    CHECK(hepnn::detail::default_threads() == 1);
  }
  {
    const ScopedEnv s("SLURM_CPUS_PER_TASK", "not a number");
    CHECK(hepnn::detail::available_cpus() == all);
  }
  {
    const ScopedEnv s("HEPNN_NUM_THREADS", "3");
    CHECK(hepnn::detail::default_threads() == 3);
  }
  {
    const ScopedEnv s("OMP_NUM_THREADS", "2");
    CHECK(hepnn::detail::default_threads() == 2);
  }
}

TEST_CASE("threads: parallel_chunks runs every chunk once, from concurrent callers and nested", "[core][threads]") {
  const int saved = hepnn::num_threads();
  hepnn::set_num_threads(4);  // more threads than this machine may have: still correct
  for (int round = 0; round < 200; ++round) {
    const std::int64_t n = 1 + round * 37 % 500;
    std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
    auto f = [&](std::int64_t c) { hits[std::size_t(c)].fetch_add(1); };
    // the pool itself with 4 threads (parallel_chunks may use fewer on a busy machine)
    // every other round "hot" (inference): the threads wait for the next region without sleeping
    hepnn::backend::cpu::detail::ChunkPool::instance().run(4, n, f, round % 2 == 1);
    for (std::int64_t c = 0; c < n; ++c) REQUIRE(hits[std::size_t(c)].exchange(0) == 1);
    hepnn::backend::cpu::parallel_chunks(n, 1e12, f);
    for (std::int64_t c = 0; c < n; ++c) REQUIRE(hits[std::size_t(c)].load() == 1);
  }
  // four threads of the user's event loop at once (the pool serves one; the others run alone)
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int round = 0; round < 100; ++round) {
        std::vector<std::atomic<int>> hits(300);
        auto f = [&](std::int64_t c) { hits[std::size_t(c)].fetch_add(1); };
        hepnn::backend::cpu::detail::ChunkPool::instance().run(3, 300, f, round % 2 == 0);
        for (auto& h : hits) wrong += h.load() != 1;
      }
    });
  for (auto& t : callers) t.join();
  CHECK(wrong.load() == 0);
  // a region inside a region runs on the calling thread
  std::atomic<std::int64_t> inner{0};
  auto outer = [&](std::int64_t) {
    auto g = [&](std::int64_t c) { inner += c; };
    hepnn::backend::cpu::detail::ChunkPool::instance().run(2, 10, g);
  };
  hepnn::backend::cpu::detail::ChunkPool::instance().run(2, 8, outer);
  CHECK(inner.load() == 8 * 45);
  // an exception in a chunk reaches the caller, and the pool works afterwards
  auto thrower = [&](std::int64_t c) {
    if (c == 13) throw std::runtime_error("chunk 13");
  };
  CHECK_THROWS_AS(hepnn::backend::cpu::detail::ChunkPool::instance().run(2, 64, thrower), std::runtime_error);
  CHECK_THROWS_AS(hepnn::backend::cpu::detail::ChunkPool::instance().run(2, 64, thrower, /*hot=*/true), std::runtime_error);
  std::atomic<std::int64_t> sum{0};
  hepnn::backend::cpu::parallel_chunks(100, 1e12, [&](std::int64_t c) { sum += c; });
  CHECK(sum.load() == 4950);
  hepnn::set_num_threads(saved);
}
