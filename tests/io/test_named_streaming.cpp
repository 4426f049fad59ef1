// Named data in HDF5 for functional models: read_named_dataset and write_named_dataset (round
// trip, datasets and 1-D columns mapped by name, errors that name the file and dataset), and
// NamedStreamingSource (every event once per epoch with its inputs, targets and weight kept
// together, a reproducible order, the memory budget). Training: a two-input two-output Model
// streamed from a file equals the same fit in memory bitwise, and a one-input Model streamed from
// io::StreamingSource equals the Sequential of the same layers on the same stream bitwise.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "hepnn/hepnn.hpp"
#include "hepnn/io/named_data.hpp"
#include "hepnn/io/streaming.hpp"
#include "io/io_support.hpp"

using namespace hepnn;
using Catch::Contains;
using test_io::TempDir;

namespace {
using Tensors = data::NamedDataset<double>::Tensors;

/// Event i: jet(i, j) = 100 i + j, tracks(i, k, c) = 100 i + 10 k + c + 0.5, cls = i % 2,
/// reg = i / 1000, weight 1 + i % 3: every value says which event it belongs to.
data::NamedDataset<double> numbered(std::int64_t n) {
  Tensor<double> jet(Shape{n, 4}), trk(Shape{n, 5, 3}), cls(Shape{n, 1}), reg(Shape{n, 1}), w(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) jet(i, j) = double(100 * i + j);
    for (std::int64_t k = 0; k < 5; ++k)
      for (std::int64_t c = 0; c < 3; ++c) trk.data()[(i * 5 + k) * 3 + c] = double(100 * i + 10 * k + c) + 0.5;
    cls(i, 0) = double(i % 2);
    reg(i, 0) = double(i) / 1000;
    w(i) = double(1 + i % 3);
  }
  Tensors in, tg;
  in.emplace("jet", std::move(jet));
  in.emplace("tracks", std::move(trk));
  tg.emplace("cls", std::move(cls));
  tg.emplace("reg", std::move(reg));
  return data::NamedDataset<double>(std::move(in), std::move(tg), std::move(w));
}

/// The event ids of one epoch of s, each event checked whole.
std::vector<std::int64_t> ids_of_epoch(io::NamedStreamingSource<double>& s, int epoch, bool shuffle, std::int64_t bs) {
  std::vector<std::int64_t> ids;
  data::NamedDataset<double> b;
  s.start_epoch(epoch, shuffle);
  while (s.next(bs, b)) {
    REQUIRE(b.size() <= bs);
    const auto& jet = b.inputs().at("jet");
    const auto& trk = b.inputs().at("tracks");
    REQUIRE(trk.shape() == Shape{b.size(), 5, 3});
    for (std::int64_t i = 0; i < b.size(); ++i) {
      const auto id = std::int64_t(jet(i, 0)) / 100;
      for (std::int64_t j = 0; j < 4; ++j) REQUIRE(jet(i, j) == double(100 * id + j));
      for (std::int64_t k = 0; k < 5; ++k)
        for (std::int64_t c = 0; c < 3; ++c)
          REQUIRE(trk.data()[(i * 5 + k) * 3 + c] == double(100 * id + 10 * k + c) + 0.5);
      REQUIRE(b.targets().at("cls")(i, 0) == double(id % 2));
      REQUIRE(b.targets().at("reg")(i, 0) == double(id) / 1000);
      REQUIRE(b.weights()(i) == double(1 + id % 3));
      ids.push_back(id);
    }
  }
  return ids;
}

bool all_once(std::vector<std::int64_t> ids, std::int64_t n) {
  std::sort(ids.begin(), ids.end());
  if (std::int64_t(ids.size()) != n) return false;
  for (std::int64_t i = 0; i < n; ++i)
    if (ids[std::size_t(i)] != i) return false;
  return true;
}

