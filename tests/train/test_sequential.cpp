// Sequential: training converges, runs are reproducible, errors name what was wrong, callbacks
// and the progress display behave, and const predict is thread-safe.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/dropout.hpp"
#include "hepnn/layers/flatten.hpp"
#include "hepnn/train/sequential.hpp"

using namespace hepnn;

namespace {

Tensor<double> xor_inputs() { return Tensor<double>(Shape{4, 2}, {0, 0, 0, 1, 1, 0, 1, 1}); }
Tensor<double> xor_targets() { return Tensor<double>(Shape{4, 1}, {0, 1, 1, 0}); }

// Three Gaussian blobs in 2-D, centres on a triangle, integer labels; drawn with Philox.
template <class T>
data::Dataset<T> blobs(std::int64_t n, std::uint64_t seed) {
  Tensor<T> x(Shape{n, 2}), y(Shape{n, 1});
  const double cx[3] = {0.0, 2.5, -2.5}, cy[3] = {2.5, -1.5, -1.5};
  for (std::int64_t i = 0; i < n; ++i) {
    const int k = int(i % 3);
    x(i, 0) = T(cx[k] + philox_normal(seed, 7, 2 * std::uint64_t(i)));
    x(i, 1) = T(cy[k] + philox_normal(seed, 7, 2 * std::uint64_t(i) + 1));
    y(i, 0) = T(k);
  }
  return data::Dataset<T>(std::move(x), std::move(y));
}

Sequential<float, cpu> mlp_with_dropout() {
  return Sequential<float, cpu>{Input{2}, Dense{32}, ReLU{}, Dropout{0.3}, Dense{32, Activation::tanh}, Dense{3}};
}

}  // namespace

TEST_CASE("sequential: learns XOR", "[train]") {
  Sequential<double, cpu> m{Input{2}, Dense{8, Activation::tanh}, Dense{1}};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 0.05},
             .metrics = {metrics::Accuracy{}}, .seed = 3});
  History h = m.fit(xor_inputs(), xor_targets(), {.epochs = 400, .batch_size = 4, .verbose = 0});
  REQUIRE(h["loss"].size() == 400);
  CHECK(h["loss"].back() < 0.05);
  CHECK(h["accuracy"].back() == 1.0);
  const Tensor<double> p = m.predict(xor_inputs());
  CHECK(p(0, 0) < 0);  // logits: class 0
  CHECK(p(1, 0) > 0);
  CHECK(p(2, 0) > 0);
  CHECK(p(3, 0) < 0);
}

TEST_CASE("sequential: separates Gaussian blobs with dropout and validation", "[train]") {
  auto d = blobs<float>(3000, 11).shuffled(5);
  auto s = d.split({.validation = 0.2, .test = 0.2});
  auto m = mlp_with_dropout();
  m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-2},
             .metrics = {metrics::Accuracy{}}});
  History h = m.fit(s.train, {.epochs = 10, .batch_size = 64, .validation = s.validation, .verbose = 0});
  REQUIRE(h.contains("val_loss"));
  REQUIRE(h.contains("val_accuracy"));
  CHECK(h["loss"].back() < h["loss"].front());
  // The blobs overlap little (centres ~4.3 sigma apart): the Bayes accuracy is above 98%.
  const Logs test = m.evaluate(s.test);
  CHECK(test.at("accuracy") > 0.96);
  CHECK(test.at("loss") < 0.15);
}

TEST_CASE("sequential: evaluate is the exact weighted mean of per-event losses", "[train]") {
  Sequential<double, cpu> m{Input{2}, Dense{1}};
  m.compile({.loss = MeanSquaredError{}});
  Tensor<double> x(Shape{3, 2}, {1, 2, 3, 4, 5, 6}), y(Shape{3, 1}, {1, 0, -1}), w(Shape{3}, {2, -0.5, 1});
  const Tensor<double> p = m.predict(x);
  double num = 0, den = 0;
  for (int i = 0; i < 3; ++i) {
    num += w(i) * (p(i, 0) - y(i, 0)) * (p(i, 0) - y(i, 0));
    den += w(i);
  }
  const data::Dataset<double> d(x.clone(), y.clone(), w.clone());
  CHECK(m.evaluate(d).at("loss") == Approx(num / den).epsilon(1e-12));
}

