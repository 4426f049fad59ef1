/// @file tests/metrics/test_metrics.cpp
/// @brief Event-weighted metrics against hand-worked values and brute-force formulas.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <limits>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "hepnn/metrics/metrics.hpp"

using namespace hepnn::metrics;

namespace {

template <class T>
std::vector<T> vec(std::initializer_list<double> x) {
  return std::vector<T>(x.begin(), x.end());
}

template <class T>
std::span<const T> sp(const std::vector<T>& v) {
  return v;
}

/// Independent truth for AUC: sum over signal/background pairs of w_s w_b ([s_s > s_b] + 1/2 [s_s == s_b]),
/// divided by W_s W_b.
template <class T>
double pairwise_auc(const std::vector<T>& s, const std::vector<T>& y, const std::vector<T>& w) {
  double num = 0, ws = 0, wb = 0;
  for (std::size_t i = 0; i < s.size(); ++i) (y[i] == T(1) ? ws : wb) += double(w[i]);
  for (std::size_t i = 0; i < s.size(); ++i)
    for (std::size_t j = 0; j < s.size(); ++j)
      if (y[i] == T(1) && y[j] == T(0))
        num += double(w[i]) * double(w[j]) * (s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0);
  return num / (ws * wb);
}

/// Random events with heavy ties (scores on a grid of quarters, exact in float) and a signal shift.
template <class T>
void random_events(unsigned seed, bool negative_weights, std::vector<T>& s, std::vector<T>& y, std::vector<T>& w) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution is_signal(0.4);
  std::uniform_int_distribution<int> grid(0, 15);
  std::uniform_real_distribution<double> weight(negative_weights ? -0.5 : 0.1, 2.0);
  s.clear(), y.clear(), w.clear();
  for (int i = 0; i < 300; ++i) {
    const bool sig = is_signal(rng);
    y.push_back(T(sig));
    s.push_back(T((grid(rng) + (sig ? 4 : 0)) / 4.0));
    w.push_back(T(weight(rng)));
  }
}

}  // namespace

/// Every invalid input must raise hepnn::Error whose message names the function and the problem.
#define REQUIRE_HEPNN_ERROR(expr, text)               \
  do {                                                \
    REQUIRE_THROWS_AS(expr, hepnn::Error);            \
    REQUIRE_THROWS_WITH(expr, Catch::Contains(text)); \
  } while (0)

TEMPLATE_TEST_CASE("metrics: accuracy_binary hand-worked cases", "[metrics]", float, double) {
  const auto s = vec<TestType>({0.875, 0.375, 0.5, 0.25});
  const auto y = vec<TestType>({1, 1, 0, 0});
  // threshold 0.5 predicts {1, 0, 1, 0} (0.5 >= 0.5 is positive): events 0 and 3 correct.
  CHECK(accuracy_binary(sp(s), sp(y)) == Approx(0.5));
  // weights {1, 2, 3, 6}: (1 + 6) / 12.
  const auto w = vec<TestType>({1, 2, 3, 6});
  CHECK(accuracy_binary(sp(s), sp(y), sp(w)) == Approx(7.0 / 12));
  // negative weight {2, -1, 2, 1}: correct 2 + 1 = 3 over total 4.
  const auto wn = vec<TestType>({2, -1, 2, 1});
  CHECK(accuracy_binary(sp(s), sp(y), sp(wn)) == Approx(0.75));
  // threshold 0.3 predicts {1, 1, 1, 0}: events 0, 1, 3 correct.
  CHECK(accuracy_binary(sp(s), sp(y), {}, 0.3) == Approx(0.75));
  // threshold 0.6 predicts {1, 0, 0, 0}: events 0, 2, 3 correct; weighted (1 + 3 + 6) / 12.
  CHECK(accuracy_binary(sp(s), sp(y), sp(w), 0.6) == Approx(10.0 / 12));
}

