/// @file tests/losses/test_losses.cpp
/// @brief compute_loss for every LossSpec: hand-worked values, gradients against finite
/// differences with negative weights, stability, and the errors a user can make.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "hepnn/losses/compute.hpp"
#include "support/gradcheck.hpp"

using hepnn::BinaryCrossEntropy;
using hepnn::CategoricalCrossEntropy;
using hepnn::compute_loss;
using hepnn::Huber;
using hepnn::LossSpec;
using hepnn::MeanAbsoluteError;
using hepnn::MeanSquaredError;
using hepnn::Shape;
using hepnn::Tensor;
using hepnn::test::random_vector;
using Catch::Contains;

namespace {

template <class T>
Tensor<T> tensor(const Shape& s, std::initializer_list<double> values) {
  return Tensor<T>(s, std::vector<T>(values.begin(), values.end()));
}

template <class T>
double tol() {
  return std::is_same_v<T, float> ? 2e-6 : 1e-14;
}

template <class T>
bool close(double got, double expected) {
  return std::abs(got - expected) <= tol<T>() * (1 + std::abs(expected));
}

template <class T>
bool close(const Tensor<T>& got, std::initializer_list<double> expected) {
  if (got.size() != static_cast<std::int64_t>(expected.size())) return false;
  std::size_t i = 0;
  for (double e : expected)
    if (!close<T>(double(got.data()[i++]), e)) return false;
  return true;
}

}  // namespace

TEMPLATE_TEST_CASE("losses: regression losses against hand-worked values", "[losses]", float, double) {
  using T = TestType;
  // pred [[1, 2], [3, 5]], target [[0, 2], [1, 1]]: differences d = [[1, 0], [2, 4]]
  const auto pred = tensor<T>(Shape{2, 2}, {1, 2, 3, 5});
  const auto target = tensor<T>(Shape{2, 2}, {0, 2, 1, 1});
  const auto w = tensor<T>(Shape{2}, {1, 3});
  Tensor<T> grad(Shape{2, 2});

  // MSE: l = [(1 + 0) / 2, (4 + 16) / 2] = [0.5, 10]; mean 5.25; weighted (0.5 + 3 * 10) / 4 = 7.625
  CHECK(close<T>(compute_loss<T>(MeanSquaredError{}, pred, target, nullptr, &grad), 5.25));
  // dL/dp = 2 d / (C B) = d / 2
  CHECK(close(grad, {0.5, 0, 1, 2}));
  CHECK(close<T>(compute_loss<T>(hepnn::MSE{}, pred, target, &w, &grad), 7.625));
  // weighted: 2 d w_i / (C sum w) = d w_i / 4
  CHECK(close(grad, {0.25, 0, 1.5, 3}));

  // MAE: l = [(1 + 0) / 2, (2 + 4) / 2] = [0.5, 3]; mean 1.75; gradient sign(d) / (C B), 0 at d = 0
  CHECK(close<T>(compute_loss<T>(MeanAbsoluteError{}, pred, target, nullptr, &grad), 1.75));
  CHECK(close(grad, {0.25, 0, 0.25, 0.25}));
  CHECK(close<T>(compute_loss<T>(hepnn::MAE{}, pred, target, &w), (0.5 + 9.0) / 4.0));

  // Huber, delta 1: [0.5 * 1, 0, 1 * (2 - 0.5), 1 * (4 - 0.5)] = [0.5, 0, 1.5, 3.5];
  // l = [0.25, 2.5]; mean 1.375; gradient clip(d, -delta, delta) / (C B) = [1, 0, 1, 1] / 4
  CHECK(close<T>(compute_loss<T>(Huber{}, pred, target, nullptr, &grad), 1.375));
  CHECK(close(grad, {0.25, 0, 0.25, 0.25}));
  // Huber, delta 2.5: [0.5, 0, 0.5 * 4, 2.5 * (4 - 1.25)] = [0.5, 0, 2, 6.875]; l = [0.25, 4.4375];
  // mean 2.34375; gradient [1, 0, 2, 2.5] / 4
  CHECK(close<T>(compute_loss<T>(Huber{2.5}, pred, target, nullptr, &grad), 2.34375));
  CHECK(close(grad, {0.25, 0, 0.5, 0.625}));

  // A (B,) target for a single output: pred [[1], [4]], target [3, 0]: l = [4, 16], mean 10
  CHECK(close<T>(compute_loss<T>(MeanSquaredError{}, tensor<T>(Shape{2, 1}, {1, 4}), tensor<T>(Shape{2}, {3, 0})), 10));
}