TEST_CASE("sequential: model gradients match finite differences", "[train]") {
  Sequential<double, cpu> m{Input{3}, Dense{4, Activation::gelu}, Dense{5}, ELU{}, Dense{2}};
  m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .seed = 9});
  Tensor<double> x(Shape{6, 3}), y(Shape{6, 1}), w(Shape{6});
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 3; ++j) x(i, j) = philox_normal(1, 2, std::uint64_t(3 * i + j));
    y(i, 0) = i % 2;
    w(i) = i == 4 ? -0.3 : 0.5 + 0.1 * i;  // one negative event weight
  }
  m.loss_and_gradients(x, y, &w);
  const std::vector<double> analytic = m.gradients().to_vector();
  Tensor<double>& p = m.parameters();
  const double h = 1e-6;
  int checked = 0;
  for (std::size_t l = 0; l < m.num_layers(); ++l) {
    const std::int64_t off = m.parameter_offset(l);
    for (std::int64_t k = 0; k < m.layer(l).num_params(); ++k) {
      double& v = p.data()[off + k];
      const double keep = v;
      v = keep + h;
      const double up = m.loss_and_gradients(x, y, &w);
      v = keep - h;
      const double down = m.loss_and_gradients(x, y, &w);
      v = keep;
      const double numeric = (up - down) / (2 * h);
      INFO("layer " << m.layer(l).name() << " parameter " << k);
      CHECK(analytic[std::size_t(off + k)] == Approx(numeric).margin(1e-7).epsilon(1e-5));
      ++checked;
    }
  }
  CHECK(checked == m.num_params());
}

TEST_CASE("sequential: same seed gives bitwise-identical weights with 1 and 2 threads", "[train][determinism]") {
  auto d = blobs<float>(1000, 4);
  auto train = [&](int threads) {
    set_num_threads(threads);
    auto m = mlp_with_dropout();
    m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{}, .seed = 1234});
    m.fit(d, {.epochs = 3, .batch_size = 100, .verbose = 0});
    return m.parameters().to_vector();
  };
  const int before = num_threads();
  const std::vector<float> a = train(1), b = train(1), c = train(2), e = train(2);
  set_num_threads(before);
  CHECK(a == b);
  CHECK(c == e);
  CHECK(a == c);
  // and a different seed really gives different weights
  auto m = mlp_with_dropout();
  m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .seed = 99});
  m.fit(d, {.epochs = 1, .batch_size = 100, .verbose = 0});
  CHECK(m.parameters().to_vector() != a);
}

TEST_CASE("sequential: bad input raises hepnn::Error naming the layer and the shapes", "[train][errors]") {
  Sequential<float, cpu> m{Input{3}, Dense{.units = 4, .name = "hidden"}, Dense{1}};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true}});
  Tensor<float> x(Shape{5, 3}, 0.5f), y(Shape{5, 1}, 1.0f);

  SECTION("wrong input width") {
    Tensor<float> wide(Shape{5, 4}, 0.f);
    REQUIRE_THROWS_WITH(m.predict(wide), Catch::Contains("'hidden'") && Catch::Contains("(5, 4)") &&
                                             Catch::Contains("(3,)"));
    REQUIRE_THROWS_AS(m.fit(wide, y, {.verbose = 0}), Error);
  }
  SECTION("empty data set") {
    Tensor<float> none(Shape{0, 3}), no_y(Shape{0, 1});
    REQUIRE_THROWS_WITH(m.fit(none, no_y, {.verbose = 0}), Catch::Contains("empty"));
  }
  SECTION("weight vector of the wrong length") {
    REQUIRE_THROWS_WITH(data::Dataset<float>(x.clone(), y.clone(), Tensor<float>(Shape{4}, 1.f)),
                        Catch::Contains("weight") && Catch::Contains("(4,)") && Catch::Contains("5"));
  }
  SECTION("NaN in the inputs") {
    x(2, 1) = std::nanf("");
    REQUIRE_THROWS_WITH(m.fit(x, y, {.verbose = 0}), Catch::Contains("non-finite") && Catch::Contains("row 2") &&
                                                          Catch::Contains("column 1"));
    REQUIRE_THROWS_AS(m.predict(x), Error);
  }
  SECTION("targets that do not fit the output") {
    Tensor<float> y2(Shape{5, 2}, 0.f);
    REQUIRE_THROWS_WITH(m.fit(x, y2, {.verbose = 0}), Catch::Contains("dense_2") && Catch::Contains("(5, 2)"));
  }
  SECTION("a layer that cannot take the previous shape") {
    // (a rank-2 sample is a sequence, which Dense takes element by element; an image is not)
    REQUIRE_THROWS_WITH((Sequential<float, cpu>{Input{2, 3, 4}, Dense{4}}), Catch::Contains("dense_1") &&
                                                                             Catch::Contains("(2, 3, 4)"));
  }
  SECTION("fit before compile") {
    Sequential<float, cpu> fresh{Input{3}, Dense{1}};
    REQUIRE_THROWS_WITH(fresh.fit(x, y, {.verbose = 0}), Catch::Contains("compile"));
  }
  SECTION("labels outside the classes") {
    Sequential<float, cpu> c{Input{3}, Dense{3}};
    c.compile({.loss = CategoricalCrossEntropy{.from_logits = true}});
    Tensor<float> labels(Shape{5, 1}, {0, 1, 2, 3, 1});
    REQUIRE_THROWS_WITH(c.fit(x, labels, {.verbose = 0}), Catch::Contains("row 3") && Catch::Contains("[0, 3)"));
  }
}

