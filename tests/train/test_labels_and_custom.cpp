// Targets checked against the loss before the first step (first-week report: BCE trained on
// TMVA-style -1/+1 labels to a loss of -439), and user-defined losses and metrics in fit,
// evaluate, History and callbacks: a weighted focal loss against its closed-form gradient.
#include <catch2/catch.hpp>

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "hepnn/layers/dense.hpp"
#include "hepnn/losses/compute.hpp"
#include "hepnn/train/sequential.hpp"
#include <algorithm>
#include <random>

using namespace hepnn;

namespace {
/// Two Gaussian blobs in 2-D, labels 0/1 (or -1/+1 with tmva = true), weights 0.5..1.5.
data::Dataset<double> blobs(std::int64_t n, bool tmva = false, std::uint64_t seed = 7) {
  Tensor<double, cpu> x(Shape{n, 2}), y(Shape{n, 1}), w(Shape{n});
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  for (std::int64_t i = 0; i < n; ++i) {
    const int s = int(i % 2);
    x(i, 0) = g(rng) + (s ? 1.0 : -1.0);
    x(i, 1) = g(rng) + (s ? 0.5 : -0.5);
    y(i, 0) = s ? 1.0 : (tmva ? -1.0 : 0.0);
    w(i) = 0.5 + double(i % 3) * 0.5;
  }
  return data::Dataset<double>(std::move(x), std::move(y), std::move(w));
}

/// Binary focal loss on a logit z (Lin et al.): FL = -alpha_t (1 - p_t)^gamma log p_t, with
/// p = sigmoid(z), p_t = p for t = 1 and 1 - p for t = 0. Its gradient is the closed form
///   t = 1:  dFL/dz =  alpha     [gamma p (1-p)^gamma log p - (1-p)^(gamma+1)]
///   t = 0:  dFL/dz = -(1-alpha) [gamma (1-p) p^gamma log(1-p) - p^(gamma+1)]
struct Focal {
  double gamma = 2, alpha = 0.25;
  double operator()(std::span<const double> out, std::span<const double> t, std::span<double> grad) const {
    const double z = out[0], p = 1 / (1 + std::exp(-z));
    if (t[0] == 1) {
      grad[0] = alpha * (gamma * p * std::pow(1 - p, gamma) * std::log(p) - std::pow(1 - p, gamma + 1));
      return -alpha * std::pow(1 - p, gamma) * std::log(p);
    }
    grad[0] = -(1 - alpha) * (gamma * (1 - p) * std::pow(p, gamma) * std::log(1 - p) - std::pow(p, gamma + 1));
    return -(1 - alpha) * std::pow(p, gamma) * std::log(1 - p);
  }
};
CustomLoss focal_loss(double gamma, double alpha) {
  return CustomLoss{.name = "focal",
                    .row = Focal{gamma, alpha},
                    .check_target =
                        [](std::span<const double> t) {
                          if (t[0] != 0 && t[0] != 1) throw Error("focal: labels must be 0 or 1");
                        },
                    .from_logits = true,
                    .params = {{"gamma", gamma}, {"alpha", alpha}}};
}
/// Weighted mean score of the signal minus that of the background (a physics-style metric).
metrics::CustomMetric separation() {
  return {.name = "separation", .compute = [](const metrics::MetricInput& in) {
            double s = 0, ws = 0, b = 0, wb = 0;
            for (std::int64_t i = 0; i < in.events(); ++i) {
              const double w = in.weights[std::size_t(i)], v = in.scores[std::size_t(i * in.outputs)];
              if (in.targets[std::size_t(i * in.target_cols)] == 1) s += w * v, ws += w;
              else b += w * v, wb += w;
            }
            return s / ws - b / wb;
          }};
}
std::string error_of(auto&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("labels: binary cross-entropy refuses -1/+1 labels before the first step", "[train][labels]") {
  const auto d = blobs(64, /*tmva=*/true);
  Sequential<double, cpu> m{Input{2}, Dense{4}, Dense{1}};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = SGD{.learning_rate = 0.1}});
  const std::vector<double> before = m.parameters().to_vector();
  const std::string e = error_of([&] { m.fit(d, {.epochs = 3, .batch_size = 16, .verbose = 0}); });
  CHECK_THAT(e, Catch::Contains("fit (training data)") && Catch::Contains("row 0 has target -1") &&
                    Catch::Contains("BinaryCrossEntropy") && Catch::Contains("0 or 1"));
  CHECK(m.parameters().to_vector() == before);  // no step was taken
  CHECK(m.optimizer().iterations() == 0);
  // the same in validation data, evaluate, train_on_batch and loss_and_gradients
  const auto good = blobs(64);
  CHECK_THAT(error_of([&] { m.fit(good, {.epochs = 1, .validation = d, .verbose = 0}); }),
             Catch::Contains("fit (validation data)") && Catch::Contains("row 0"));
  CHECK_THAT(error_of([&] { m.evaluate(d); }), Catch::Contains("evaluate") && Catch::Contains("row 0"));
  CHECK_THAT(error_of([&] { m.train_on_batch(d); }), Catch::Contains("train_on_batch"));
  // soft targets by option: values in [0, 1] train, values outside do not
  Tensor<double, cpu> soft(Shape{64, 1}, 0.3);
  const data::Dataset<double> ds(good.features().clone(), soft.clone());
  CHECK_THAT(error_of([&] { m.fit(ds, {.epochs = 1, .verbose = 0}); }), Catch::Contains("soft_targets"));
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true, .soft_targets = true}, .optimizer = SGD{}});
  CHECK_NOTHROW(m.fit(ds, {.epochs = 1, .verbose = 0}));
  Tensor<double, cpu> over(Shape{64, 1}, 1.2);
  CHECK_THAT(error_of([&] { m.fit(data::Dataset<double>(good.features().clone(), over.clone()), {.verbose = 0}); }),
             Catch::Contains("row 0 has target 1.2") && Catch::Contains("[0, 1]"));
}

