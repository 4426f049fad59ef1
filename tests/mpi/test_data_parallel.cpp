/// @file tests/mpi/test_data_parallel.cpp
/// @brief Data-parallel Model::fit over MPI, run by ctest as `mpiexec -n 2` (every rank runs
/// every case; a case's collectives happen in the same order on each rank).
///
/// The truth: N ranks with per-rank batch b train the model that one process trains with batch
/// N b (docs/distributed.md), to double rounding: each rank here also trains the one-process
/// reference itself, without a communicator. All ranks end with bitwise the same weights.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>

#include "hepnn/hepnn.hpp"
#include "hepnn/io.hpp"
#include "hepnn/mpi.hpp"

using namespace hepnn;
using Catch::Contains;

namespace {
mpi::Communicator* world = nullptr;

template <class T>
data::NamedDataset<T> toy(std::int64_t n, unsigned seed, bool negative_weights) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g;
  std::uniform_real_distribution<double> u(0.2, 1.5);
  Tensor<T, cpu> x(Shape{n, 6}), y(Shape{n, 1}), w(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < 6; ++j) x(i, j) = T(g(rng));
    y(i, 0) = x(i, 0) + 0.5 * x(i, 1) * x(i, 2) > 0.3 ? T(1) : T(0);
    w(i) = T(u(rng));
    if (negative_weights && i % 7 == 3) w(i) = T(-0.3);  // NLO-like negative weights; the sum stays positive
  }
  std::map<std::string, Tensor<T, cpu>> in, tg;
  in.emplace("x", std::move(x));
  tg.emplace("p", std::move(y));
  return data::NamedDataset<T>(std::move(in), std::move(tg), std::move(w));
}

template <class T>
Model<T, cpu> mlp(bool batchnorm_dropout = false) {
  auto in = Input{"x", {6}};
  SymbolicTensor h = Dense{16, Activation::tanh}(in);
  if (batchnorm_dropout) h = Dropout{0.2}(BatchNormalization{}(h));
  h = Dense{8, Activation::relu}(h);
  auto out = Dense{.units = 1, .name = "p"}(h);
  Model<T, cpu> m{{in}, {out}};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true},
             .optimizer = Adam{.learning_rate = 1e-2},
             .metrics = {metrics::AUC{}},
             .seed = 11});
  return m;
}

// rank 0's values on every rank, compared bitwise with this rank's
template <class T>
bool same_on_all_ranks(const std::vector<T>& mine) {
  std::vector<T> root = mine;
  world->broadcast(root.data(), std::int64_t(root.size()), 0);
  std::int64_t differs = root == mine ? 0 : 1;
  world->allreduce_max(&differs, 1);
  return differs == 0;
}

double max_rel(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i])));
  return m;
}
}  // namespace

TEST_CASE("data-parallel fit: N ranks with batch b train as one process with batch N b", "[mpi]") {
  const int N = world->size();
  REQUIRE(N >= 2);
  // 203 events: the last batch is short and splits unevenly; 193 = 6 * 32 + 1 with 2 ranks: one
  // rank has no event in the last step and must still take part in it
  const std::int64_t n = GENERATE(203, 193);
  const bool negative = GENERATE(false, true);
  CAPTURE(n, negative);
  const auto train = toy<double>(n, 5, negative), val = toy<double>(71, 6, false);
  const std::int64_t b = 16;

  auto reference = mlp<double>();
  const History href = reference.fit(train, {.epochs = 3, .batch_size = N * b, .validation = val, .verbose = 0});

  auto model = mlp<double>();
  if (world->rank() != 0)  // other ranks start from other weights: fit takes rank 0's
    for (auto& v : model.parameters()) v = 0.5 * v + 0.01;
  const History h = model.fit(train, {.epochs = 3, .batch_size = b, .validation = val, .verbose = 0,
                                      .communicator = world});

  const std::vector<double> got = model.parameters().to_vector(), want = reference.parameters().to_vector();
  CHECK(max_rel(got, want) < 1e-12);
  CHECK(same_on_all_ranks(got));
  for (const char* key : {"loss", "auc", "val_loss", "val_auc"}) {
    CAPTURE(key);
    CHECK(max_rel(h[key], href[key]) < 1e-12);
    CHECK(same_on_all_ranks(h[key]));
  }
  CHECK(model.optimizer().iterations() == reference.optimizer().iterations());
  // the step is not the one-process step with batch b (the test can tell the two apart)
  auto small = mlp<double>();
  small.fit(train, {.epochs = 3, .batch_size = b, .verbose = 0});
  CHECK(max_rel(small.parameters().to_vector(), want) > 1e-6);
}