TEMPLATE_TEST_CASE("losses: cross-entropies against hand-worked values", "[losses]", float, double) {
  using T = TestType;
  Tensor<T> g1(Shape{2, 1}), g3(Shape{2, 3});

  // BCE on probabilities: p = [0.8, 0.3], t = [1, 0]: l = [-log 0.8, -log 0.7] = [0.22314355, 0.35667494]
  const auto p = tensor<T>(Shape{2, 1}, {0.8, 0.3});
  const auto t = tensor<T>(Shape{2, 1}, {1, 0});
  CHECK(close<T>(compute_loss<T>(BinaryCrossEntropy{}, p, t, nullptr, &g1), 0.2899092476264711));
  // dl/dp = (p - t) / (p (1 - p)) / B = [-0.2 / 0.16, 0.3 / 0.21] / 2
  CHECK(close(g1, {-0.625, 0.7142857142857143}));

  // BCE on logits: z = [2, -1], t = [1, 0]: l = [log(1 + e^-2), log(1 + e^-1)] = [0.12692801, 0.31326169]
  const auto z = tensor<T>(Shape{2, 1}, {2, -1});
  CHECK(close<T>(compute_loss<T>(BinaryCrossEntropy{true}, z, t, nullptr, &g1), 0.2200948492805977));
  // dl/dz = (sigmoid(z) - t) / B = [0.88079708 - 1, 0.26894142] / 2
  CHECK(close(g1, {-0.05960146101105885, 0.13447071068499755}));
  // soft target 0.5 at z = 0: log 2; two outputs are averaged
  CHECK(close<T>(compute_loss<T>(BinaryCrossEntropy{true, /*soft_targets=*/true}, tensor<T>(Shape{1, 2}, {0, 0}), tensor<T>(Shape{1, 2}, {0.5, 1})),
                 0.69314718055994531));

  // CCE on logits: z = [[1, 2, 3], [0, 0, 0]], classes [2, 1]:
  // l = [log(e + e^2 + e^3) - 3, log 3] = [0.40760596, 1.09861229]; mean 0.75310913
  const auto logits = tensor<T>(Shape{2, 3}, {1, 2, 3, 0, 0, 0});
  const auto onehot = tensor<T>(Shape{2, 3}, {0, 0, 1, 0, 1, 0});
  const double cce = 0.753109126556245;
  CHECK(close<T>(compute_loss<T>(CategoricalCrossEntropy{true}, logits, onehot, nullptr, &g3), cce));
  // dl/dz = (softmax(z) - t) / B
  CHECK(close(g3, {0.090030573170380462 / 2, 0.24472847105479767 / 2, (0.66524095577481771 - 1) / 2, 1.0 / 6,
                   (1.0 / 3 - 1) / 2, 1.0 / 6}));
  Tensor<T> g3_labels(Shape{2, 3});
  CHECK(close<T>(compute_loss<T>(CategoricalCrossEntropy{true}, logits, tensor<T>(Shape{2, 1}, {2, 1}), nullptr, &g3_labels),
                 cce));
  CHECK(g3_labels.to_vector() == g3.to_vector());
  CHECK(close<T>(compute_loss<T>(CategoricalCrossEntropy{true}, logits, tensor<T>(Shape{2}, {2, 1})), cce));
  // weights [3, 1]: (3 * 0.40760596 + 1.09861229) / 4
  const auto w = tensor<T>(Shape{2}, {3, 1});
  CHECK(close<T>(compute_loss<T>(CategoricalCrossEntropy{true}, logits, onehot, &w), 0.5803575455003125));

  // CCE on probabilities: p = [[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]], classes [1, 0]:
  // l = [-log 0.7, log 2]; mean 0.52491106; gradient -t / (p B)
  const auto probs = tensor<T>(Shape{2, 3}, {0.2, 0.7, 0.1, 0.5, 0.25, 0.25});
  CHECK(close<T>(compute_loss<T>(CategoricalCrossEntropy{}, probs, tensor<T>(Shape{2, 3}, {0, 1, 0, 1, 0, 0}), nullptr, &g3),
                 0.5249110622493389));
  CHECK(close(g3, {0, -1.0 / 1.4, 0, -1, 0, 0}));
  CHECK(close<T>(compute_loss<T>(CategoricalCrossEntropy{}, probs, tensor<T>(Shape{2, 1}, {1, 0})), 0.5249110622493389));
  // soft target [0.5, 0.5, 0]: -(0.5 log 0.2 + 0.5 log 0.7)
  CHECK(close<T>(compute_loss<T>(CategoricalCrossEntropy{false, /*soft_targets=*/true}, tensor<T>(Shape{1, 3}, {0.2, 0.7, 0.1}),
                                 tensor<T>(Shape{1, 3}, {0.5, 0.5, 0})),
                 0.9830564281864164));
}