TEST_CASE("labels: categorical cross-entropy checks class indices and one-hot rows", "[train][labels]") {
  Sequential<double, cpu> m{Input{2}, Dense{3}};
  m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = SGD{}});
  Tensor<double, cpu> x(Shape{4, 2}, 0.5);
  Tensor<double, cpu> labels(Shape{4, 1}, {0, 2, 3, 1});
  CHECK_THAT(error_of([&] { m.fit(data::Dataset<double>(x.clone(), labels.clone()), {.verbose = 0}); }),
             Catch::Contains("fit (training data): row 2 has target 3") && Catch::Contains("CategoricalCrossEntropy") &&
                 Catch::Contains("[0, 3)"));
  Tensor<double, cpu> fraction(Shape{4, 1}, {0, 1.5, 1, 1});
  CHECK_THAT(error_of([&] { m.fit(data::Dataset<double>(x.clone(), fraction.clone()), {.verbose = 0}); }),
             Catch::Contains("row 1 has target 1.5"));
  Tensor<double, cpu> two_hot(Shape{4, 3}, {1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1});
  CHECK_THAT(error_of([&] { m.fit(data::Dataset<double>(x.clone(), two_hot.clone()), {.verbose = 0}); }),
             Catch::Contains("row 2 has target (1, 1, 0)") && Catch::Contains("one-hot"));
  Tensor<double, cpu> smooth(Shape{4, 3}, {0.9, 0.05, 0.05, 0.05, 0.9, 0.05, 0.05, 0.05, 0.9, 0.9, 0.05, 0.05});
  CHECK_THAT(error_of([&] { m.fit(data::Dataset<double>(x.clone(), smooth.clone()), {.verbose = 0}); }),
             Catch::Contains("soft_targets"));
  m.compile({.loss = CategoricalCrossEntropy{.from_logits = true, .soft_targets = true}, .optimizer = SGD{}});
  CHECK_NOTHROW(m.fit(data::Dataset<double>(x.clone(), smooth.clone()), {.verbose = 0}));
  // compute_loss checks too
  Tensor<double, cpu> pred(Shape{4, 3}, 0.1);
  CHECK_THROWS_WITH(compute_loss<double>(CategoricalCrossEntropy{.from_logits = true}, pred, labels),
                    Catch::Contains("row 2 has target 3"));
}