TEST_CASE("data-parallel fit in float with BatchNormalization and Dropout: the ranks stay identical", "[mpi]") {
  const auto train = toy<float>(512, 9, false);
  auto model = mlp<float>(true);
  const History h = model.fit(train, {.epochs = 2, .batch_size = 32, .validation_split = 0.25, .verbose = 0,
                                      .communicator = world});
  CHECK(same_on_all_ranks(model.parameters().to_vector()));
  CHECK(same_on_all_ranks(model.core().state.to_vector()));  // the moving statistics, averaged over the ranks
  for (double v : h["val_loss"]) CHECK(std::isfinite(v));
  CHECK(h["loss"].back() < h["loss"].front());
}

// Dense -> BatchNormalization over 16 features, and Reshape (4, 4) -> BatchNormalization over 4
// channels of 4 elements each (the conv layout), both synchronized or not, and Dropout
Model<double, cpu> bn_model(bool synchronized) {
  auto in = Input{"x", {6}};
  // (no bias before a normalisation: its gradient is zero but for rounding, which Adam's
  // g / sqrt(v) would turn into steps of the learning rate's size)
  SymbolicTensor h = BatchNormalization{.momentum = 0.9, .synchronized = synchronized}(
      Dense{.units = 16, .use_bias = false}(in));
  h = Flatten{}(BatchNormalization{.momentum = 0.8, .center = false, .synchronized = synchronized}(
      Reshape{{4, 4}}(Dense{.units = 16, .activation = Activation::tanh, .use_bias = false}(h))));
  auto out = Dense{.units = 1, .name = "p"}(Dropout{0.25}(Dense{8, Activation::relu}(h)));
  Model<double, cpu> m{{in}, {out}};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true},
             .optimizer = Adam{.learning_rate = 1e-2},
             .metrics = {metrics::AUC{}},
             .seed = 3});
  return m;
}

TEST_CASE("synchronized BatchNormalization and Dropout: N ranks with batch b train as one process with batch N b",
          "[mpi]") {
  const int N = world->size();
  // 193 = 6 * 32 + 1 with 2 ranks: in the last step one rank has no event and takes part anyway
  const std::int64_t n = GENERATE(203, 193);
  CAPTURE(n);
  const auto train = toy<double>(n, 8, true), val = toy<double>(50, 4, false);
  const std::int64_t b = 16;
  auto reference = bn_model(true);  // alone, synchronized changes nothing
  const History href = reference.fit(train, {.epochs = 2, .batch_size = N * b, .validation = val, .verbose = 0});
  const std::vector<double> want = reference.parameters().to_vector(), want_state = reference.state().to_vector();

  auto model = bn_model(true);
  const History h = model.fit(train, {.epochs = 2, .batch_size = b, .validation = val, .verbose = 0,
                                      .communicator = world});
  CHECK(max_rel(model.parameters().to_vector(), want) < 1e-12);
  CHECK(max_rel(model.state().to_vector(), want_state) < 1e-12);  // the moving statistics too
  CHECK(max_rel(h["loss"], href["loss"]) < 1e-12);
  CHECK(max_rel(h["val_loss"], href["val_loss"]) < 1e-12);
  CHECK(same_on_all_ranks(model.parameters().to_vector()));
  CHECK(same_on_all_ranks(model.state().to_vector()));

  // per-rank statistics (synchronized = false) train another model: the test tells them apart
  auto local = bn_model(false);
  local.fit(train, {.epochs = 2, .batch_size = b, .verbose = 0, .communicator = world});
  CHECK(max_rel(local.parameters().to_vector(), want) > 1e-6);
}

namespace {
// Forwards to the world's communicator and records the sums: "s<n>" started (a gradient bucket),
// "a<n>" summed at once (a loss, synchronized BatchNormalization), "w" wait_all.
class Recorder final : public Communicator {
 public:
  explicit Recorder(Communicator& c) : c(c) {}
  std::vector<std::string> log;
  int rank() const override { return c.rank(); }
  int size() const override { return c.size(); }
  void allreduce_sum(float* d, std::int64_t n) override { note("a", n), c.allreduce_sum(d, n); }
  void allreduce_sum(double* d, std::int64_t n) override { note("a", n), c.allreduce_sum(d, n); }
  void allreduce_max(std::int64_t* d, std::int64_t n) override { c.allreduce_max(d, n); }
  void broadcast(float* d, std::int64_t n, int root) override { c.broadcast(d, n, root); }
  void broadcast(double* d, std::int64_t n, int root) override { c.broadcast(d, n, root); }
  void broadcast(std::int64_t* d, std::int64_t n, int root) override { c.broadcast(d, n, root); }
  std::string description() const override { return "recorder over " + c.description(); }
  void start_allreduce_sum(float* d, std::int64_t n) override { note("s", n), c.start_allreduce_sum(d, n); }
  void start_allreduce_sum(double* d, std::int64_t n) override { note("s", n), c.start_allreduce_sum(d, n); }
  void progress() override { c.progress(); }
  void wait_all() override { note("w", -1), c.wait_all(); }