Model<double, cpu> tagger() {
  auto jet = Input{"jet", {4}};
  auto trk = Input{"tracks", {5, 3}};
  auto h = Dense{6, Activation::tanh}(jet);
  auto t = Flatten{}(Dense{2, Activation::tanh}(trk));
  auto z = Concatenate{}({h, t});
  Model<double, cpu> m{{jet, trk}, {Dense{.units = 1, .name = "cls"}(z), Dense{.units = 1, .name = "reg"}(z)}};
  m.compile({.optimizer = Adam{.learning_rate = 1e-3},
             .outputs = {{"cls", {.loss = BinaryCrossEntropy{.from_logits = true}}},
                         {"reg", {.loss = MeanSquaredError{}, .weight = 0.5}}},
             .seed = 5});
  return m;
}

/// The numbered inputs scaled to order 1 (the numbered values are too large to train on).
data::NamedDataset<double> trainable(std::int64_t n) {
  const auto d = numbered(n);
  Tensors in;
  for (const auto& [k, t] : d.inputs()) {
    Tensor<double> s = t.clone();
    for (auto& v : s) v = std::sin(v);
    in.emplace(k, std::move(s));
  }
  Tensors tg;
  for (const auto& [k, t] : d.targets()) tg.emplace(k, t.clone());
  return data::NamedDataset<double>(std::move(in), std::move(tg), d.weights().clone());
}
}  // namespace

TEST_CASE("named data: write_named_dataset and read_named_dataset round trip by name", "[io][named]") {
  TempDir dir;
  const auto d = numbered(50);
  Tensors ow;
  ow.emplace("reg", Tensor<double>(Shape{50}, 0.25));
  // inputs only: a file for prediction
  Tensors only;
  for (const auto& [k, t] : d.inputs()) only.emplace(k, t.clone());
  io::write_named_dataset(dir.file("in_only.h5"), data::NamedDataset<double>(std::move(only), {}));
  const auto back_in = io::read_named_dataset<double>(dir.file("in_only.h5"));
  CHECK(back_in.targets().empty());
  CHECK(back_in.inputs().at("tracks").to_vector() == d.inputs().at("tracks").to_vector());

  Tensors in, tg;
  for (const auto& [k, t] : d.inputs()) in.emplace(k, t.clone());
  for (const auto& [k, t] : d.targets()) tg.emplace(k, t.clone());
  const data::NamedDataset<double> full(std::move(in), std::move(tg), d.weights().clone(), std::move(ow));
  io::write_named_dataset(dir.file("d.h5"), full);
  const auto r = io::read_named_dataset<double>(dir.file("d.h5"));
  REQUIRE(r.size() == 50);
  for (const auto& [k, t] : full.inputs()) {
    CHECK(r.inputs().at(k).shape() == t.shape());
    CHECK(r.inputs().at(k).to_vector() == t.to_vector());
  }
  for (const auto& [k, t] : full.targets()) CHECK(r.targets().at(k).to_vector() == t.to_vector());
  CHECK(r.weights().to_vector() == full.weights().to_vector());
  CHECK(r.weights("reg").to_vector() == std::vector<double>(50, 0.25));
  CHECK(r.weights("cls").to_vector() == full.weights().to_vector());
  // unweighted on purpose: every weight 1, the output's own too
  const auto u = io::read_named_dataset<double>(dir.file("d.h5"), {.ignore_weights = true});
  CHECK(u.weights("reg").to_vector() == std::vector<double>(50, 1.0));
  // a name that cannot be a dataset path is refused before anything is written
  Tensors bad;
  bad.emplace("a/b", Tensor<double>(Shape{2, 1}, 1.0));
  CHECK_THROWS_WITH(io::write_named_dataset(dir.file("bad.h5"), data::NamedDataset<double>(std::move(bad), {})),
                    Contains("input 'a/b'"));
  CHECK_FALSE(std::filesystem::exists(dir.file("bad.h5")));
}