TEMPLATE_TEST_CASE("metrics: accuracy_categorical with index, one-hot and probability labels", "[metrics]", float,
                   double) {
  // Row argmaxes {1, 0 (tie 0.5/0.5 goes to the first), 2, 0}.
  const auto s = vec<TestType>({0.1, 0.7, 0.2, /**/ 0.5, 0.5, 0.0, /**/ 0.2, 0.3, 0.5, /**/ 0.6, 0.3, 0.1});
  const auto idx = vec<TestType>({1, 1, 2, 1});  // rows 0 and 2 correct (a last-max tie rule would give 3 of 4)
  const auto onehot = vec<TestType>({0, 1, 0, /**/ 0, 1, 0, /**/ 0, 0, 1, /**/ 0, 1, 0});
  const auto probs = vec<TestType>({0.2, 0.7, 0.1, /**/ 0.1, 0.6, 0.3, /**/ 0.3, 0.3, 0.4, /**/ 0.4, 0.5, 0.1});
  const auto w = vec<TestType>({1, 2, 3, 4});
  CHECK(accuracy_categorical(sp(s), 3, sp(idx)) == Approx(0.5));
  CHECK(accuracy_categorical(sp(s), 3, sp(onehot)) == Approx(0.5));
  CHECK(accuracy_categorical(sp(s), 3, sp(probs)) == Approx(0.5));
  CHECK(accuracy_categorical(sp(s), 3, sp(idx), sp(w)) == Approx(4.0 / 10));     // (1 + 3) / 10
  CHECK(accuracy_categorical(sp(s), 3, sp(onehot), sp(w)) == Approx(4.0 / 10));  // same truth
  const auto wn = vec<TestType>({1, -1, 2, 2});
  CHECK(accuracy_categorical(sp(s), 3, sp(idx), sp(wn)) == Approx(3.0 / 4));  // (1 + 2) / 4
  const auto all_right = vec<TestType>({1, 0, 2, 0});
  CHECK(accuracy_categorical(sp(s), 3, sp(all_right)) == Approx(1.0));
  const auto one_class = vec<TestType>({0.25, 0.75});
  CHECK(accuracy_categorical(sp(one_class), 1, sp(vec<TestType>({0, 0}))) == Approx(1.0));
}

TEMPLATE_TEST_CASE("metrics: AUC closed-form cases", "[metrics]", float, double) {
  const auto y = vec<TestType>({0, 1, 0, 1, 1, 0});
  const auto w = vec<TestType>({1, 2, 0.5, 1, 3, 2});
  const auto perfect = vec<TestType>({0.1, 0.9, 0.2, 0.8, 0.7, 0.3});  // every signal above every background
  const auto reversed = vec<TestType>({0.9, 0.1, 0.8, 0.2, 0.3, 0.7});
  const auto tied = vec<TestType>({0.5, 0.5, 0.5, 0.5, 0.5, 0.5});
  CHECK(auc(sp(perfect), sp(y)) == Approx(1.0));
  CHECK(auc(sp(perfect), sp(y), sp(w)) == Approx(1.0));
  CHECK(auc(sp(reversed), sp(y), sp(w)) == Approx(0.0).margin(1e-15));
  CHECK(auc(sp(tied), sp(y), sp(w)) == Approx(0.5));
  // All-tied scores form one point: the curve is the diagonal from (0, 0) straight to (1, 1).
  const auto c = roc_curve(sp(tied), sp(y), sp(w));
  CHECK(c.fpr == std::vector<double>{0, 1});
  CHECK(c.tpr == std::vector<double>{0, 1});
  CHECK(c.thresholds[0] == std::numeric_limits<double>::infinity());
  CHECK(c.thresholds[1] == 0.5);
}