TEST_CASE("losses: gradients against finite differences with negative weights", "[losses]") {
  std::mt19937 rng(321);
  const std::int64_t B = 6, C = 4;
  const auto n = static_cast<std::size_t>(B * C);

  // Weights in [0.2, 2] with two negative ones; their sum stays positive.
  auto w_values = random_vector<double>(rng, static_cast<std::size_t>(B), 0.2, 2.0);
  w_values[1] = -0.4;
  w_values[4] = -0.7;
  const Tensor<double> w(Shape{B}, w_values);
  REQUIRE(hepnn::ops::sum<hepnn::cpu>(B, w.data()) > 0);

  auto one_hot = [&] {
    std::vector<double> t(n, 0.0), labels(static_cast<std::size_t>(B));
    for (std::int64_t i = 0; i < B; ++i) {
      const auto c = hepnn::test::uniform_int(rng, C);
      labels[static_cast<std::size_t>(i)] = double(c);
      t[static_cast<std::size_t>(i * C + c)] = 1.0;
    }
    return std::pair{t, labels};
  };

  struct Case {
    std::string what;
    LossSpec spec;
    std::vector<double> pred, target;
    Shape target_shape;
  };
  std::vector<Case> cases;
  const auto soft = random_vector<double>(rng, n, 0, 1);
  cases.push_back({"MSE", MeanSquaredError{}, random_vector<double>(rng, n, -2, 2), random_vector<double>(rng, n, -2, 2), Shape{B, C}});
  cases.push_back({"MAE", MeanAbsoluteError{}, random_vector<double>(rng, n, -2, 2), random_vector<double>(rng, n, -2, 2), Shape{B, C}});
  cases.push_back({"Huber", Huber{0.5}, random_vector<double>(rng, n, -2, 2), random_vector<double>(rng, n, -2, 2), Shape{B, C}});
  cases.push_back({"BCE logits", BinaryCrossEntropy{true, true}, random_vector<double>(rng, n, -4, 4), soft, Shape{B, C}});
  cases.push_back({"BCE probabilities", BinaryCrossEntropy{false, true}, random_vector<double>(rng, n, 0.05, 0.95), soft, Shape{B, C}});
  const auto [t1, labels1] = one_hot();
  const auto [t2, labels2] = one_hot();
  cases.push_back({"CCE logits one-hot", CategoricalCrossEntropy{true}, random_vector<double>(rng, n, -3, 3), t1, Shape{B, C}});
  cases.push_back({"CCE logits labels", CategoricalCrossEntropy{true}, random_vector<double>(rng, n, -3, 3), labels1, Shape{B, 1}});
  cases.push_back({"CCE logits labels (B,)", CategoricalCrossEntropy{true}, random_vector<double>(rng, n, -3, 3), labels2, Shape{B}});
  cases.push_back({"CCE logits soft", CategoricalCrossEntropy{true, true}, random_vector<double>(rng, n, -3, 3), soft, Shape{B, C}});
  cases.push_back({"CCE probabilities one-hot", CategoricalCrossEntropy{}, random_vector<double>(rng, n, 0.05, 0.95), t2, Shape{B, C}});
  cases.push_back({"CCE probabilities labels", CategoricalCrossEntropy{}, random_vector<double>(rng, n, 0.05, 0.95), labels2, Shape{B, 1}});

  for (const Case& c : cases) {
    const Tensor<double> target(c.target_shape, c.target);
    for (bool weighted : {false, true}) {
      const Tensor<double>* wp = weighted ? &w : nullptr;
      auto L = [&](const std::vector<double>& v) { return compute_loss<double>(c.spec, Tensor<double>(Shape{B, C}, v), target, wp); };
      Tensor<double> grad(Shape{B, C}, std::numeric_limits<double>::quiet_NaN());
      const double loss = compute_loss<double>(c.spec, Tensor<double>(Shape{B, C}, c.pred), target, wp, &grad);
      CHECK(loss == L(c.pred));  // asking for the gradient does not change the loss
      hepnn::test::check_gradient(L, c.pred, grad.to_vector(), c.what + (weighted ? " weighted" : ""));

      // The weighted mean sum_i w_i l_i / sum_i w_i, with l_i the loss of sample i alone.
      double num = 0, den = 0;
      for (std::int64_t i = 0; i < B; ++i) {
        const std::int64_t tc = c.target_shape.rank() == 1 ? 1 : c.target_shape[1];
        const auto pi = static_cast<std::ptrdiff_t>(i * C), ti = static_cast<std::ptrdiff_t>(i * tc);
        const Tensor<double> p1(Shape{1, C}, std::vector<double>(c.pred.begin() + pi, c.pred.begin() + pi + C));
        const Tensor<double> t1s(c.target_shape.rank() == 1 ? Shape{1} : Shape{1, tc},
                                 std::vector<double>(c.target.begin() + ti, c.target.begin() + ti + tc));
        const double wi = weighted ? w_values[static_cast<std::size_t>(i)] : 1.0;
        num += wi * compute_loss<double>(c.spec, p1, t1s);
        den += wi;
      }
      INFO(c.what << (weighted ? " weighted" : ""));
      CHECK(std::abs(loss - num / den) <= 1e-13 * (1 + std::abs(loss)));
    }
  }
}

