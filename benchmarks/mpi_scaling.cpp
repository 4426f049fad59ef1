// Data-parallel scaling over MPI (docs/distributed.md): run under mpirun with 1, 2, ... ranks.
//  1. The all-reduce time against message size (float sums, hepnn::mpi::Communicator, rank 0's
//     median over repetitions, each repetition a fixed number of calls after a barrier).
//  2. Data-parallel Model::fit throughput, events per second over all ranks, for the
//     784-500-300-10 MLP of issue 18 (batch 128 per rank) and the 5-64-64-1 classifier of tutorial
//     02 (batch 256 per rank) on synthetic data (learnable labels), with the time per step spent in the gradient
//     all-reduce (a timing wrapper around the communicator).
//     With --bucket-bytes B > 0 (default 0, ModelFitOptions' default: one sum after the backward pass)
//     the sums start bucket by bucket during the backward pass, and the time counted is that of the
//     start, progress and wait calls: the communication the step does not hide.
//   usage: mpirun -np N mpi_scaling [--epochs E] [--events N] [--max-bytes B] [--threads T] [--bucket-bytes B]
// Machine-readable lines start with ALLREDUCE or FIT; benchmarks/mpi.sh collects them.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "hepnn/hepnn.hpp"
#include "hepnn/mpi.hpp"
#include "timing.hpp"

using namespace hepnn;
using Clock = std::chrono::steady_clock;

namespace {
// Passes every call to the MPI communicator and adds up the seconds spent in the float
// all-reduces (the gradients; the losses and counts go in double).
class TimedCommunicator final : public Communicator {
 public:
  explicit TimedCommunicator(mpi::Communicator& c) : c(c) {}
  int rank() const override { return c.rank(); }
  int size() const override { return c.size(); }
  void allreduce_sum(float* d, std::int64_t n) override {
    timed([&] { c.allreduce_sum(d, n); });
    ++grad_calls;
  }
  void allreduce_sum(double* d, std::int64_t n) override { c.allreduce_sum(d, n); }
  // the gradient buckets started during the backward pass: the time of the calls themselves and
  // of the wait after the pass (what the communication adds to the step, not its whole duration)
  void start_allreduce_sum(float* d, std::int64_t n) override {
    timed([&] { c.start_allreduce_sum(d, n); });
    ++grad_calls;
  }
  void start_allreduce_sum(double* d, std::int64_t n) override { c.start_allreduce_sum(d, n); }
  void progress() override { timed([&] { c.progress(); }); }
  void wait_all() override { timed([&] { c.wait_all(); }); }
  void allreduce_max(std::int64_t* d, std::int64_t n) override { c.allreduce_max(d, n); }
  void broadcast(float* d, std::int64_t n, int root) override { c.broadcast(d, n, root); }
  void broadcast(double* d, std::int64_t n, int root) override { c.broadcast(d, n, root); }
  void broadcast(std::int64_t* d, std::int64_t n, int root) override { c.broadcast(d, n, root); }
  std::string description() const override { return c.description(); }
  double grad_seconds = 0;
  std::int64_t grad_calls = 0;