TEMPLATE_TEST_CASE("metrics: ROC and AUC of a 4-event weighted case worked by hand", "[metrics]", float, double) {
  const auto s = vec<TestType>({0.75, 0.5, 0.5, 0.25});
  const auto y = vec<TestType>({1, 0, 1, 0});
  const auto w = vec<TestType>({1, 2, 3, 4});
  // W_s = 1 + 3 = 4, W_b = 2 + 4 = 6. Cuts: >= 0.75 keeps s0 -> (0, 1/4); >= 0.5 adds b1, s2 -> (2/6, 4/4);
  // >= 0.25 adds b3 -> (1, 1).
  const auto c = roc_curve(sp(s), sp(y), sp(w));
  REQUIRE(c.fpr.size() == 4);
  CHECK(c.thresholds == std::vector<double>{std::numeric_limits<double>::infinity(), 0.75, 0.5, 0.25});
  CHECK(c.fpr[0] == 0);
  CHECK(c.fpr[1] == 0);
  CHECK(c.fpr[2] == Approx(1.0 / 3));
  CHECK(c.fpr[3] == 1);
  CHECK(c.tpr[0] == 0);
  CHECK(c.tpr[1] == Approx(0.25));
  CHECK(c.tpr[2] == 1);
  CHECK(c.tpr[3] == 1);
  // Pairs: s0 beats b1 (1*2) and b3 (1*4); s2 ties b1 (1/2 * 3*2) and beats b3 (3*4): 21 / (4*6) = 0.875.
  // Trapezoids agree: 1/3 * (1/4 + 1)/2 + 2/3 * 1 = 5/24 + 16/24.
  CHECK(auc(sp(s), sp(y), sp(w)) == Approx(0.875));
  // Unweighted: s0 beats both (2), s2 ties b1 (1/2) and beats b3 (1): 3.5 / 4.
  CHECK(auc(sp(s), sp(y)) == Approx(0.875));
  CHECK(auc(sp(s), sp(y), sp(vec<TestType>({1, 1, 1, 1}))) == Approx(0.875));
  const auto w2 = vec<TestType>({2, 1, 1, 3});
  // W_s = 3, W_b = 4; s0 beats b1, b3 (2*1 + 2*3 = 8); s2 ties b1 (1/2 * 1*1), beats b3 (1*3): 11.5 / 12.
  CHECK(auc(sp(s), sp(y), sp(w2)) == Approx(11.5 / 12));
}

TEMPLATE_TEST_CASE("metrics: ROC and AUC with a negative weight worked by hand", "[metrics]", float, double) {
  const auto s = vec<TestType>({1.0, 0.75, 0.5, 0.375, 0.25});
  const auto y = vec<TestType>({1, 0, 1, 1, 0});
  const auto w = vec<TestType>({2, 1, -1, 3, 2});
  // W_s = 2 - 1 + 3 = 4, W_b = 3. Cumulative (fp, tp) per cut: (0, 2), (1, 2), (1, 1), (1, 4), (3, 4):
  // the negative weight makes the tpr dip from 1/2 to 1/4.
  const auto c = roc_curve(sp(s), sp(y), sp(w));
  REQUIRE(c.fpr.size() == 6);
  const std::vector<double> fpr{0, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 1}, tpr{0, 0.5, 0.5, 0.25, 1, 1};
  for (std::size_t k = 0; k < 6; ++k) {
    CHECK(c.fpr[k] == Approx(fpr[k]));
    CHECK(c.tpr[k] == Approx(tpr[k]));
  }
  // Pairs: s0 beats b1, b4 (2*1 + 2*2 = 6); s2 beats b4 (-1*2 = -2); s3 beats b4 (3*2 = 6): 10 / 12.
  CHECK(auc(sp(s), sp(y), sp(w)) == Approx(10.0 / 12));
  CHECK(auc(sp(s), sp(y), sp(w)) == Approx(pairwise_auc(s, y, w)));
  // Working points take the first crossing in decreasing threshold.
  CHECK(signal_efficiency_at_rejection(sp(s), sp(y), sp(w), 0.5) == Approx(1.0));
  CHECK(background_rejection_at_efficiency(sp(s), sp(y), sp(w), 0.75) == Approx(2.0 / 3));
  CHECK(background_rejection_at_efficiency(sp(s), sp(y), sp(w), 0.4) == Approx(1.0));
}

TEMPLATE_TEST_CASE("metrics: AUC equals the brute-force pairwise formula on random data with ties", "[metrics]", float,
                   double) {
  std::vector<TestType> s, y, w;
  for (unsigned seed = 1; seed <= 6; ++seed)
    for (bool negative : {false, true}) {
      random_events(seed, negative, s, y, w);
      CAPTURE(seed, negative);
      CHECK(auc(sp(s), sp(y), sp(w)) == Approx(pairwise_auc(s, y, w)).epsilon(1e-12));
      const std::vector<TestType> ones(s.size(), TestType(1));
      CHECK(auc(sp(s), sp(y)) == Approx(pairwise_auc(s, y, ones)).epsilon(1e-12));
    }
}