 private:
  void note(const char* what, std::int64_t n) { log.push_back(n < 0 ? what : what + std::to_string(n)); }
  Communicator& c;
};

// Gradients that become final out of their order in memory: a layer called twice (its first call
// comes first in the graph, so its gradient is complete only at the end of the backward pass), a
// model used as a layer twice, a synchronized BatchNormalization (sums inside the backward pass)
// and Dropout.
struct BucketNet {
  std::unique_ptr<Model<double, cpu>> enc, net;
};
BucketNet bucket_net() {
  BucketNet m;
  auto e = Input{"e", {16}};
  m.enc.reset(new Model<double, cpu>{{e}, {Dense{5, Activation::tanh}(Dense{12, Activation::relu}(e))}, "encoder"});
  auto in = Input{"x", {6}};
  Dense shared{8, Activation::tanh};
  SymbolicTensor h = Concatenate{}({shared(in), shared(Dense{6, Activation::relu}(in))});
  h = BatchNormalization{.synchronized = true}(Dense{.units = 16, .use_bias = false}(h));
  h = Concatenate{}({(*m.enc)(h), (*m.enc)(Dense{16, Activation::elu}(h))});
  auto out = Dense{.units = 1, .name = "p"}(Dropout{0.2}(Dense{8, Activation::relu}(h)));
  m.net.reset(new Model<double, cpu>{{in}, {out}});
  m.net->compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 5});
  return m;
}
}  // namespace

TEST_CASE("gradient buckets: summed during the backward pass, the training of one process with batch N b",
          "[mpi]") {
  const int N = world->size();
  const std::int64_t n = GENERATE(203, 193);  // 193: a rank with no event in the last step
  CAPTURE(n);
  const auto train = toy<double>(n, 12, true), val = toy<double>(40, 13, false);
  const std::int64_t b = 16;
  auto reference = bucket_net();
  const History href = reference.net->fit(train, {.epochs = 2, .batch_size = N * b, .validation = val, .verbose = 0});
  const std::vector<double> want = reference.net->parameters().to_vector();
  const std::vector<double> want_enc = reference.enc->parameters().to_vector();
  std::vector<double> after_backward;  // bucket_bytes = 0: one sum after the pass
  for (const std::int64_t bytes : {std::int64_t(0), std::int64_t(1), std::int64_t(600), std::int64_t(256) << 10}) {
    CAPTURE(bytes);
    auto m = bucket_net();
    Recorder rec(*world);
    const History h = m.net->fit(train, {.epochs = 2, .batch_size = b, .validation = val, .verbose = 0,
                                         .communicator = &rec, .bucket_bytes = bytes});
    const std::vector<double> got = m.net->parameters().to_vector();
    CHECK(max_rel(got, want) < 1e-12);
    CHECK(max_rel(m.enc->parameters().to_vector(), want_enc) < 1e-12);
    CHECK(max_rel(h["loss"], href["loss"]) < 1e-12);
    CHECK(max_rel(h["val_loss"], href["val_loss"]) < 1e-12);
    CHECK(same_on_all_ranks(got));
    // each element is summed once over the same two ranks however it is grouped: bitwise the same
    if (bytes == 0) after_backward = got;
    if (N == 2) CHECK(got == after_backward);
    // the order of the sums in a step: with buckets, some start before the backward sum of the
    // batch normalisation (2 * 16 + 1 values), i.e. while the backward pass is still going on
    const auto bn_backward = std::find(rec.log.begin(), rec.log.end(), "a33");
    REQUIRE(bn_backward != rec.log.end());
    const auto first_start = std::find_if(rec.log.begin(), rec.log.end(), [](const std::string& s) { return s[0] == 's'; });
    if (bytes == 0) {
      CHECK(first_start == rec.log.end());
    } else if (bytes == 1) {
      CHECK(first_start < bn_backward);
      const std::int64_t started = std::count_if(rec.log.begin(), std::find(rec.log.begin(), rec.log.end(), "w"),
                                                 [](const std::string& s) { return s[0] == 's'; });
      CHECK(started >= 8);  // one per layer with weights, at least, in the first step
    } else {
      CHECK(first_start != rec.log.end());
    }
  }
}

