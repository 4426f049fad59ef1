/// @file tests/graph/test_model_infer.cpp
/// @brief Model's allocation-free predict over spans with a Workspace: equal (bitwise) to predict
/// on the same batch, with input transforms; one event at a time through a reused workspace,
/// on several threads with one workspace each, equal to the single-threaded run; errors that
/// name the input, the event and the element.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <thread>

#include "hepnn/hepnn.hpp"
#include "support/gradcheck.hpp"

using namespace hepnn;
using Catch::Contains;
using hepnn::test::random_tensor;

namespace {
using Tensors = std::map<std::string, Tensor<float>>;
}

TEST_CASE("Model Workspace predict: two inputs, two outputs, per event and per thread", "[graph][threads]") {
  std::mt19937 rng(4);
  const std::int64_t n = 300;
  auto jet = Input{"jet", {4}};
  auto trk = Input{"tracks", {3, 2}};
  auto z = Concatenate{}({Dense{8, Activation::relu}(jet), Flatten{}(Dense{3, Activation::tanh}(trk))});
  Model<float, cpu> m{{jet, trk}, {Dense{.units = 1, .name = "cls"}(z), Dense{.units = 2, .name = "reg"}(z)}};
  m.compile({.optimizer = Adam{}, .seed = 3});
  Tensor<float> xj = random_tensor<float>(rng, Shape{n, 4}, 0.0, 10.0), xt = random_tensor<float>(rng, Shape{n, 3, 2});
  m.set_input_transform("jet", data::fit_standardization(xj));
  {
    Tensors in, tg;
    in.emplace("jet", xj.clone());
    in.emplace("tracks", xt.clone());
    tg.emplace("cls", random_tensor<float>(rng, Shape{n, 1}));
    tg.emplace("reg", random_tensor<float>(rng, Shape{n, 2}));
    m.fit(data::NamedDataset<float>(std::move(in), std::move(tg)), {.epochs = 1, .batch_size = 50, .verbose = 0});
  }
  const auto& cm = m;
  const auto ref = cm.predict({{"jet", xj}, {"tracks", xt}});
  const std::span<const float> sj(xj.data(), std::size_t(xj.size())), st(xt.data(), std::size_t(xt.size()));

  // all events at once: the batch of predict, so the same bits
  Model<float, cpu>::Workspace ws;
  std::vector<float> cls(n), reg(2 * n);
  cm.predict({sj, st}, {std::span<float>(cls), std::span<float>(reg)}, ws);
  CHECK(cls == ref.at("cls").to_vector());
  CHECK(reg == ref.at("reg").to_vector());

  // one event at a time, through the same workspace, and on 3 threads with one workspace each
  auto per_event = [&](Model<float, cpu>::Workspace& w, std::vector<float>& c, std::vector<float>& r) {
    for (std::int64_t i = 0; i < n; ++i)
      cm.predict({sj.subspan(std::size_t(i * 4), 4), st.subspan(std::size_t(i * 6), 6)},
                 {std::span<float>(c).subspan(std::size_t(i), 1), std::span<float>(r).subspan(std::size_t(2 * i), 2)}, w);
  };
  std::vector<float> c1(n), r1(2 * n);
  per_event(ws, c1, r1);
  auto near = [](const std::vector<float>& a, const std::vector<float>& b) {
    for (std::size_t k = 0; k < a.size(); ++k)
      if (std::abs(a[k] - b[k]) > 1e-5f * (1 + std::abs(b[k]))) return false;
    return true;
  };
  CHECK(near(c1, ref.at("cls").to_vector()));
  CHECK(near(r1, ref.at("reg").to_vector()));
  std::vector<std::vector<float>> cs(3, std::vector<float>(n)), rs(3, std::vector<float>(2 * n));
  std::vector<std::thread> pool;
  for (int t = 0; t < 3; ++t)
    pool.emplace_back([&, t] {
      Model<float, cpu>::Workspace mine;
      per_event(mine, cs[std::size_t(t)], rs[std::size_t(t)]);
    });
  for (auto& th : pool) th.join();
  for (int t = 0; t < 3; ++t) {
    CHECK(cs[std::size_t(t)] == c1);
    CHECK(rs[std::size_t(t)] == r1);
  }

  // what does not fit is said, with the input, event and element
  std::vector<float> small(3);
  CHECK_THROWS_WITH(cm.predict({sj}, {std::span<float>(cls)}, ws), Contains("1 input and 1 output spans") && Contains("jet, tracks"));
  CHECK_THROWS_WITH(cm.predict({sj.first(8), st.first(6)}, {std::span<float>(small), std::span<float>(reg)}, ws),
                    Contains("input 'tracks' has 6 values; 2 events of (3, 2) need 12"));
  CHECK_THROWS_WITH(cm.predict({sj.first(8), st.first(12)}, {std::span<float>(small), std::span<float>(reg).first(4)}, ws),
                    Contains("room for 3 values of output 'cls'"));
  std::vector<float> bad(sj.begin(), sj.begin() + 8);
  bad[6] = std::nanf("");
  CHECK_THROWS_WITH(cm.predict({std::span<const float>(bad), st.first(12)}, {std::span<float>(cls).first(2), std::span<float>(reg).first(4)}, ws),
                    Contains("input 'jet' value nan of event 1 (element 2) is not finite"));
  CHECK_THROWS_WITH(cm.predict(sj, std::span<float>(cls), ws), Contains("1 input and 1 output spans"));
}