TEST_CASE("sequential: a diverging loss stops training naming epoch and batch", "[train][errors]") {
  Sequential<double, cpu> m{Input{1}, Dense{1}};
  m.compile({.loss = MeanSquaredError{}, .optimizer = SGD{.learning_rate = 10.0}});
  Tensor<double> x(Shape{8, 1}), y(Shape{8, 1});
  for (int i = 0; i < 8; ++i) {
    x(i, 0) = 100.0 * i;
    y(i, 0) = 1.0;
  }
  REQUIRE_THROWS_WITH(m.fit(x, y, {.epochs = 50, .batch_size = 2, .shuffle = false, .verbose = 0}),
                      Catch::Contains("epoch") && Catch::Contains("batch") && Catch::Contains("loss became"));
}

TEST_CASE("sequential: EarlyStopping stops and restores the best weights", "[train][callbacks]") {
  auto d = blobs<double>(600, 2);
  auto s = d.split({.validation = 0.5});
  Sequential<double, cpu> m{Input{2}, Dense{16}, ReLU{}, Dense{3}};
  m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 0.3}});
  std::vector<std::vector<double>> weights_after_epoch;
  History h = m.fit(s.train, {.epochs = 60,
                              .batch_size = 300,
                              .validation = s.validation,
                              .callbacks = {EarlyStopping{.patience = 2, .restore_best = true},
                                            LambdaCallback{.on_epoch_end =
                                                               [&](int, const Logs&, TrainingControl& c) {
                                                                 weights_after_epoch.push_back(c.get_weights());
                                                               }}},
                              .verbose = 0});
  const auto& val = h["val_loss"];
  const std::size_t best = std::size_t(std::min_element(val.begin(), val.end()) - val.begin());
  if (val.size() < 60) {
    CHECK(!h.stop_reason.empty());
    CHECK(val.size() == best + 1 + 2);  // patience 2: stops on the 2nd epoch without improvement
  }
  const std::vector<double> now = m.parameters().to_vector();
  CHECK(now == weights_after_epoch[best]);
}

