// Streaming from HDF5 files larger than the reader's memory budget: every event exactly once
// per epoch, a reproducible shuffled order, the buffers' peak within the budget, training that
// matches in-memory training bitwise, and the out-of-core shuffle.
#include <catch2/catch.hpp>

#include <algorithm>

#include "hepnn/io/data_file.hpp"
#include "hepnn/io/streaming.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/train/sequential.hpp"
#include "io/io_support.hpp"

using namespace hepnn;
using test_io::TempDir;

namespace {
constexpr std::int64_t kRows = 20000, kCols = 8;
/// Row i: features i*10 + j, target i % 2, weight 1 + (i % 3).
data::Dataset<float> numbered() {
  Tensor<float, cpu> x(Shape{kRows, kCols}), y(Shape{kRows, 1}), w(Shape{kRows});
  for (std::int64_t i = 0; i < kRows; ++i) {
    for (std::int64_t j = 0; j < kCols; ++j) x(i, j) = float(i * 10 + j);
    y(i, 0) = float(i % 2);
    w(i) = float(1 + i % 3);
  }
  return data::Dataset<float>(std::move(x), std::move(y), std::move(w));
}
/// The event of row i of a batch of numbered() rows, after checking that the row stayed whole:
/// every column, the target and the weight belong to the same event.
std::int64_t event_of(const data::Dataset<float>& b, std::int64_t i) {
  const auto id = std::int64_t(b.features()(i, 0)) / 10;
  for (std::int64_t j = 0; j < kCols; ++j) REQUIRE(b.features()(i, j) == float(id * 10 + j));
  REQUIRE(b.targets()(i, 0) == float(id % 2));
  REQUIRE(b.weights()(i) == float(1 + id % 3));
  return id;
}
std::vector<std::int64_t> ids_of_epoch(io::StreamingSource<float>& s, int epoch, bool shuffle, std::int64_t bs) {
  std::vector<std::int64_t> ids;
  data::Dataset<float> b;
  s.start_epoch(epoch, shuffle);
  while (s.next(bs, b))
    for (std::int64_t i = 0; i < b.size(); ++i) ids.push_back(event_of(b, i));
  return ids;
}
bool is_permutation_of_all(std::vector<std::int64_t> ids) {
  std::sort(ids.begin(), ids.end());
  if (std::int64_t(ids.size()) != kRows) return false;
  for (std::int64_t i = 0; i < kRows; ++i)
    if (ids[std::size_t(i)] != i) return false;
  return true;
}
}  // namespace

TEST_CASE("streaming: a file 5x the memory budget streams every event once, within the budget", "[io][streaming]") {
  TempDir dir;
  const std::string p = dir.file("big.h5");
  io::write_dataset(p, numbered());
  const std::int64_t data_bytes = kRows * (kCols + 2) * std::int64_t(sizeof(float));  // 800 kB
  const std::int64_t budget = data_bytes / 5;
  io::StreamingSource<float> s(p, {.weights = "weights", .memory_budget_bytes = budget, .window_chunks = 4,
                                   .prefetch_chunks = 2, .seed = 3});
  CHECK(s.size() == kRows);
  CHECK(s.sum_of_weights() == Approx(double(kRows) * 2).epsilon(1e-4));  // weights 1, 2, 3 in turn
  CHECK(s.chunk_rows() * 20 < kRows);

  const auto e0 = ids_of_epoch(s, 0, true, 64);
  CHECK(is_permutation_of_all(e0));
  CHECK_FALSE(std::is_sorted(e0.begin(), e0.end()));
  const auto e1 = ids_of_epoch(s, 1, true, 64);
  CHECK(is_permutation_of_all(e1));
  CHECK(e0 != e1);
  // reproducible: the order depends on the seed and the epoch only
  io::StreamingSource<float> again(p, {.weights = "weights", .memory_budget_bytes = budget, .seed = 3});
  CHECK(ids_of_epoch(again, 1, true, 64) == e1);
  // without shuffling, file order
  const auto plain = ids_of_epoch(s, 2, false, 100);
  CHECK(std::is_sorted(plain.begin(), plain.end()));
  CHECK(is_permutation_of_all(plain));
  // the peak of all row buffers stayed within the budget (and was not trivially small)
  INFO("peak " << s.buffer_bytes_peak() << " bytes of a budget of " << budget);
  CHECK(s.buffer_bytes_peak() <= budget);
  CHECK(s.buffer_bytes_peak() > budget / 4);
  // a batch larger than the data in a window still respects the budget
  CHECK(is_permutation_of_all(ids_of_epoch(s, 3, true, 100000)));
  CHECK(s.buffer_bytes_peak() <= budget);
}