TEMPLATE_TEST_CASE("metrics: ROC points match brute-force efficiencies, endpoints and monotonicity", "[metrics]", float,
                   double) {
  std::vector<TestType> s, y, w;
  for (unsigned seed = 10; seed <= 13; ++seed)
    for (bool negative : {false, true}) {
      random_events(seed, negative, s, y, w);
      CAPTURE(seed, negative);
      const auto c = roc_curve(sp(s), sp(y), sp(w));
      const std::set<TestType> distinct(s.begin(), s.end());
      REQUIRE(c.fpr.size() == distinct.size() + 1);
      REQUIRE(c.tpr.size() == c.fpr.size());
      REQUIRE(c.thresholds.size() == c.fpr.size());
      CHECK(c.fpr.front() == 0);
      CHECK(c.tpr.front() == 0);
      CHECK(c.thresholds.front() == std::numeric_limits<double>::infinity());
      CHECK(c.fpr.back() == 1);
      CHECK(c.tpr.back() == 1);
      CHECK(c.thresholds.back() == double(*distinct.begin()));
      double ws = 0, wb = 0;
      for (std::size_t i = 0; i < s.size(); ++i) (y[i] == TestType(1) ? ws : wb) += double(w[i]);
      for (std::size_t k = 1; k < c.fpr.size(); ++k) {
        CHECK(c.thresholds[k] < c.thresholds[k - 1]);
        if (!negative) {
          CHECK(c.fpr[k] >= c.fpr[k - 1]);
          CHECK(c.tpr[k] >= c.tpr[k - 1]);
        }
        double sel_s = 0, sel_b = 0;
        for (std::size_t i = 0; i < s.size(); ++i)
          if (double(s[i]) >= c.thresholds[k]) (y[i] == TestType(1) ? sel_s : sel_b) += double(w[i]);
        CHECK(c.tpr[k] == Approx(sel_s / ws).epsilon(1e-12).margin(1e-12));
        CHECK(c.fpr[k] == Approx(sel_b / wb).epsilon(1e-12).margin(1e-12));
      }
    }
}

TEMPLATE_TEST_CASE("metrics: working-point interpolation on a hand-computed curve", "[metrics]", float, double) {
  // Curve of the 4-event case: (fpr, tpr) = (0, 0), (0, 1/4), (1/3, 1), (1, 1).
  const auto s = vec<TestType>({0.75, 0.5, 0.5, 0.25});
  const auto y = vec<TestType>({1, 0, 1, 0});
  const auto w = vec<TestType>({1, 2, 3, 4});
  const auto eff = [&](double r) { return signal_efficiency_at_rejection(sp(s), sp(y), sp(w), r); };
  const auto rej = [&](double e) { return background_rejection_at_efficiency(sp(s), sp(y), sp(w), e); };
  CHECK(eff(5.0 / 6) == Approx(0.625));  // fpr 1/6: halfway from (0, 1/4) to (1/3, 1)
  CHECK(eff(0.9) == Approx(0.475));      // fpr 0.1: 0.25 + 0.3 * 0.75
  CHECK(eff(1.0) == Approx(0.25));       // fpr 0: the vertical segment's top
  CHECK(eff(0.5) == Approx(1.0));        // on the flat segment
  CHECK(eff(0.0) == Approx(1.0));
  CHECK(rej(0.625) == Approx(5.0 / 6));
  CHECK(rej(0.475) == Approx(0.9));
  CHECK(rej(0.25) == Approx(1.0));
  CHECK(rej(0.1) == Approx(1.0));      // on the vertical segment at fpr 0
  CHECK(rej(1.0) == Approx(2.0 / 3));  // the flat segment's left end, fpr 1/3
  CHECK(rej(0.0) == Approx(1.0));
  // Unweighted curve: (0, 0), (0, 1/2), (1/2, 1), (1, 1); fpr 1/4 -> tpr 3/4.
  CHECK(signal_efficiency_at_rejection(sp(s), sp(y), {}, 0.75) == Approx(0.75));
  CHECK(background_rejection_at_efficiency(sp(s), sp(y), {}, 0.75) == Approx(0.75));
}