TEST_CASE("sequential: EarlyStopping patience counts epochs as Keras does, and says so", "[train][callbacks]") {
  // "lr" never improves in mode "min" after epoch 1, so with patience p the fit runs 1 + p epochs
  // (Keras: stop once `wait >= patience`; patience 0 stops at the first epoch without improvement).
  Sequential<double, cpu> m{Input{1}, Dense{1}};
  m.compile({.loss = MeanSquaredError{}, .optimizer = SGD{.learning_rate = 0.01}});
  Tensor<double> x(Shape{4, 1}, {0, 1, 2, 3}), y(Shape{4, 1}, {1, 2, 3, 4});
  for (int patience : {0, 1, 3, 6}) {
    History h = m.fit(x, y, {.epochs = 20, .batch_size = 4,
                             .callbacks = {EarlyStopping{.monitor = "lr", .patience = patience, .mode = "min"}},
                             .verbose = 0});
    CHECK(h["lr"].size() == std::size_t(1 + std::max(patience, 1)));
    CHECK_THAT(h.stop_reason, Catch::Contains("did not improve for " + std::to_string(std::max(patience, 1)) + " epoch"));
    CHECK_THAT(h.stop_reason, Catch::Contains("at epoch 1)"));
  }
  // The lines printed when it stops and when it restores the best weights (epochs from 1).
  std::ostringstream captured;
  auto* old = std::cout.rdbuf(captured.rdbuf());
  History h;
  try {
    h = m.fit(x, y, {.epochs = 20, .batch_size = 4,
                     .callbacks = {EarlyStopping{.monitor = "lr", .patience = 2, .mode = "min", .restore_best = true}},
                     .verbose = 2});
  } catch (...) {
    std::cout.rdbuf(old);
    throw;
  }
  std::cout.rdbuf(old);
  const std::string out = captured.str();
  CHECK_THAT(out, Catch::Contains("Epoch 3: early stopping. lr did not improve for 2 epochs (best 0.01 at epoch 1)"));
  CHECK_THAT(out, Catch::Contains("EarlyStopping: restored the weights of epoch 1 (lr 0.01)"));
  CHECK(out.find("Epoch 3/20") < out.find("early stopping"));
  // verbose = 0: nothing printed, the reason is still in the history.
  std::ostringstream quiet;
  old = std::cout.rdbuf(quiet.rdbuf());
  h = m.fit(x, y, {.epochs = 20, .batch_size = 4,
                   .callbacks = {EarlyStopping{.monitor = "lr", .patience = 2, .mode = "min", .restore_best = true}},
                   .verbose = 0});
  std::cout.rdbuf(old);
  CHECK(quiet.str().empty());
  CHECK(!h.stop_reason.empty());
}

TEST_CASE("sequential: ReduceLROnPlateau lowers the learning rate", "[train][callbacks]") {
  Sequential<double, cpu> m{Input{1}, Dense{1}};
  m.compile({.loss = MeanSquaredError{}, .optimizer = SGD{.learning_rate = 0.1}});
  Tensor<double> x(Shape{4, 1}, {0, 1, 2, 3}), y(Shape{4, 1}, {5, 5, 5, 5});
  // Monitor a quantity that cannot improve by itself: the learning rate (mode min).
  History h = m.fit(x, y, {.epochs = 7, .batch_size = 4,
                           .callbacks = {ReduceLROnPlateau{.monitor = "lr", .factor = 0.5, .patience = 2, .mode = "min"}},
                           .verbose = 0});
  const auto& lr = h["lr"];
  // Epochs 1 and 2 do not improve on epoch 0: the rate halves after epoch 2. The lower rate
  // counts as an improvement, so the next halving comes after epoch 5.
  REQUIRE(lr.size() == 7);
  CHECK(lr[2] == Approx(0.1));
  CHECK(lr[3] == Approx(0.05));
  CHECK(lr[5] == Approx(0.05));
  CHECK(lr[6] == Approx(0.025));
}

TEST_CASE("sequential: CSVLogger writes one row per epoch", "[train][callbacks]") {
  Sequential<double, cpu> m{Input{1}, Dense{1}};
  m.compile({.loss = MeanSquaredError{}});
  Tensor<double> x(Shape{4, 1}, {0, 1, 2, 3}), y(Shape{4, 1}, {0, 2, 4, 6});
  const std::string path = "hepnn_test_csvlogger.csv";
  m.fit(x, y, {.epochs = 3, .batch_size = 2, .callbacks = {CSVLogger{.filename = path}}, .verbose = 0});
  std::ifstream in(path);
  std::string header, line;
  std::getline(in, header);
  CHECK(header == "epoch,loss,lr");
  int rows = 0;
  while (std::getline(in, line)) ++rows;
  CHECK(rows == 3);
  std::remove(path.c_str());
  REQUIRE_THROWS_WITH(m.fit(x, y, {.callbacks = {CSVLogger{.filename = "/nonexistent-dir/x.csv"}}, .verbose = 0}),
                      Catch::Contains("/nonexistent-dir/x.csv"));
}