TEST_CASE("Model: Sequential's convenience calls fit(x, y, w) and evaluate(x, y, w) for one input and one output", "[graph]") {
  std::mt19937 rng(2);
  const Tensor<double> x = random_tensor<double>(rng, Shape{64, 3}), y = random_tensor<double>(rng, Shape{64, 1}),
                       w = random_tensor<double>(rng, Shape{64}, 0.5, 1.5);
  auto make = [] {
    auto in = Input{"x", {3}};
    Model<double, cpu> m{{in}, {Dense{.units = 1, .name = "y"}(Dense{4, Activation::tanh}(in))}};
    m.compile({.optimizer = SGD{.learning_rate = 0.05}, .seed = 6});
    return m;
  };
  auto a = make(), b = make();
  std::map<std::string, Tensor<double>> xi, yi;
  xi.emplace("x", x.clone());
  yi.emplace("y", y.clone());
  const data::NamedDataset<double> d(std::move(xi), std::move(yi), w.clone());
  a.fit(x, y, w, {.epochs = 2, .batch_size = 16, .verbose = 0});
  b.fit(d, {.epochs = 2, .batch_size = 16, .verbose = 0});
  CHECK(a.parameters().to_vector() == b.parameters().to_vector());
  CHECK(a.evaluate(x, y, &w).at("loss") == b.evaluate(d).at("loss"));
  auto jet = Input{"jet", {3}}, trk = Input{"trk", {3}};
  Model<double, cpu> two{{jet, trk}, {Dense{1}(Add{}({jet, trk}))}};
  two.compile({});
  CHECK_THROWS_WITH(two.fit(x, y, {.verbose = 0}), Contains("2 inputs and 1 outputs; give the data by name"));
}

TEST_CASE("Model Workspace predict: one input and one output", "[graph]") {
  std::mt19937 rng(8);
  auto in = Input{5};
  Model<double, cpu> m{{in}, {Dense{3}(Dense{7, Activation::softplus}(in))}};
  const Tensor<double> x = random_tensor<double>(rng, Shape{40, 5});
  const Tensor<double> ref = m.predict(x);
  Model<double, cpu>::Workspace ws;
  std::vector<double> out(120);
  m.predict(std::span<const double>(x.data(), 200), std::span<double>(out), ws);
  CHECK(out == ref.to_vector());
  std::vector<double> none;
  m.predict(std::span<const double>(), std::span<double>(none), ws);  // no events: nothing to do
}