TEMPLATE_TEST_CASE("losses: binary cross-entropy from logits is stable at +-100", "[losses]", float, double) {
  using T = TestType;
  // z = [100, -100, 100, -100], t = [1, 0, 0, 1]: l = [~0, ~0, 100, 100] (log(1 + e^100) - 0 = 100)
  const auto z = tensor<T>(Shape{4, 1}, {100, -100, 100, -100});
  const auto t = tensor<T>(Shape{4, 1}, {1, 0, 0, 1});
  Tensor<T> grad(Shape{4, 1});
  const double loss = compute_loss<T>(BinaryCrossEntropy{true}, z, t, nullptr, &grad);
  CHECK(std::isfinite(loss));
  CHECK(std::abs(loss - 50.0) < 1e-12);
  // gradient (sigmoid(z) - t) / B = [0, 0, 1, -1] / 4
  CHECK(std::abs(double(grad(0, 0))) < 1e-30);
  CHECK(std::abs(double(grad(1, 0))) < 1e-30);
  CHECK(std::abs(double(grad(2, 0)) - 0.25) < 1e-12);
  CHECK(std::abs(double(grad(3, 0)) + 0.25) < 1e-12);
  // categorical from logits too: z = [1000, 0, -1000], class 2: l = 2000
  Tensor<T> g3(Shape{1, 3});
  const double cce = compute_loss<T>(CategoricalCrossEntropy{true}, tensor<T>(Shape{1, 3}, {1000, 0, -1000}),
                                     tensor<T>(Shape{1}, {2}), nullptr, &g3);
  CHECK(std::abs(cce - 2000.0) < 1e-9);
  CHECK(close(g3, {1, 0, -1}));
}