TEST_CASE("custom loss: a weighted focal loss matches its closed form and finite differences", "[train][custom]") {
  // 1. the row gradient against central differences of the row value, over logits and labels
  const Focal f{2.0, 0.25};
  for (double t : {0.0, 1.0})
    for (double z : {-3.0, -0.7, 0.0, 0.4, 2.5}) {
      double g[1], dummy[1];
      const double o[1] = {z}, tt[1] = {t};
      f(o, tt, g);
      const double h = 1e-6, zp[1] = {z + h}, zm[1] = {z - h};
      const double fd = (f(zp, tt, dummy) - f(zm, tt, dummy)) / (2 * h);
      CHECK(g[0] == Approx(fd).epsilon(1e-7).margin(1e-10));
    }
  // 2. gamma 0, alpha 1/2: half the binary cross-entropy on logits (an independent built-in)
  const auto d = blobs(40);
  Tensor<double, cpu> pred(Shape{40, 1});
  for (std::int64_t i = 0; i < 40; ++i) pred(i, 0) = 0.3 * double(i % 7) - 1.0;
  Tensor<double, cpu> g1(Shape{40, 1}), g2(Shape{40, 1});
  const double fl = compute_loss<double>(focal_loss(0, 0.5), pred, d.targets(), &d.weights(), &g1);
  const double bce = compute_loss<double>(BinaryCrossEntropy{.from_logits = true}, pred, d.targets(), &d.weights(), &g2);
  CHECK(fl == Approx(0.5 * bce).epsilon(1e-12));
  for (std::int64_t i = 0; i < 40; ++i) CHECK(g1(i, 0) == Approx(0.5 * g2(i, 0)).epsilon(1e-10).margin(1e-14));
  // 3. weighted mean by hand: sum_i w_i FL_i / sum_i w_i, with gamma 2
  double num = 0, den = 0;
  for (std::int64_t i = 0; i < 40; ++i) {
    double g[1];
    const double o[1] = {pred(i, 0)}, t[1] = {d.targets()(i, 0)};
    num += d.weights()(i) * f(o, t, g);
    den += d.weights()(i);
  }
  CHECK(compute_loss<double>(focal_loss(2, 0.25), pred, d.targets(), &d.weights()) == Approx(num / den).epsilon(1e-13));
  // 4. through a model: loss_and_gradients against finite differences of the model's loss
  Sequential<double, cpu> m{Input{2}, Dense{5, Activation::tanh}, Dense{1}};
  m.compile({.loss = focal_loss(2, 0.25), .optimizer = SGD{}, .seed = 3});
  const double l0 = m.loss_and_gradients(d.features(), d.targets(), &d.weights());
  CHECK(l0 > 0);
  const std::vector<double> analytic = m.gradients().to_vector();
  std::vector<double> p = m.parameters().to_vector();
  for (std::size_t k = 0; k < p.size(); k += 3) {
    const double h = 1e-6, saved = p[k];
    auto loss_at = [&](double v) {
      p[k] = v;
      std::copy(p.begin(), p.end(), m.parameters().data());
      return m.loss_and_gradients(d.features(), d.targets(), &d.weights());
    };
    const double fd = (loss_at(saved + h) - loss_at(saved - h)) / (2 * h);
    loss_at(saved);
    CHECK(analytic[k] == Approx(fd).epsilon(1e-6).margin(1e-9));
  }
}

TEST_CASE("custom loss and metric: fit, evaluate, History and callbacks", "[train][custom]") {
  const auto d = blobs(400);
  auto s = d.split({.validation = 0.25});
  Sequential<double, cpu> m{Input{2}, Dense{8, Activation::relu}, Dense{1}};
  m.compile({.loss = focal_loss(2, 0.25), .optimizer = Adam{.learning_rate = 0.05}, .metrics = {separation(), metrics::AUC{}},
             .seed = 11});
  const History h = m.fit(s.train, {.epochs = 12, .batch_size = 50, .validation = s.validation,
                                    .callbacks = {EarlyStopping{.monitor = "val_separation", .patience = 3}},
                                    .verbose = 0});
  for (const char* k : {"loss", "val_loss", "separation", "val_separation", "auc", "val_auc"}) {
    INFO(k);
    CHECK(h.values.count(k) == 1);
  }
  CHECK(h["loss"].back() < h["loss"].front());
  CHECK(h["val_separation"].back() > 0.2);  // scores are probabilities: from_logits = true
  CHECK(h["val_separation"].back() < 1.0);
  // the custom metric's direction reaches callbacks in mode "auto": higher is better
  const auto& sep = h["val_separation"];
  const std::size_t best = std::size_t(std::max_element(sep.begin(), sep.end()) - sep.begin());
  if (!h.stop_reason.empty()) CHECK(sep.size() == best + 1 + 3);
  // evaluate reports it and the loss equals compute_loss on the predictions
  const Logs e = m.evaluate(s.validation);
  const Tensor<double> out = m.predict(s.validation.features());
  CHECK(e.at("loss") == Approx(compute_loss<double>(focal_loss(2, 0.25), out, s.validation.targets(),
                                                    &s.validation.weights()))
                            .epsilon(1e-12));
  CHECK(e.count("separation") == 1);
  // the custom loss's own target check runs before training and names the data set and row
  const auto bad = blobs(20, /*tmva=*/true);
  CHECK_THAT(error_of([&] { m.fit(bad, {.verbose = 0}); }),
             Catch::Contains("fit (training data): row 0 has target -1") && Catch::Contains("focal") &&
                 Catch::Contains("labels must be 0 or 1"));
  // bad custom specs
  CHECK_THROWS_WITH(m.compile({.loss = CustomLoss{.name = "nameless_row"}}), Catch::Contains("no row function"));
  CHECK_THROWS_WITH(m.compile({.loss = CustomLoss{.name = "Huber", .row = Focal{}}}), Catch::Contains("built-in"));
  CHECK_THROWS_WITH(m.compile({.loss = MSE{}, .metrics = {separation(), separation()}}), Catch::Contains("separation"));
}