TEST_CASE("named data: a physicist's file maps datasets and 1-D columns to the model's names", "[io][named]") {
  TempDir dir;
  const std::int64_t n = 8;
  {
    io::h5::File f(dir.file("ntuple.h5"), io::h5::File::Mode::create);
    std::vector<float> pt(n), eta(n), label(n), evw(n), trk(std::size_t(n * 5 * 3));
    for (std::int64_t i = 0; i < n; ++i) {
      pt[std::size_t(i)] = float(10 * i);
      eta[std::size_t(i)] = float(i) / 10;
      label[std::size_t(i)] = float(i % 2);
      evw[std::size_t(i)] = i == 3 ? -0.5f : 1.5f;  // a negative event weight is data, kept as it is
    }
    for (std::size_t k = 0; k < trk.size(); ++k) trk[k] = float(k);
    f.write<float>("jet_pt", {n}, pt.data());
    f.write<float>("jet_eta", {n}, eta.data());
    f.write<float>("tracks", {n, 5, 3}, trk.data());
    f.write<float>("is_b", {n}, label.data());
    f.write<float>("mc_weight", {n}, evw.data());
    f.write<float>("short", {n - 1}, pt.data());
    f.close();
  }
  const std::string p = dir.file("ntuple.h5");
  const io::NamedDataSpec spec{.inputs = {{"jet", {.columns = {"jet_pt", "jet_eta"}}}, {"tracks", {"tracks"}}},
                               .targets = {{"cls", {"is_b"}}},
                               .weights = "mc_weight"};
  const auto d = io::read_named_dataset<double>(p, spec);
  CHECK(d.inputs().at("jet").shape() == Shape{n, 2});
  CHECK(d.inputs().at("jet")(3, 0) == 30.0);
  CHECK(d.inputs().at("jet")(3, 1) == Approx(0.3));
  CHECK(d.inputs().at("tracks").shape() == Shape{n, 5, 3});
  CHECK(d.targets().at("cls").shape() == Shape{n, 1});
  CHECK(d.weights()(3) == -0.5);
  // errors name the file, the dataset and the role
  auto with_input = [&](const std::string& name, io::Role role) {
    io::NamedDataSpec s = spec;
    s.inputs.at(name) = std::move(role);
    return s;
  };
  CHECK_THROWS_WITH(io::read_named_dataset<double>(p, with_input("tracks", {"trks"})),
                    Contains("ntuple.h5") && Contains("trks"));
  CHECK_THROWS_WITH(io::read_named_dataset<double>(p, with_input("tracks", {"short"})),
                    Contains("'short'") && Contains("7 rows") && Contains("has 8"));
  CHECK_THROWS_WITH(io::read_named_dataset<double>(p), Contains("hepnn_named_roles") && Contains("NamedDataSpec"));
  CHECK_THROWS_WITH(io::read_named_dataset<double>(p, {.targets = {{"cls", {"is_b"}}}}), Contains("without the inputs"));
  CHECK_THROWS_WITH(io::read_named_dataset<double>(p, {.inputs = spec.inputs, .targets = spec.targets,
                                                       .output_weights = {{"reg", "mc_weight"}}}),
                    Contains("output 'reg', which has no targets"));
  // streaming reads datasets, not columns: said, with the name
  CHECK_THROWS_WITH(io::NamedStreamingSource<double>(p, {.inputs = {{"jet", "jet_pt"}, {"tracks", "short"}}, .targets = {{"cls", "is_b"}}}),
                    Contains("'short'") && Contains("input 'tracks'"));
}