TEST_CASE("data-parallel fit: ranks that disagree get the same clear error, and no rank hangs", "[mpi]") {
  const auto train = toy<double>(100, 5, false);
  SECTION("batch size") {
    auto model = mlp<double>();
    const std::int64_t b = world->rank() == 1 ? 8 : 16;
    CHECK_THROWS_WITH(model.fit(train, {.epochs = 1, .batch_size = b, .verbose = 0, .communicator = world}),
                      Contains("rank 1 has batch_size 8, rank 0 has 16") && Contains("same model, data and options"));
  }
  SECTION("training data") {
    auto model = mlp<double>();
    auto mine = toy<double>(100, world->rank() == 1 ? 77 : 5, false);
    CHECK_THROWS_WITH(model.fit(mine, {.epochs = 1, .batch_size = 16, .verbose = 0, .communicator = world}),
                      Contains("rank 1 has training data (fingerprint of the values)"));
  }
  SECTION("the model") {
    auto in = Input{"x", {6}};
    auto out = Dense{.units = 1, .name = "p"}(Dense{world->rank() == 1 ? 9 : 16}(in));
    Model<double, cpu> model{{in}, {out}};
    model.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{}});
    CHECK_THROWS_WITH(model.fit(train, {.epochs = 1, .batch_size = 16, .verbose = 0, .communicator = world}),
                      Contains("rank 1 has number of trainable parameters 73, rank 0 has 129"));
  }
  // after the errors, the ranks still train together
  auto model = mlp<double>();
  CHECK_NOTHROW(model.fit(train, {.epochs = 1, .batch_size = 16, .verbose = 0, .communicator = world}));
}

TEST_CASE("data-parallel fit: callbacks decide alike, rank 0 writes the files", "[mpi]") {
  const auto train = toy<double>(256, 5, false), val = toy<double>(64, 6, false);
  const std::string csv = "mpi_test_log.csv", ckpt = "mpi_test_ckpt.h5";
  auto model = mlp<double>();
  const History h = model.fit(train, {.epochs = 40, .batch_size = 16, .validation = val,
                                      .callbacks = {EarlyStopping{.patience = 1}, CSVLogger{csv},
                                                    io::FunctionalModelCheckpoint<double>{.model = &model, .filepath = ckpt}},
                                      .verbose = 0, .communicator = world});
  CHECK(same_on_all_ranks(std::vector<double>{double(h.epochs.size())}));
  CHECK(h.epochs.size() < 40);  // stopped early, on every rank at the same epoch
  std::int64_t lines = 0;
  {
    std::ifstream in(csv);
    for (std::string l; std::getline(in, l);) ++lines;
  }
  CHECK(lines == std::int64_t(h.epochs.size()) + 1);  // one writer: a header and one row per epoch
  auto back = io::load_functional_model<double>(ckpt);
  CHECK(back.parameters().to_vector() == model.parameters().to_vector());
  world->allreduce_max(&lines, 1);  // every rank has read the files before rank 0 removes them
  if (world->rank() == 0) {
    std::remove(csv.c_str());
    std::remove(ckpt.c_str());
  }
}

TEST_CASE("data-parallel fit: resuming from a checkpoint with the same ranks gives bitwise the same weights", "[mpi]") {
  const auto train = toy<double>(211, 5, true), val = toy<double>(50, 6, false);
  ModelFitOptions<double> o{.epochs = 4, .batch_size = 16, .validation = val, .verbose = 0, .communicator = world};
  auto full = mlp<double>();
  full.fit(train, o);
  const std::string ck = "mpi_test_resume.h5";
  {
    auto first = mlp<double>();
    o.epochs = 2;
    first.fit(train, o);  // the checkpoint callback writes on rank 0: here rank 0 saves by hand
    if (world->rank() == 0) io::save_model(first, ck, {.epoch = 1});
  }
  std::int64_t sync = 0;
  world->allreduce_max(&sync, 1);  // the file is complete before any rank reads it
  auto resumed = mlp<double>();
  REQUIRE(io::load_checkpoint(resumed, ck) == 2);
  o.epochs = 4;
  o.initial_epoch = 2;
  resumed.fit(train, o);
  CHECK(resumed.parameters().to_vector() == full.parameters().to_vector());
  CHECK(resumed.optimizer().iterations() == full.optimizer().iterations());
  // a rank that did not load the checkpoint (another optimizer step count) is refused by name
  auto fresh = mlp<double>();
  if (world->rank() == 0) io::load_checkpoint(fresh, ck);
  CHECK_THROWS_WITH(fresh.fit(train, o), Contains("optimizer steps taken"));
  world->allreduce_max(&sync, 1);
  if (world->rank() == 0) std::remove(ck.c_str());
}