 private:
  template <class F>
  void timed(F&& f) {
    const auto t0 = Clock::now();
    f();
    grad_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  mpi::Communicator& c;
};

data::NamedDataset<float> synthetic(std::int64_t n, std::int64_t features, std::int64_t classes, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::normal_distribution<float> g(0.f, 1.f);
  Tensor<float, cpu> x(Shape{n, features}), y(Shape{n, 1});
  for (std::int64_t i = 0; i < x.size(); ++i) x.data()[i] = u(rng);
  // learnable labels: the largest of `classes` fixed random projections of the centred features
  // (random labels would drive the weights into denormal floats, which slow every product)
  std::vector<float> proj(static_cast<std::size_t>(classes * features));
  for (auto& v : proj) v = g(rng);
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t best = 0;
    float best_v = -1e30f;
    for (std::int64_t c = 0; c < classes; ++c) {
      float v = 0;
      for (std::int64_t j = 0; j < features; ++j) v += proj[std::size_t(c * features + j)] * (x(i, j) - 0.5f);
      if (classes == 2) v = c == 0 ? 0.f : v;  // two classes: the sign of one projection
      if (v > best_v) best_v = v, best = c;
    }
    y(i, 0) = float(best);
  }
  std::map<std::string, Tensor<float, cpu>> xs, ys;
  xs.emplace("x", std::move(x));
  ys.emplace("y", std::move(y));
  return data::NamedDataset<float>(std::move(xs), std::move(ys));
}

struct Workload {
  std::string name;
  std::int64_t features, classes, batch;
  std::vector<std::int64_t> hidden;
};

void fit_benchmark(mpi::Communicator& world, const Workload& w, std::int64_t events, int epochs,
                   std::int64_t bucket_bytes) {
  const auto train = synthetic(events, w.features, w.classes, 3);
  auto in = Input{"x", {w.features}};
  SymbolicTensor h = in;
  for (auto u : w.hidden) h = Dense{u, Activation::relu}(h);
  Model<float, cpu> model{{in}, {Dense{.units = w.classes == 2 ? 1 : w.classes, .name = "y"}(h)}};
  if (w.classes == 2) model.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{}, .seed = 1});
  else model.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{}, .seed = 1});
  TimedCommunicator timed(world);
  std::vector<double> epoch_s;
  Clock::time_point t0;
  double grad_s0 = 0;
  std::vector<double> grad_s;
  LambdaCallback clock{.on_epoch_begin = [&](int, TrainingControl&) {
                         t0 = Clock::now();
                         grad_s0 = timed.grad_seconds;
                       },
                       .on_epoch_end = [&](int, const Logs&, TrainingControl&) {
                         epoch_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
                         grad_s.push_back(timed.grad_seconds - grad_s0);
                       }};
  model.fit(train, {.epochs = epochs, .batch_size = w.batch, .callbacks = {clock}, .verbose = 0,
                    .communicator = &timed, .bucket_bytes = bucket_bytes});
  // epoch 1 warms up; the median of the others (all when there is one)
  if (epoch_s.size() > 1) {
    epoch_s.erase(epoch_s.begin());
    grad_s.erase(grad_s.begin());
  }
  const int N = world.size();
  const double steps = double((events + N * w.batch - 1) / (N * w.batch));
  const double t = bench::median(epoch_s), g = bench::median(grad_s);
  if (world.rank() == 0)
    std::printf("FIT model=%s ranks=%d threads=%d batch_per_rank=%lld bucket_bytes=%lld params=%lld events=%lld "
                "samples_per_s=%.0f step_ms=%.4f allreduce_ms_per_step=%.4f allreduce_fraction=%.3f\n",
                w.name.c_str(), N, num_threads(), static_cast<long long>(w.batch), static_cast<long long>(bucket_bytes),
                static_cast<long long>(model.parameters().size()), static_cast<long long>(events), double(events) / t,
                1e3 * t / steps, 1e3 * g / steps, g / t);
}
}  // namespace

int main(int argc, char** argv) {
  int epochs = 4, threads = 1;
  std::int64_t events = 60000, max_bytes = std::int64_t(64) << 20, bucket_bytes = ModelFitOptions<float>{}.bucket_bytes;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--epochs") epochs = std::atoi(argv[i + 1]);
    else if (a == "--events") events = std::atoll(argv[i + 1]);
    else if (a == "--max-bytes") max_bytes = std::atoll(argv[i + 1]);
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--bucket-bytes") bucket_bytes = std::atoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  return mpi::run(argc, argv, [&](mpi::Communicator& world) {
    set_num_threads(threads);
    if (world.rank() == 0) std::printf("# %s, %d thread(s) per rank\n", world.description().c_str(), threads);
    // 1. all-reduce time against message size
    for (std::int64_t bytes = 64; bytes <= max_bytes; bytes *= 4) {
      const std::int64_t n = bytes / 4;
      std::vector<float> buf(static_cast<std::size_t>(n), 1.0f);
      const std::int64_t calls = std::clamp<std::int64_t>((std::int64_t(16) << 20) / bytes, 3, 2000);
      std::vector<double> t;
      for (int rep = 0; rep < 7; ++rep) {
        double sync = 0;
        world.allreduce_sum(&sync, 1);
        const auto t0 = Clock::now();
        for (std::int64_t c = 0; c < calls; ++c) world.allreduce_sum(buf.data(), n);
        t.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / double(calls));
      }
      const double s = bench::median(t);
      if (world.rank() == 0)
        std::printf("ALLREDUCE ranks=%d bytes=%lld median_us=%.2f algbw_GBps=%.3f\n", world.size(),
                    static_cast<long long>(bytes), 1e6 * s, double(bytes) / s / 1e9);
    }
    // 2. data-parallel fit
    fit_benchmark(world, {"mlp784", 784, 10, 128, {500, 300}}, events, epochs, bucket_bytes);
    fit_benchmark(world, {"tutorial02", 5, 2, 256, {64, 64}}, std::max<std::int64_t>(events, 200000), epochs,
                  bucket_bytes);
  });
}