TEMPLATE_TEST_CASE("metrics: regression metrics against hand values", "[metrics]", float, double) {
  const auto p = vec<TestType>({1, 2, 3, 4});
  const auto t = vec<TestType>({1.5, 2, 2, 6});
  // p - t = {-0.5, 0, 1, -2}: squares {0.25, 0, 1, 4}, absolutes {0.5, 0, 1, 2}.
  CHECK(mse(sp(p), sp(t)) == Approx(5.25 / 4));
  CHECK(mae(sp(p), sp(t)) == Approx(3.5 / 4));
  // mean t = 2.875; sum (t - mean)^2 = 13.1875; R^2 = 1 - 5.25 / 13.1875 = 127 / 211.
  CHECK(r2(sp(p), sp(t)) == Approx(127.0 / 211));
  const auto w = vec<TestType>({1, 3, 2, 2});            // W = 8
  CHECK(mse(sp(p), sp(t), sp(w)) == Approx(10.25 / 8));  // 0.25 + 0 + 2 + 8
  CHECK(mae(sp(p), sp(t), sp(w)) == Approx(6.5 / 8));    // 0.5 + 0 + 2 + 4
  // mean_w t = 23.5 / 8; sum w (t - mean)^2 = 25.21875; R^2 = 1 - 10.25 / 25.21875 = 479 / 807.
  CHECK(r2(sp(p), sp(t), sp(w)) == Approx(479.0 / 807));
  const auto wn = vec<TestType>({1, -1, 2, 2});  // W = 4, mean_w t = 15.5 / 4
  CHECK(mse(sp(p), sp(t), sp(wn)) == Approx(10.25 / 4));
  CHECK(mae(sp(p), sp(t), sp(wn)) == Approx(6.5 / 4));
  CHECK(r2(sp(p), sp(t), sp(wn)) == Approx(127.0 / 291));  // 1 - 10.25 / 18.1875
  CHECK(r2(sp(t), sp(t), sp(w)) == Approx(1.0));
  const std::vector<TestType> mean_w(4, TestType(23.5 / 8));  // predicting the weighted mean gives 0
  CHECK(r2(sp(mean_w), sp(t), sp(w)) == Approx(0.0).margin(1e-12));
}

TEMPLATE_TEST_CASE("metrics: log_loss against hand values and clipping", "[metrics]", float, double) {
  const auto p = vec<TestType>({0.75, 0.25, 0.5, 1.0});
  const auto y = vec<TestType>({1, 0, 0, 1});
  // -log(0.75), -log(0.75), -log(0.5), and -log(1 - 1e-7) since 1.0 is clipped to 1 - eps.
  const double l0 = std::log(4.0 / 3), l2 = std::log(2.0), l3 = -std::log(1 - 1e-7);
  CHECK(log_loss(sp(p), sp(y)) == Approx((2 * l0 + l2 + l3) / 4).epsilon(1e-12));
  const auto w = vec<TestType>({1, 2, 1, 4});
  CHECK(log_loss(sp(p), sp(y), sp(w)) == Approx((3 * l0 + l2 + 4 * l3) / 8).epsilon(1e-12));
  // A confident mistake costs -log(eps) instead of infinity.
  const auto wrong = vec<TestType>({0.0, 1.0});
  const auto truth = vec<TestType>({1, 0});
  CHECK(log_loss(sp(wrong), sp(truth)) == Approx(-std::log(1e-7)).epsilon(1e-9));
  CHECK(log_loss(sp(wrong), sp(truth), {}, 1e-3) == Approx(-std::log(1e-3)).epsilon(1e-9));
}