TEST_CASE("losses: from_logits and probability versions agree when p = sigmoid(z)", "[losses]") {
  std::mt19937 rng(5);
  const std::int64_t B = 5, C = 3;
  const auto zv = random_vector<double>(rng, static_cast<std::size_t>(B * C), -3, 3);
  std::vector<double> pv(zv.size());
  for (std::size_t i = 0; i < zv.size(); ++i) pv[i] = 1.0 / (1.0 + std::exp(-zv[i]));
  const Tensor<double> z(Shape{B, C}, zv), p(Shape{B, C}, pv);
  const auto t = hepnn::test::random_tensor<double>(rng, Shape{B, C}, 0, 1);
  const auto w = hepnn::test::random_tensor<double>(rng, Shape{B}, 0.5, 1.5);
  Tensor<double> gz(Shape{B, C}), gp(Shape{B, C});
  const double lz = compute_loss<double>(BinaryCrossEntropy{true, /*soft_targets=*/true}, z, t, &w, &gz);
  const double lp = compute_loss<double>(BinaryCrossEntropy{false, /*soft_targets=*/true}, p, t, &w, &gp);
  CHECK(std::abs(lz - lp) < 1e-12);
  // chain rule: dL/dz = dL/dp * p (1 - p)
  for (std::size_t i = 0; i < pv.size(); ++i) CHECK(std::abs(gz.data()[i] - gp.data()[i] * pv[i] * (1 - pv[i])) < 1e-12);

  // Likewise softmax probabilities for the categorical cross-entropy.
  std::vector<double> sm(zv.size());
  for (std::int64_t i = 0; i < B; ++i) {
    double s = 0;
    for (std::int64_t c = 0; c < C; ++c) s += std::exp(zv[static_cast<std::size_t>(i * C + c)]);
    for (std::int64_t c = 0; c < C; ++c) sm[static_cast<std::size_t>(i * C + c)] = std::exp(zv[static_cast<std::size_t>(i * C + c)]) / s;
  }
  const Tensor<double> labels(Shape{B}, {0, 2, 1, 1, 0});
  CHECK(std::abs(compute_loss<double>(CategoricalCrossEntropy{true}, z, labels, &w) -
                 compute_loss<double>(CategoricalCrossEntropy{false}, Tensor<double>(Shape{B, C}, sm), labels, &w)) < 1e-12);
}

TEST_CASE("losses: probabilities are clipped to 1e-7 and 1 - 1e-7", "[losses]") {
  // p = 0 with t = 1: -log(1e-7) = 16.118095650958319; the gradient is zero where clipped
  Tensor<double> grad(Shape{1, 1});
  const double l = compute_loss<double>(BinaryCrossEntropy{}, Tensor<double>(Shape{1, 1}, {0.0}),
                                        Tensor<double>(Shape{1, 1}, {1.0}), nullptr, &grad);
  CHECK(std::abs(l - 16.118095650958319) < 1e-9);
  CHECK(grad(0, 0) == 0.0);
  const double l2 = compute_loss<double>(CategoricalCrossEntropy{}, Tensor<double>(Shape{1, 2}, {0.0, 1.0}),
                                         Tensor<double>(Shape{1}, {0}));
  CHECK(std::abs(l2 - 16.118095650958319) < 1e-9);
}

