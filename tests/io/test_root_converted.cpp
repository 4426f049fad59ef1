// Files made by tools/root_to_hdf5.py from a ROOT file that uproot wrote: hepnn reads them back
// complete by default (features, targets and event weights from the hepnn_roles attribute), and
// the padded jagged group reads as an N-D tensor with its length column. The two files in
// tests/golden/data are rewritten by `tools/test_root_to_hdf5.py --write-golden`, which also checks
// in CI that they are what the converter makes today. Event i of the ROOT file holds:
//   x1 = 0.25 i - 2, x2 = i^2 / 8, nj = i % 4, label = i % 2, w = -0.5 if i % 5 == 0 else 1 + i / 8,
//   trk_pt[j] = 10 i + j + 0.5 and trk_eta[j] = -j / 4 for j < (7 i) % 9; converted with --max-len 6.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "hepnn/io/data_file.hpp"
#include "hepnn/io/streaming.hpp"

using namespace hepnn;

namespace {
const std::string golden_dir = HEPNN_GOLDEN_DIR;
constexpr std::int64_t n_events = 20;
double weight_of(std::int64_t i) { return i % 5 == 0 ? -0.5 : 1.0 + 0.125 * double(i); }
}  // namespace

TEST_CASE("root files: a converted file reads back complete by default, weights included", "[io][root]") {
  const std::string path = golden_dir + "/root_converted.h5";
  const auto d = io::read_dataset<float>(path);
  REQUIRE(d.size() == n_events);
  REQUIRE(d.features().shape() == Shape{n_events, 3});
  REQUIRE(d.targets().shape() == Shape{n_events, 1});
  REQUIRE(d.weighted());
  for (std::int64_t i = 0; i < n_events; ++i) {
    INFO("event " << i);
    CHECK(d.features()(i, 0) == float(0.25 * double(i) - 2));
    CHECK(d.features()(i, 1) == float(double(i * i) / 8));
    CHECK(d.features()(i, 2) == float(i % 4));
    CHECK(d.targets()(i, 0) == float(i % 2));
    CHECK(d.weights()(i) == float(weight_of(i)));
  }
  CHECK(d.weights()(0) < 0.0f);

  // the jagged group: (N, max_len, branches) padded with 0, and min(length, max_len)
  const io::h5::File f(path, io::h5::File::Mode::read);
  const Tensor<float, cpu> tracks = io::read_tensor<float>(f, "tracks");
  const Tensor<double, cpu> lengths = io::read_tensor<double>(f, "tracks_length");
  REQUIRE(tracks.shape() == Shape{n_events, 6, 2});
  REQUIRE(lengths.shape() == Shape{n_events});
  for (std::int64_t i = 0; i < n_events; ++i) {
    const std::int64_t len = (7 * i) % 9;
    CHECK(lengths(i) == double(std::min<std::int64_t>(len, 6)));
    for (std::int64_t j = 0; j < 6; ++j) {
      INFO("event " << i << ", track " << j);
      CHECK(tracks(i, j, 0) == (j < len ? float(10 * i + j) + 0.5f : 0.0f));
      CHECK(tracks(i, j, 1) == (j < len ? -0.25f * float(j) : 0.0f));
    }
  }
}

TEST_CASE("root files: a file converted with --matrix streams with its weights by default", "[io][root]") {
  const std::string path = golden_dir + "/root_converted_matrix.h5";
  const auto d = io::read_dataset<double>(path);
  REQUIRE(d.features().shape() == Shape{n_events, 3});
  REQUIRE(d.weighted());
  io::StreamingSource<float> s(path, {.memory_budget_bytes = 1 << 20});
  REQUIRE(s.size() == n_events);
  double sum = 0.0;
  for (std::int64_t i = 0; i < n_events; ++i) sum += weight_of(i);
  CHECK(s.sum_of_weights() == Approx(sum));
  s.start_epoch(0, false);
  data::Dataset<float> b;
  std::int64_t seen = 0;
  while (s.next(8, b)) {
    for (std::int64_t k = 0; k < b.size(); ++k) {
      // the features identify the event: x1 = 0.25 i - 2
      const auto i = std::int64_t((b.features()(k, 0) + 2.0f) * 4.0f + 0.5f);
      INFO("event " << i);
      CHECK(b.features()(k, 1) == float(double(i * i) / 8));
      CHECK(b.targets()(k, 0) == float(i % 2));
      CHECK(b.weights()(k) == float(weight_of(i)));
    }
    seen += b.size();
  }
  CHECK(seen == n_events);
}