TEST_CASE("named streaming: every event once per epoch, whole, reproducible and within the budget", "[io][named]") {
  TempDir dir;
  const std::int64_t n = 3000;
  io::write_named_dataset(dir.file("d.h5"), numbered(n));
  const std::int64_t row_bytes = (4 + 15 + 1 + 1 + 1) * std::int64_t(sizeof(double));
  const std::int64_t budget = n * row_bytes / 5;  // the file is 5 times the budget
  io::NamedStreamingSource<double> s(dir.file("d.h5"), {.memory_budget_bytes = budget, .seed = 9});
  CHECK(s.size() == n);
  double wsum = 0;
  for (std::int64_t i = 0; i < n; ++i) wsum += double(1 + i % 3);
  CHECK(s.sum_of_weights() == wsum);
  CHECK(s.inputs() == std::map<std::string, std::string>{{"jet", "inputs/jet"}, {"tracks", "inputs/tracks"}});
  CHECK(s.chunk_rows() * 20 < n);

  const auto e0 = ids_of_epoch(s, 0, true, 64);
  CHECK(all_once(e0, n));
  CHECK_FALSE(std::is_sorted(e0.begin(), e0.end()));
  const auto e1 = ids_of_epoch(s, 1, true, 64);
  CHECK(all_once(e1, n));
  CHECK(e0 != e1);
  io::NamedStreamingSource<double> again(dir.file("d.h5"), {.memory_budget_bytes = budget, .seed = 9});
  CHECK(ids_of_epoch(again, 1, true, 64) == e1);
  const auto plain = ids_of_epoch(s, 2, false, 100);
  CHECK(std::is_sorted(plain.begin(), plain.end()));
  CHECK(all_once(plain, n));
  INFO("peak " << s.buffer_bytes_peak() << " bytes of a budget of " << budget);
  CHECK(s.buffer_bytes_peak() <= budget);
  CHECK(s.buffer_bytes_peak() > budget / 4);

  // datasets named by hand, weights left out on purpose
  io::NamedStreamingSource<double> u(dir.file("d.h5"), {.inputs = {{"jet", "inputs/jet"}, {"tracks", "inputs/tracks"}},
                                                        .targets = {{"cls", "targets/cls"}},
                                                        .ignore_weights = true});
  CHECK(u.sum_of_weights() == double(n));
  data::NamedDataset<double> b;
  u.start_epoch(0, false);
  REQUIRE(u.next(10, b));
  CHECK(b.targets().size() == 1);
  CHECK(b.weights().to_vector() == std::vector<double>(10, 1.0));
  CHECK_THROWS_WITH(io::NamedStreamingSource<double>(dir.file("d.h5"), {.memory_budget_bytes = 100}),
                    Contains("memory budget"));
}

TEST_CASE("named streaming: a two-input two-output Model trains on the stream as in memory, bitwise", "[io][named][graph]") {
  TempDir dir;
  const std::int64_t n = 600;
  const auto d = trainable(n);
  io::write_named_dataset(dir.file("t.h5"), d);
  // one chunk per window and batches that divide the chunks: the stream in file order gives
  // exactly the batches of the in-memory fit without shuffling
  const std::int64_t row_bytes = (4 + 15 + 1 + 1 + 1) * std::int64_t(sizeof(double));
  io::NamedStreamingSource<double> s(dir.file("t.h5"), {.memory_budget_bytes = 100 * 3 * row_bytes,
                                                        .window_chunks = 1, .prefetch_chunks = 1});
  REQUIRE(s.chunk_rows() == 100);
  auto streamed = tagger(), memory = tagger();
  const History hs = streamed.fit(s, {.epochs = 3, .batch_size = 50, .shuffle = false, .validation = d, .verbose = 0});
  const History hm = memory.fit(d, {.epochs = 3, .batch_size = 50, .shuffle = false, .validation = d, .verbose = 0});
  CHECK(streamed.parameters().to_vector() == memory.parameters().to_vector());
  for (const char* key : {"loss", "cls_loss", "reg_loss", "val_loss", "val_cls_loss"}) {
    INFO(key);
    REQUIRE(hs[key].size() == 3);
    for (std::size_t e = 0; e < 3; ++e) CHECK(hs[key][e] == Approx(hm[key][e]).epsilon(1e-12));
  }
  const Logs es = streamed.evaluate(s), em = memory.evaluate(d);
  CHECK(es.at("loss") == Approx(em.at("loss")).epsilon(1e-12));
  CHECK(es.at("reg_loss") == Approx(em.at("reg_loss")).epsilon(1e-12));
  // shuffled streaming training learns
  auto shuffled = tagger();
  const History h = shuffled.fit(s, {.epochs = 4, .batch_size = 32, .validation = d, .verbose = 0});
  CHECK(h["val_loss"].back() < h["val_loss"].front());
  // what a stream cannot do, or a stream that does not fit the model, is said
  CHECK_THROWS_WITH(shuffled.fit(s, {.epochs = 1, .validation_split = 0.1, .verbose = 0}), Contains("cannot be split"));
  io::NamedStreamingSource<double> wrong(dir.file("t.h5"), {.inputs = {{"jet", "inputs/jet"}, {"trk", "inputs/tracks"}},
                                                            .targets = {{"cls", "targets/cls"}, {"reg", "targets/reg"}}});
  CHECK_THROWS_WITH(shuffled.fit(wrong, {.epochs = 1, .verbose = 0}),
                    Contains("batch 1") && Contains("no data for input 'tracks'"));
}