TEST_CASE("data-parallel streaming: each rank reads its shard of the HDF5 file", "[mpi]") {
  // Without shuffling, step k trains rows [k b, (k + 1) b) of every rank's shard: one process
  // trains the same steps on the rows in that order with batch N b. 197 rows: shards of 98 and
  // 99, a last step of 2 + 3 events; 101 rows with b = 25: shards of 50 and 51, and in the last
  // step only rank 1 has an event (rank 0 steps with zero gradients).
  const int N = world->size();
  const auto [n, b] = GENERATE(std::pair<std::int64_t, std::int64_t>{197, 16}, std::pair<std::int64_t, std::int64_t>{101, 25});
  CAPTURE(n, b);
  const auto all = toy<double>(n, 8, true), val = toy<double>(40, 6, false);
  const std::string path = "mpi_test_stream_" + std::to_string(n) + ".h5";
  if (world->rank() == 0) io::write_named_dataset(path, all);
  std::int64_t sync = 0;
  world->allreduce_max(&sync, 1);  // the file is written before any rank opens it

  std::vector<std::int64_t> order;
  for (std::int64_t k = 0; std::int64_t(order.size()) < n; ++k)
    for (int r = 0; r < N; ++r) {
      const std::int64_t first = n * r / N, rows = n * (r + 1) / N - first;
      for (std::int64_t i = k * b; i < std::min((k + 1) * b, rows); ++i) order.push_back(first + i);
    }
  // with synchronized BatchNormalization and Dropout: each rank's part of the step's statistics and masks
  auto reference = bn_model(true);
  const History href = reference.fit(all.subset(order), {.epochs = 2, .batch_size = N * b, .shuffle = false,
                                                         .validation = val, .verbose = 0});

  io::NamedStreamingSource<double> shard(path, {.shard = world->rank(), .shards = N});
  CHECK(shard.size() == n * (world->rank() + 1) / N - n * world->rank() / N);
  auto model = bn_model(true);
  const History h = model.fit(shard, {.epochs = 2, .batch_size = b, .shuffle = false, .validation = val,
                                      .verbose = 0, .communicator = world});
  CHECK(max_rel(model.parameters().to_vector(), reference.parameters().to_vector()) < 1e-12);
  CHECK(same_on_all_ranks(model.parameters().to_vector()));
  for (const char* key : {"loss", "val_loss", "val_auc"}) {
    CAPTURE(key);
    CHECK(max_rel(h[key], href[key]) < 1e-12);
  }
  // shuffled, the shards still make one model on every rank
  auto shuffled = mlp<double>();
  shuffled.fit(shard, {.epochs = 2, .batch_size = b, .verbose = 0, .communicator = world});
  CHECK(same_on_all_ranks(shuffled.parameters().to_vector()));
  world->allreduce_max(&sync, 1);
  if (world->rank() == 0) std::remove(path.c_str());
}

TEST_CASE("streaming shards: a shard that does not exist is refused", "[mpi]") {
  const std::string path = "mpi_test_shards.h5";
  if (world->rank() == 0) io::write_named_dataset(path, toy<double>(10, 1, false));
  std::int64_t sync = 0;
  world->allreduce_max(&sync, 1);
  CHECK_THROWS_WITH((io::NamedStreamingSource<double>(path, {.shard = 2, .shards = 2})),
                    Contains("shard 2 of 2 does not exist"));
  CHECK_THROWS_WITH((io::NamedStreamingSource<double>(path, {.shard = 0, .shards = 0})), Contains("shard 0 of 0"));
  world->allreduce_max(&sync, 1);
  if (world->rank() == 0) std::remove(path.c_str());
}

int main(int argc, char** argv) {
  return mpi::run(argc, argv, [&](mpi::Communicator& comm) {
    world = &comm;
    if (comm.rank() == 0) std::printf("hepnn MPI tests on %s\n", comm.description().c_str());
    Catch::Session session;
    const int rc = session.applyCommandLine(argc, argv);
    if (rc != 0) return rc;
    int failed = session.run();
    std::int64_t any = failed;
    comm.allreduce_max(&any, 1);  // a case that failed on one rank fails the test
    return int(std::min<std::int64_t>(any, 255));
  });
}
