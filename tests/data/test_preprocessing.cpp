// Preprocessing: standardisation and min-max against closed forms, the model's input transform
// against transforming by hand, stratified splits, and per-class weight normalisation.
#include <catch2/catch.hpp>

#include <cmath>

#include "hepnn/data/preprocessing.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/train/sequential.hpp"

using namespace hepnn;

TEST_CASE("preprocessing: standardisation and min-max match their closed forms", "[data][preprocessing]") {
  // column 0: 1, 2, 3, 4 (mean 2.5, population std sqrt(1.25)); column 1 constant
  Tensor<double, cpu> x(Shape{4, 2}, {1, 7, 2, 7, 3, 7, 4, 7});
  const auto s = data::fit_standardization(x);
  CHECK(s.kind == "standardize");
  CHECK(s.shift[0] == Approx(2.5));
  CHECK(s.scale[0] == Approx(1 / std::sqrt(1.25)));
  CHECK(s.shift[1] == 7);
  CHECK(s.scale[1] == 1);  // constant: left unscaled
  const auto m = data::fit_minmax(x);
  CHECK(m.shift[0] == 1);
  CHECK(m.scale[0] == Approx(1.0 / 3));
  CHECK(m.scale[1] == 1);
  std::vector<double> rows{4, 7};
  m.apply(rows.data(), 1, 2);
  CHECK(rows[0] == Approx(1.0));
  CHECK(rows[1] == 0.0);
}

TEST_CASE("preprocessing: the model applies its input transform in predict, evaluate and fit",
          "[data][preprocessing]") {
  const std::int64_t n = 64;
  Tensor<double, cpu> x(Shape{n, 3}), y(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < 3; ++j) x(i, j) = 100.0 * j + 10.0 * philox_uniform(5, 0, std::uint64_t(i * 3 + j));
    y(i, 0) = x(i, 0) * 0.1;
  }
  const auto t = data::fit_standardization(x);
  Tensor<double, cpu> xs = x.clone();
  for (std::int64_t i = 0; i < n; ++i)
    for (int j = 0; j < 3; ++j) xs(i, j) = (x(i, j) - t.shift[std::size_t(j)]) * t.scale[std::size_t(j)];
  auto make = [] {
    Sequential<double> m(Input{3}, Dense{4, Activation::tanh}, Dense{1});
    m.compile({.loss = MeanSquaredError{}, .optimizer = SGD{.learning_rate = 0.05}, .seed = 1});
    return m;
  };
  auto with = make(), without = make();
  with.set_input_transform(t);
  CHECK(with.predict(x).to_vector() == without.predict(xs).to_vector());
  with.fit(x, y, {.epochs = 2, .batch_size = 16, .verbose = 0});
  without.fit(xs, y, {.epochs = 2, .batch_size = 16, .verbose = 0});
  CHECK(with.parameters().to_vector() == without.parameters().to_vector());
  CHECK(with.evaluate(x, y).at("loss") == without.evaluate(xs, y).at("loss"));
  CHECK_THROWS_AS(with.set_input_transform({"bad", {1.0, 2.0}, {1.0, 2.0}}), Error);
}

TEST_CASE("preprocessing: a stratified split keeps each class's fraction in every part", "[data][preprocessing]") {
  const std::int64_t n = 1000;  // 300 signal, 700 background
  Tensor<float, cpu> x(Shape{n, 1}), y(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    x(i, 0) = float(i);
    y(i, 0) = i < 300 ? 1.f : 0.f;
  }
  const data::Dataset<float> d(std::move(x), std::move(y));
  const auto s = data::split(d, {.validation = 0.2, .test = 0.1}, 9, true);
  auto signal = [](const data::Dataset<float>& p) {
    std::int64_t k = 0;
    for (float v : p.targets()) k += v == 1.f;
    return k;
  };
  CHECK(s.train.size() == 700);
  CHECK(s.validation.size() == 200);
  CHECK(s.test.size() == 100);
  CHECK(signal(s.train) == 210);
  CHECK(signal(s.validation) == 60);
  CHECK(signal(s.test) == 30);
  // every event lands in exactly one part
  std::vector<int> seen(n, 0);
  for (const auto* p : {&s.train, &s.validation, &s.test})
    for (float v : p->features()) ++seen[std::size_t(v)];
  CHECK(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
  // the parts are shuffled, not sorted by class
  CHECK(signal(s.train.slice(0, 100)) < 100);
}

TEST_CASE("preprocessing: event weights are normalised to mean 1 per class", "[data][preprocessing]") {
  Tensor<double, cpu> x(Shape{5, 1}, 0.0), y(Shape{5, 1}, {1, 1, 0, 0, 0}), w(Shape{5}, {2, 6, 0.1, 0.2, 0.3});
  data::Dataset<double> d(std::move(x), std::move(y), std::move(w));
  data::normalize_weights_per_class(d);
  const auto v = d.weights().to_vector();
  CHECK(v[0] == Approx(0.5));
  CHECK(v[1] == Approx(1.5));
  CHECK(v[2] == Approx(0.5));
  CHECK(v[3] == Approx(1.0));
  CHECK(v[4] == Approx(1.5));
  Tensor<double, cpu> x2(Shape{2, 1}, 0.0), y2(Shape{2, 1}, {1, 0}), w2(Shape{2}, {1, -1});
  data::Dataset<double> bad(std::move(x2), std::move(y2), std::move(w2));
  CHECK_THROWS_WITH(data::normalize_weights_per_class(bad), Catch::Contains("class 0"));
}