TEST_CASE("named streaming: a one-input Model on io::StreamingSource trains bitwise like the Sequential", "[io][named][graph]") {
  TempDir dir;
  const std::int64_t n = 1000;
  Tensor<double> x(Shape{n, 3}), y(Shape{n, 1}), w(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int j = 0; j < 3; ++j) s += (x(i, j) = philox_uniform(4, 0, std::uint64_t(i * 3 + j)) - 0.5) * double(j + 1);
    y(i, 0) = s > 0 ? 1.0 : 0.0;
    w(i) = i % 5 == 0 ? -0.25 : 1.0;  // some negative weights, as from NLO generators
  }
  io::write_dataset(dir.file("d.h5"), data::Dataset<double>(std::move(x), std::move(y), std::move(w)));
  const io::StreamOptions so{.memory_budget_bytes = 40000, .window_chunks = 2, .seed = 8};
  io::StreamingSource<double> s1(dir.file("d.h5"), so), s2(dir.file("d.h5"), so);
  Sequential<double> seq(Input{3}, Dense{8, Activation::tanh}, Dense{1, Activation::sigmoid});
  seq.compile({.loss = BinaryCrossEntropy{}, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 4});
  auto in = Input{3};
  auto out = Dense{1, Activation::sigmoid}(Dense{8, Activation::tanh}(in));
  Model<double, cpu> model{{in}, {out}};
  model.compile({.loss = BinaryCrossEntropy{}, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 4});
  REQUIRE(model.parameters().to_vector() == seq.parameters().to_vector());
  const History hs = seq.fit(s1, {.epochs = 3, .batch_size = 40, .verbose = 0});
  const History hm = model.fit(s2, {.epochs = 3, .batch_size = 40, .verbose = 0});
  CHECK(model.parameters().to_vector() == seq.parameters().to_vector());
  CHECK(hm["loss"] == hs["loss"]);
  CHECK(model.evaluate(s2).at("loss") == seq.evaluate(s1).at("loss"));
  // a model with two inputs cannot take a BatchSource: it is told to stream by name
  auto a = Input{"a", {3}}, b = Input{"b", {3}};
  Model<double, cpu> two{{a, b}, {Dense{1}(Concatenate{}({a, b}))}};
  two.compile({});
  CHECK_THROWS_WITH(two.fit(s1, {.verbose = 0}), Contains("2 inputs") && Contains("NamedStreamingSource"));
}

TEST_CASE("named streaming: a file with weights of one output is not streamed silently without them", "[io][named]") {
  TempDir dir;
  const auto d = numbered(20);
  Tensors in, tg, ow;
  for (const auto& [k, t] : d.inputs()) in.emplace(k, t.clone());
  for (const auto& [k, t] : d.targets()) tg.emplace(k, t.clone());
  ow.emplace("reg", Tensor<double>(Shape{20}, 2.0));
  io::write_named_dataset(dir.file("ow.h5"), data::NamedDataset<double>(std::move(in), std::move(tg), {}, std::move(ow)));
  CHECK_THROWS_WITH(io::NamedStreamingSource<double>(dir.file("ow.h5"), {}), Contains("weights of output 'reg'"));
  io::NamedStreamingSource<double> s(dir.file("ow.h5"), {.ignore_weights = true});
  CHECK(s.sum_of_weights() == 20.0);
}