TEST_CASE("streaming: chunks start at the file's storage chunks; buffers and batches are reused", "[io][streaming]") {
  TempDir dir;
  const std::string p = dir.file("stored.h5");
  const std::int64_t n = 5000, cols = kCols;  // rows as numbered() makes them
  {
    std::vector<float> x(static_cast<std::size_t>(n * cols)), y(static_cast<std::size_t>(n)),
        w(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) x[std::size_t(i * cols + j)] = float(i * 10 + j);
      y[std::size_t(i)] = float(i % 2);
      w[std::size_t(i)] = float(1 + i % 3);
    }
    io::h5::File f(p, io::h5::File::Mode::create);  // storage chunks of 100 rows, checksummed
    f.write<float>("features", {n, cols}, x.data(), 100);
    f.write<float>("targets", {n}, y.data(), 100);
    f.write<float>("weights", {n}, w.data(), 100);
    CHECK(f.chunk_rows("features") == 100);
  }
  // 40-byte rows; 2 prefetched + 2 x 4 window chunks of 250 rows fit the budget: rounded down
  // to whole storage chunks, 200
  const std::int64_t budget = 250 * 10 * 40;
  io::StreamingSource<float> s(p, {.memory_budget_bytes = budget, .seed = 5});
  CHECK(s.chunk_rows() == 200);
  auto epoch = [&](io::StreamingSource<float>& src, int e, bool shuffle) {
    std::vector<std::int64_t> ids;
    data::Dataset<float> b;
    const float* previous = nullptr;
    int reused = 0;
    src.start_epoch(e, shuffle);
    while (src.next(64, b)) {
      reused += b.features().data() == previous;
      previous = b.features().data();
      for (std::int64_t i = 0; i < b.size(); ++i) ids.push_back(event_of(b, i));
    }
    CHECK(reused > 0);  // batches of equal size are written into the same tensors
    std::sort(ids.begin(), ids.end());
    CHECK(std::int64_t(ids.size()) == src.size());
    CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
    return ids;
  };
  for (int e = 0; e < 4; ++e) epoch(s, e, e != 2);
  // at most 2 prefetched + 4 window chunk buffers, read into again from epoch to epoch, and one
  // batch: less than the budget's 2 + 2 x 4 chunks (the window is not copied into one block)
  INFO("peak " << s.buffer_bytes_peak());
  CHECK(s.buffer_bytes_peak() <= (2 + 4) * 200 * 40 + 64 * 40);
  CHECK(s.buffer_bytes_peak() >= 3 * 200 * 40);
  // a shard that starts inside a storage chunk keeps the budget's chunk size
  io::StreamingSource<float> shard(p, {.memory_budget_bytes = budget, .shard = 1, .shards = 3});
  CHECK(shard.chunk_rows() == 250);
  const auto ids = epoch(shard, 0, true);
  CHECK(ids.front() == n / 3);
  CHECK(ids.back() == 2 * n / 3 - 1);
}

TEST_CASE("streaming: fit and evaluate on a stream match the in-memory data set", "[io][streaming]") {
  TempDir dir;
  const std::string p = dir.file("train.h5");
  const std::int64_t n = 4000;
  Tensor<float, cpu> x(Shape{n, 3}), y(Shape{n, 1}), w(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) {
    float s = 0;
    for (int j = 0; j < 3; ++j) s += (x(i, j) = float(philox_uniform(2, 0, std::uint64_t(i * 3 + j))) - 0.5f) * float(j + 1);
    y(i, 0) = s > 0 ? 1.f : 0.f;
    w(i) = 0.5f + float(i % 4);
  }
  const data::Dataset<float> d(std::move(x), std::move(y), std::move(w));
  io::write_dataset(p, d);
  auto make = [] {
    Sequential<float> m(Input{3}, Dense{8, Activation::tanh}, Dense{1, Activation::sigmoid});
    m.compile({.loss = BinaryCrossEntropy{}, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 4});
    return m;
  };
  // one chunk per window and batches that divide the chunks: the stream in file order gives
  // exactly the batches of the in-memory fit without shuffling
  const std::int64_t row_bytes = 5 * sizeof(float);
  io::StreamingSource<float> s(p, {.weights = "weights", .memory_budget_bytes = 400 * 3 * row_bytes,
                                   .window_chunks = 1, .prefetch_chunks = 1});
  REQUIRE(s.chunk_rows() == 400);
  auto streamed = make(), memory = make();
  streamed.fit(s, {.epochs = 3, .batch_size = 50, .shuffle = false, .verbose = 0});
  memory.fit(d, {.epochs = 3, .batch_size = 50, .shuffle = false, .verbose = 0});
  CHECK(streamed.parameters().to_vector() == memory.parameters().to_vector());
  CHECK(streamed.evaluate(s).at("loss") == Approx(memory.evaluate(d).at("loss")).epsilon(1e-5));
  // shuffled streaming training learns too
  auto shuffled = make();
  const History h = shuffled.fit(s, {.epochs = 5, .batch_size = 50, .validation = d, .verbose = 0});
  CHECK(h["val_loss"].back() < h["val_loss"].front());
  CHECK_THROWS_AS(shuffled.fit(s, {.epochs = 1, .validation_split = 0.1, .verbose = 0}), Error);
}