TEST_CASE("Model predict in row chunks: equal to event-by-event, with 1 and 2 threads", "[graph][threads]") {
  // More than backend::cpu::inference_chunk_rows events go through the graph chunk by chunk
  // (GraphCore::forward_inference): each call reads and writes its chunk's rows of the batch's
  // tensors and its part of the call's workspace. Here: a model used as a layer twice (its inner
  // arena is the call's workspace), an LSTM (a workspace of its own), Dense on a rank-3 input
  // and a merge. One event at a time takes the plain pass; the chunked pass must agree with it to
  // float rounding (bitwise for the Dense-only output), and bitwise between 1 and 2 threads.
  std::mt19937 rng(12);
  const std::int64_t n = 8 * backend::cpu::inference_chunk_rows + 29;
  auto x = Input{"x", {6}};
  // wide enough (5k parameters) for the pass to be split over 2 threads (parallel_chunks' minimum work)
  Model<float, cpu> enc{
      {x}, {Dense{8, Activation::tanh}(Dense{64, Activation::tanh}(Dense{64, Activation::relu}(x)))}, "encoder"};
  auto jet = Input{"jet", {6}};
  auto other = Input{"other", {6}};
  auto trk = Input{"tracks", {5, 3}};
  auto dense_only = Dense{.units = 2, .name = "dense_only"}(Concatenate{}({enc(jet), enc(other)}));
  auto seq = LSTM{.units = 4}(Dense{3, Activation::tanh}(trk));
  auto mixed = Dense{.units = 1, .name = "mixed"}(Concatenate{}({seq, Flatten{}(Dense{2}(trk)), enc(jet)}));
  Model<float, cpu> m{{jet, other, trk}, {dense_only, mixed}};
  m.compile({.optimizer = Adam{}, .seed = 5});
  const Tensor<float> xj = random_tensor<float>(rng, Shape{n, 6}), xo = random_tensor<float>(rng, Shape{n, 6}),
                      xt = random_tensor<float>(rng, Shape{n, 5, 3});
  const std::span<const float> sj(xj.data(), std::size_t(xj.size())), so(xo.data(), std::size_t(xo.size())),
      st(xt.data(), std::size_t(xt.size()));
  const auto& cm = m;
  Model<float, cpu>::Workspace ws;
  std::vector<float> d1(static_cast<std::size_t>(2 * n)), m1(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    cm.predict({sj.subspan(std::size_t(6 * i), 6), so.subspan(std::size_t(6 * i), 6), st.subspan(std::size_t(15 * i), 15)},
               {std::span<float>(d1).subspan(std::size_t(2 * i), 2), std::span<float>(m1).subspan(std::size_t(i), 1)}, ws);
  std::vector<float> d[2], mx[2];
  const int before = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    d[threads - 1].assign(std::size_t(2 * n), -1.0f);
    mx[threads - 1].assign(std::size_t(n), -1.0f);
    cm.predict({sj, so, st}, {std::span<float>(d[threads - 1]), std::span<float>(mx[threads - 1])}, ws);
  }
  set_num_threads(before);
  CHECK(d[0] == d[1]);
  CHECK(mx[0] == mx[1]);
  CHECK(d[1] == d1);  // Dense and Concatenate only: the fused Dense kernel is row-exact
  double worst = 0;
  for (std::int64_t i = 0; i < n; ++i)
    worst = std::max(worst, double(std::abs(mx[1][std::size_t(i)] - m1[std::size_t(i)])) / (1.0 + std::abs(m1[std::size_t(i)])));
  CHECK(worst < 1e-6);
  // and predict on tensors (batches of 1024 by default, so chunked too) gives the same bits
  const auto ref = cm.predict({{"jet", xj}, {"other", xo}, {"tracks", xt}});
  CHECK(ref.at("dense_only").to_vector() == d[1]);
  CHECK(ref.at("mixed").to_vector() == mx[1]);
}