TEST_CASE("sequential: event and class weights change the loss as defined", "[train]") {
  // A model with zero weights predicts 0; MSE per event is y^2. Weighted mean = sum w y^2 / sum w.
  Sequential<double, cpu> m{Input{1}, Dense{.units = 1, .kernel_initializer = Init::zeros}};
  m.compile({.loss = MeanSquaredError{}, .optimizer = SGD{.learning_rate = 1e-12}});
  Tensor<double> x(Shape{4, 1}, {1, 1, 1, 1}), y(Shape{4, 1}, {0, 1, 0, 1}), w(Shape{4}, {1, 2, 3, 4});
  const data::Dataset<double> d(x.clone(), y.clone(), w.clone());
  History h = m.fit(d, {.epochs = 1, .batch_size = 4, .verbose = 0});
  CHECK(h["loss"][0] == Approx((2.0 + 4.0) / 10.0).epsilon(1e-9));
  // class 1 weighted by 3: (3*2 + 3*4) / (1 + 6 + 3 + 12)
  History hc = m.fit(d, {.epochs = 1, .batch_size = 4, .class_weight = {{1, 3.0}}, .verbose = 0});
  CHECK(hc["loss"][0] == Approx(18.0 / 22.0).epsilon(1e-9));
}

TEST_CASE("sequential: summary lists layers, output shapes and parameter counts", "[train]") {
  Sequential<float, cpu> m{Input{784}, Dense{500}, ReLU{}, Dropout{0.5}, Dense{10}};
  std::ostringstream os;
  m.summary(os);
  const std::string s = os.str();
  CHECK(s.find("dense_1 (Dense)") != std::string::npos);
  CHECK(s.find("(None, 500)") != std::string::npos);
  CHECK(s.find("392,500") != std::string::npos);  // 784 * 500 + 500
  CHECK(s.find("5,010") != std::string::npos);    // 500 * 10 + 10
  CHECK(s.find("Total params: 397,510") != std::string::npos);
  CHECK(m.num_params() == 397510);
}

TEST_CASE("sequential: progress output is one line per epoch off a terminal, nothing at verbose 0",
          "[train]") {
  Sequential<double, cpu> m{Input{1}, Dense{1}};
  m.compile({.loss = MeanSquaredError{}});
  Tensor<double> x(Shape{4, 1}, {0, 1, 2, 3}), y(Shape{4, 1}, {0, 2, 4, 6});
  std::streambuf* old = std::cout.rdbuf();
  std::ostringstream captured;
  std::cout.rdbuf(captured.rdbuf());
  m.fit(x, y, {.epochs = 3, .batch_size = 2, .verbose = 2});
  const std::string lines = captured.str();
  captured.str("");
  m.fit(x, y, {.epochs = 3, .batch_size = 2, .verbose = 0});
  const std::string silent = captured.str();
  std::cout.rdbuf(old);
  CHECK(std::count(lines.begin(), lines.end(), '\n') == 3);
  CHECK(lines.find("Epoch 3/3") != std::string::npos);
  CHECK(lines.find("samples/s") != std::string::npos);
  CHECK(lines.find("loss: ") != std::string::npos);
  CHECK(silent.empty());
}

TEST_CASE("sequential: const predict from several threads equals one thread", "[train][threads]") {
  auto d = blobs<float>(2000, 8);
  auto m = mlp_with_dropout();
  m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}});
  m.fit(d, {.epochs = 1, .batch_size = 50, .verbose = 0});
  const auto& cm = m;
  const std::vector<float> reference = cm.predict(d.features(), 64).to_vector();
  std::vector<std::vector<float>> results(4);
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep) results[std::size_t(t)] = cm.predict(d.features(), 64).to_vector();
    });
  for (auto& th : pool) th.join();
  for (const auto& r : results) CHECK(r == reference);
}