TEMPLATE_TEST_CASE("metrics: binary and ROC metrics reject invalid input", "[metrics]", float, double) {
  using T = TestType;
  using Fn = std::function<double(std::span<const T>, std::span<const T>, std::span<const T>)>;
  const std::vector<std::pair<std::string, Fn>> fns{
      {"accuracy_binary", [](auto s, auto y, auto w) { return accuracy_binary(s, y, w); }},
      {"roc_curve", [](auto s, auto y, auto w) { return roc_curve(s, y, w).tpr[0]; }},
      {"auc", [](auto s, auto y, auto w) { return auc(s, y, w); }},
      {"signal_efficiency_at_rejection",
       [](auto s, auto y, auto w) { return signal_efficiency_at_rejection(s, y, w, 0.9); }},
      {"background_rejection_at_efficiency",
       [](auto s, auto y, auto w) { return background_rejection_at_efficiency(s, y, w, 0.5); }},
  };
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const auto s = vec<T>({0.25, 0.5, 0.75}), y = vec<T>({0, 1, 1}), w = vec<T>({1, 1, 1});
  const auto y_bad = vec<T>({0, 1, 2});
  auto s_nan = s, w_nan = w;
  s_nan[1] = nan;
  w_nan[0] = nan;
  const auto y2 = vec<T>({0, 1}), w2 = vec<T>({1, 1});
  for (const auto& [name, f] : fns) {
    CAPTURE(name);
    REQUIRE_NOTHROW(f(sp(s), sp(y), sp(w)));
    REQUIRE_HEPNN_ERROR(f(sp(s), sp(y2), {}), name + ": 3 scores but 2 labels");
    REQUIRE_HEPNN_ERROR(f(sp(s), sp(y), sp(w2)), name + ": 3 scores but 2 weights");
    REQUIRE_HEPNN_ERROR(f({}, {}, {}), name + ": empty input");
    REQUIRE_HEPNN_ERROR(f(sp(s_nan), sp(y), {}), name + ": scores[1] is nan");
    REQUIRE_HEPNN_ERROR(f(sp(s), sp(y), sp(w_nan)), name + ": weights[0] is nan");
    REQUIRE_HEPNN_ERROR(f(sp(s), sp(y_bad), {}), name + ": labels[2] is 2; expected 0 or 1");
  }
  // Normalisers.
  REQUIRE_HEPNN_ERROR(accuracy_binary(sp(s), sp(y), sp(vec<T>({1, -2, 1}))),
                      "accuracy_binary: the event weights sum to 0");
  REQUIRE_HEPNN_ERROR(accuracy_binary(sp(s), sp(y), {}, std::nan("")), "accuracy_binary: threshold is NaN");
  const auto all_bkg = vec<T>({0, 0, 0});
  REQUIRE_HEPNN_ERROR(auc(sp(s), sp(all_bkg)), "auc: the signal (label 1) weights sum to 0");
  REQUIRE_HEPNN_ERROR(roc_curve(sp(s), sp(vec<T>({1, 1, 1}))), "roc_curve: the background (label 0) weights sum to 0");
  REQUIRE_HEPNN_ERROR(auc(sp(s), sp(y), sp(vec<T>({1, 1, -2}))), "auc: the signal (label 1) weights sum to -1");
  // Working-point targets.
  for (double bad : {-0.1, 1.5, std::nan("")}) {
    REQUIRE_HEPNN_ERROR(signal_efficiency_at_rejection(sp(s), sp(y), {}, bad),
                        "signal_efficiency_at_rejection: background_rejection");
    REQUIRE_HEPNN_ERROR(background_rejection_at_efficiency(sp(s), sp(y), {}, bad),
                        "background_rejection_at_efficiency: signal_efficiency");
  }
}

TEMPLATE_TEST_CASE("metrics: accuracy_categorical rejects invalid input", "[metrics]", float, double) {
  using T = TestType;
  const auto s = vec<T>({0.1, 0.7, 0.2, /**/ 0.5, 0.4, 0.1});
  const auto idx = vec<T>({1, 0});
  REQUIRE_NOTHROW(accuracy_categorical(sp(s), 3, sp(idx)));
  const char* who = "accuracy_categorical";
  const auto err = [who](const char* text) { return std::string(who) + ": " + text; };
  REQUIRE_HEPNN_ERROR(accuracy_categorical(sp(s), 0, sp(idx)), err("num_classes is 0"));
  REQUIRE_HEPNN_ERROR(accuracy_categorical(sp(s), 4, sp(idx)), err("6 scores do not form rows of 4 classes"));
  REQUIRE_HEPNN_ERROR(accuracy_categorical(sp(s), 3, sp(vec<T>({1, 0, 1}))), err("2 rows of scores but 3 labels"));
  REQUIRE_HEPNN_ERROR(accuracy_categorical(sp(s), 3, sp(idx), sp(vec<T>({1}))), err("2 rows of scores but 1 weights"));
  REQUIRE_HEPNN_ERROR(accuracy_categorical(std::span<const T>{}, 3, {}), err("empty input"));
  REQUIRE_HEPNN_ERROR(accuracy_categorical(sp(s), 3, sp(vec<T>({1, 3}))),
                      err("labels[1] is 3; expected a class index"));
  REQUIRE_HEPNN_ERROR(accuracy_categorical(sp(s), 3, sp(vec<T>({1.5, 0}))), err("labels[0] is 1.5"));
  REQUIRE_HEPNN_ERROR(accuracy_categorical(sp(s), 3, sp(vec<T>({1, -1}))), err("labels[1] is -1"));
  auto s_nan = s;
  s_nan[4] = std::numeric_limits<T>::quiet_NaN();
  REQUIRE_HEPNN_ERROR(accuracy_categorical(sp(s_nan), 3, sp(idx)), err("scores[4] is nan"));
  REQUIRE_HEPNN_ERROR(accuracy_categorical(sp(s), 3, sp(idx), sp(vec<T>({1, -1}))), err("the event weights sum to 0"));
}