TEST_CASE("losses: errors name the loss", "[losses]") {
  const Tensor<double> pred(Shape{2, 3}, 0.5);
  const Tensor<double> target(Shape{2, 3}, 0.0);

  // shape mismatches
  REQUIRE_THROWS_AS(compute_loss<double>(MeanSquaredError{}, pred, Tensor<double>(Shape{2, 2}, 0.0)), hepnn::Error);
  REQUIRE_THROWS_WITH(compute_loss<double>(MeanSquaredError{}, pred, Tensor<double>(Shape{2, 2}, 0.0)),
                      Contains("MeanSquaredError") && Contains("(2, 2)") && Contains("(2, 3)"));
  REQUIRE_THROWS_WITH(compute_loss<double>(MeanAbsoluteError{}, pred, Tensor<double>(Shape{3, 3}, 0.0)),
                      Contains("MeanAbsoluteError") && Contains("(3, 3)"));
  REQUIRE_THROWS_WITH(compute_loss<double>(Huber{}, Tensor<double>(Shape{6}, 0.0), Tensor<double>(Shape{6}, 0.0)),
                      Contains("Huber") && Contains("predictions must be (batch, outputs)"));
  REQUIRE_THROWS_WITH(compute_loss<double>(Huber{}, pred, Tensor<double>(Shape{2, 3, 1}, 0.0)), Contains("Huber"));
  // labels are for the categorical cross-entropy only
  REQUIRE_THROWS_WITH(compute_loss<double>(BinaryCrossEntropy{}, pred, Tensor<double>(Shape{2, 1}, 0.0)),
                      Contains("BinaryCrossEntropy") && Contains("do not match"));
  REQUIRE_THROWS_WITH(compute_loss<double>(CategoricalCrossEntropy{}, pred, Tensor<double>(Shape{2, 2}, 0.0)),
                      Contains("CategoricalCrossEntropy") && Contains("one-hot rows or one label column"));

  // labels out of range or not integers
  for (double bad : {3.0, -1.0, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    INFO("label " << bad);
    const Tensor<double> labels(Shape{2, 1}, {0.0, bad});
    REQUIRE_THROWS_WITH(compute_loss<double>(CategoricalCrossEntropy{true}, pred, labels),
                        Contains("CategoricalCrossEntropy") && Contains("row 1 has target") && Contains("[0, 3)"));
    REQUIRE_THROWS_AS(compute_loss<double>(CategoricalCrossEntropy{false}, pred, labels), hepnn::Error);
  }
  REQUIRE_THROWS_WITH(compute_loss<double>(CategoricalCrossEntropy{}, pred, Tensor<double>(Shape{2}, {2.0, 2.5})),
                      Contains("target 2.5"));

  // weights of the wrong length, non-positive sums
  const Tensor<double> w3(Shape{3}, 1.0);
  REQUIRE_THROWS_WITH(compute_loss<double>(Huber{}, pred, target, &w3),
                      Contains("Huber") && Contains("3 weights for 2 predictions"));
  const Tensor<double> w_zero(Shape{2}, {1.0, -1.0}), w_negative(Shape{2}, {-2.0, 0.5});
  REQUIRE_THROWS_WITH(compute_loss<double>(MeanSquaredError{}, pred, target, &w_zero),
                      Contains("MeanSquaredError") && Contains("sum of weights is 0"));
  REQUIRE_THROWS_WITH(compute_loss<double>(BinaryCrossEntropy{true}, pred, target, &w_negative),
                      Contains("BinaryCrossEntropy") && Contains("must be positive"));

  // a gradient tensor of the wrong shape, an empty batch, a bad Huber delta
  Tensor<double> bad_grad(Shape{3, 2});
  REQUIRE_THROWS_WITH(compute_loss<double>(MeanAbsoluteError{}, pred, target, nullptr, &bad_grad),
                      Contains("MeanAbsoluteError") && Contains("gradient tensor has shape (3, 2)"));
  REQUIRE_THROWS_WITH(compute_loss<double>(MeanSquaredError{}, Tensor<double>(Shape{0, 3}), Tensor<double>(Shape{0, 3})),
                      Contains("MeanSquaredError") && Contains("empty batch"));
  REQUIRE_THROWS_WITH(compute_loss<double>(Huber{-1.0}, pred, target), Contains("Huber") && Contains("delta"));
  REQUIRE_THROWS_WITH(compute_loss<double>(Huber{0.0}, pred, target), Contains("Huber") && Contains("delta"));
}