TEST_CASE("sequential: allocation-free predict with a Workspace equals predict, per thread", "[train][threads]") {
  auto d = blobs<float>(600, 9);
  auto m = mlp_with_dropout();
  m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}});
  m.fit(d, {.epochs = 1, .batch_size = 50, .verbose = 0});
  const auto& cm = m;
  const Tensor<float> reference = cm.predict(d.features());
  const std::span<const float> x(d.features().data(), std::size_t(d.features().size()));

  // The whole set: the same batch as predict's, so the same bits. Single events and small
  // batches through one reused workspace: the same values to float rounding (a product of
  // another shape may sum in another order, or go to Eigen instead of BLAS).
  Sequential<float>::Workspace ws;
  std::vector<float> out(std::size_t(reference.size()));
  cm.predict(x, std::span<float>(out), ws);
  CHECK(out == reference.to_vector());
  auto near = [](float a, float b) { return std::abs(a - b) <= 1e-5f * (1.0f + std::abs(b)); };
  bool same = true;
  for (std::int64_t i = 0; i < 600; i += 7) {
    const std::int64_t n = std::min<std::int64_t>(1 + i % 5, 600 - i);
    std::vector<float> o(std::size_t(n * 3));
    cm.predict(x.subspan(std::size_t(i * 2), std::size_t(n * 2)), std::span<float>(o), ws);
    for (std::int64_t k = 0; k < n * 3; ++k) same = same && near(o[std::size_t(k)], reference.data()[i * 3 + k]);
  }
  CHECK(same);

  // one workspace per thread
  std::vector<std::vector<float>> results(3, std::vector<float>(out.size()));
  std::vector<std::thread> pool;
  for (int t = 0; t < 3; ++t)
    pool.emplace_back([&, t] {
      Sequential<float>::Workspace mine;
      for (std::int64_t i = 0; i < 600; ++i)
        cm.predict(x.subspan(std::size_t(i * 2), 2), std::span<float>(results[std::size_t(t)]).subspan(std::size_t(i * 3), 3),
                   mine);
    });
  for (auto& th : pool) th.join();
  std::vector<float> single(out.size());  // one thread, one event at a time
  for (std::int64_t i = 0; i < 600; ++i)
    cm.predict(x.subspan(std::size_t(i * 2), 2), std::span<float>(single).subspan(std::size_t(i * 3), 3), ws);
  for (const auto& r : results) CHECK(r == single);
  bool close = true;
  for (std::size_t k = 0; k < single.size(); ++k) close = close && near(single[k], reference.data()[k]);
  CHECK(close);

  // sizes that do not fit, and non-finite inputs, are errors that say what was wrong
  std::vector<float> small(2);
  CHECK_THROWS_WITH(cm.predict(x.first(4), std::span<float>(small), ws), Catch::Contains("do not fit events of (2,)"));
  CHECK_THROWS_WITH(cm.predict(x.first(3), std::span<float>(out).first(3), ws), Catch::Contains("do not fit"));
  std::vector<float> bad{1.0f, std::nanf("")}, o3(3);
  CHECK_THROWS_WITH(cm.predict(std::span<const float>(bad), std::span<float>(o3), ws),
                    Catch::Contains("event 0 (feature 1) is not finite"));
}

TEST_CASE("sequential: inference in row chunks equals event-by-event inference, with 1 and 2 threads",
          "[train][threads]") {
  // More than backend::cpu::inference_chunk_rows events go through the model in chunks of rows spread
  // over the threads (Sequential::forward_inference); one event at a time takes the plain pass.
  // Float: the fused Dense kernel is row-exact, so the bits must agree. Double (a matrix product
  // whose blocking may depend on the number of rows): to rounding.
  const std::int64_t n = 5 * backend::cpu::inference_chunk_rows + 37;  // a short last chunk
  std::vector<double> xd(std::size_t(n * 20));
  for (std::size_t i = 0; i < xd.size(); ++i) xd[i] = philox_normal(11, 3, i);
  auto check = [&]<class T>(const Sequential<T>& model, double tolerance) {
    const std::vector<T> x(xd.begin(), xd.end());
    typename Sequential<T>::Workspace ws;
    std::vector<T> one(static_cast<std::size_t>(n));
    std::vector<T> by_thread[2];
    for (std::int64_t i = 0; i < n; ++i)
      model.predict(std::span<const T>(x).subspan(std::size_t(i * 20), 20), std::span<T>(one).subspan(std::size_t(i), 1), ws);
    const int before = num_threads();
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      auto& out = by_thread[threads - 1];
      out.assign(std::size_t(n), T(-1));
      model.predict(std::span<const T>(x), std::span<T>(out), ws);
    }
    set_num_threads(before);
    CHECK(by_thread[0] == by_thread[1]);  // the chunks depend on n only, not on the threads
    double worst = 0;
    for (std::int64_t i = 0; i < n; ++i)
      worst = std::max(worst, std::abs(double(by_thread[1][std::size_t(i)]) - double(one[std::size_t(i)])));
    CHECK(worst <= tolerance);
  };
  const Sequential<float> small(Input{20}, Dense{64, Activation::tanh}, Dense{64, Activation::tanh},
                                Dense{1, Activation::sigmoid});
  check(small, 0.0);
  const Sequential<double> wide(Input{20}, Dense{300, Activation::relu}, Dense{64, Activation::tanh}, Dense{1});
  check(wide, 1e-12);
}