TEST_CASE("streaming: the out-of-core shuffle rewrites a file in random order, rows intact", "[io][streaming]") {
  TempDir dir;
  io::write_dataset(dir.file("in.h5"), numbered());
  const int buckets = io::shuffle_file<float>(dir.file("in.h5"), dir.file("out.h5"),
                                              {.weights = "weights", .memory_budget_bytes = 160000, .seed = 5});
  CHECK(buckets >= 4);
  io::StreamingSource<float> s(dir.file("out.h5"), {.weights = "weights", .memory_budget_bytes = 1 << 20});
  const auto ids = ids_of_epoch(s, 0, false, 1000);  // file order of the shuffled file; rows checked whole
  CHECK(is_permutation_of_all(ids));
  // random order: the first tenth of the output holds about a tenth of the first tenth of the input
  std::int64_t early = 0;
  for (std::int64_t i = 0; i < kRows / 10; ++i) early += ids[std::size_t(i)] < kRows / 10;
  CHECK(early > 100);
  CHECK(early < 350);  // 200 expected; the input order would give 2000
  // no temporary files are left
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) files += e.is_regular_file() ? 1 : 0;
  CHECK(files == 2);
}

TEST_CASE("streaming: weights come from the file's recorded roles by default", "[io][streaming]") {
  TempDir dir;
  io::write_dataset(dir.file("d.h5"), numbered(), {.features = "x", .targets = "y", .weights = "w"});
  double expected = 0;
  for (std::int64_t i = 0; i < kRows; ++i) expected += double(1 + i % 3);
  io::StreamingSource<float> s(dir.file("d.h5"), {});
  CHECK(s.sum_of_weights() == expected);
  CHECK(ids_of_epoch(s, 0, true, 700).size() == std::size_t(kRows));  // rows checked whole, weights too
  io::StreamingSource<float> u(dir.file("d.h5"), {.ignore_weights = true});
  CHECK(u.sum_of_weights() == double(kRows));
  // the shuffle keeps the weights and records the roles of its output
  io::shuffle_file<float>(dir.file("d.h5"), dir.file("s.h5"), {.memory_budget_bytes = 160000});
  io::StreamingSource<float> t(dir.file("s.h5"), {});
  CHECK(t.sum_of_weights() == expected);
  CHECK(is_permutation_of_all(ids_of_epoch(t, 0, false, 1000)));
  CHECK(io::read_dataset<float>(dir.file("s.h5")).sum_of_weights() == expected);
  // roles stored as columns cannot be streamed: said clearly
  {
    io::h5::File f(dir.file("cols.h5"), io::h5::File::Mode::create);
    f.write<float>("a", {2}, std::vector<float>{1, 2}.data());
    f.write<float>("t", {2}, std::vector<float>{0, 1}.data());
    f.write_text_attribute("/", "hepnn_roles", R"({"features": ["a"], "targets": "t"})");
    f.close();
  }
  CHECK_THROWS_WITH(io::StreamingSource<float>(dir.file("cols.h5"), {}), Catch::Contains("columns"));
}

TEST_CASE("streaming: bad options and files raise errors", "[io][streaming]") {
  TempDir dir;
  io::write_dataset(dir.file("d.h5"), numbered());
  CHECK_THROWS_WITH(io::StreamingSource<float>(dir.file("d.h5"), {.memory_budget_bytes = 100}),
                    Catch::Contains("memory budget"));
  CHECK_THROWS_WITH(io::StreamingSource<float>(dir.file("d.h5"), {.targets = "nope"}), Catch::Contains("'nope'"));
  io::StreamingSource<float> s(dir.file("d.h5"), {});
  data::Dataset<float> b;
  CHECK_THROWS_WITH(s.next(10, b), Catch::Contains("start_epoch"));
}