TEMPLATE_TEST_CASE("metrics: regression metrics and log_loss reject invalid input", "[metrics]", float, double) {
  using T = TestType;
  using Fn = std::function<double(std::span<const T>, std::span<const T>, std::span<const T>)>;
  const std::vector<std::pair<std::string, Fn>> fns{
      {"mse", [](auto p, auto t, auto w) { return mse(p, t, w); }},
      {"mae", [](auto p, auto t, auto w) { return mae(p, t, w); }},
      {"r2", [](auto p, auto t, auto w) { return r2(p, t, w); }},
  };
  const auto p = vec<T>({0.25, 0.5, 0.75}), t = vec<T>({0, 1, 1});
  auto p_nan = p;
  p_nan[2] = std::numeric_limits<T>::infinity();
  for (const auto& [name, f] : fns) {
    CAPTURE(name);
    REQUIRE_NOTHROW(f(sp(p), sp(t), {}));
    REQUIRE_HEPNN_ERROR(f(sp(p), sp(vec<T>({0, 1})), {}), name + ": 3 predictions but 2 targets");
    REQUIRE_HEPNN_ERROR(f(sp(p), sp(t), sp(vec<T>({1}))), name + ": 3 predictions but 1 weights");
    REQUIRE_HEPNN_ERROR(f({}, {}, {}), name + ": empty input");
    REQUIRE_HEPNN_ERROR(f(sp(p_nan), sp(t), {}), name + ": predictions[2] is inf");
    REQUIRE_HEPNN_ERROR(f(sp(p), sp(t), sp(vec<T>({1, -0.5, -0.5}))), name + ": the event weights sum to 0");
  }
  // Constant targets, also when the only different target has zero weight.
  REQUIRE_HEPNN_ERROR(r2(sp(p), sp(vec<T>({0.1, 0.1, 0.1}))), "r2: the weighted variance of the targets is 0");
  REQUIRE_HEPNN_ERROR(r2(sp(p), sp(vec<T>({5, 0.1, 0.1})), sp(vec<T>({0, 0.3, 1.7}))),
                      "r2: the weighted variance of the targets is 0");
  // log_loss.
  REQUIRE_NOTHROW(log_loss(sp(p), sp(t)));
  REQUIRE_HEPNN_ERROR(log_loss(sp(p), sp(vec<T>({0, 1}))), "log_loss: 3 probabilities but 2 labels");
  REQUIRE_HEPNN_ERROR(log_loss(std::span<const T>{}, {}), "log_loss: empty input");
  REQUIRE_HEPNN_ERROR(log_loss(sp(p), sp(vec<T>({0.5, 1, 1}))), "log_loss: labels[0] is 0.5; expected 0 or 1");
  REQUIRE_HEPNN_ERROR(log_loss(sp(vec<T>({0.25, 1.5, 0.75})), sp(t)), "log_loss: probabilities[1] is 1.5");
  REQUIRE_HEPNN_ERROR(log_loss(sp(p_nan), sp(t)), "log_loss: probabilities[2] is inf");
  REQUIRE_HEPNN_ERROR(log_loss(sp(p), sp(t), {}, 0.0), "log_loss: eps 0 is outside (0, 0.5)");
  REQUIRE_HEPNN_ERROR(log_loss(sp(p), sp(t), {}, 0.5), "log_loss: eps 0.5 is outside (0, 0.5)");
  REQUIRE_HEPNN_ERROR(log_loss(sp(p), sp(t), sp(vec<T>({1, -1, 0}))), "log_loss: the event weights sum to 0");
}
