/// @file tests/optim/test_optimizers.cpp
/// @brief Optimizer<T, cpu>: three steps of every optimizer against the update written out by
/// hand (PyTorch conventions), gradient clipping, learning-rate schedules and invalid options.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "hepnn/optim/optimizer.hpp"

using hepnn::Adagrad;
using hepnn::Adam;
using hepnn::AdamW;
using hepnn::cpu;
using hepnn::Optimizer;
using hepnn::OptimizerSpec;
using hepnn::RMSprop;
using hepnn::SGD;
using Catch::Contains;

namespace {

using Vec = std::vector<double>;

const Vec p0{0.5, -1.2, 2.0, 0.0, 3.0};
// three steps of gradients; element 3 starts with a zero gradient
const std::vector<Vec> gradients{{0.1, -0.2, 0.3, 0.0, -1.0}, {0.4, 0.1, -0.3, 0.2, 0.5}, {-0.5, 0.3, 0.2, -0.1, 0.05}};

/// Runs three steps of hepnn's optimizer in T and returns the parameters after each step.
template <class T>
std::vector<Vec> run_hepnn(const OptimizerSpec& spec) {
  Optimizer<T, cpu> opt(spec, static_cast<std::int64_t>(p0.size()));
  std::vector<T> p(p0.begin(), p0.end());
  std::vector<Vec> out;
  for (const Vec& g : gradients) {
    std::vector<T> gt(g.begin(), g.end());
    opt.step(p.data(), gt.data());
    out.emplace_back(p.begin(), p.end());
  }
  CHECK(opt.iterations() == 3);
  return out;
}

// ---- the updates written out by hand, in double, one element at a time ----

std::vector<Vec> ref_sgd(double lr, double mu, bool nesterov, double wd) {
  Vec p = p0, v(p0.size(), 0.0);
  std::vector<Vec> out;
  for (const Vec& g : gradients) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double gi = g[i] + wd * p[i];  // L2 penalty (wd / 2) p^2 differentiated
      if (mu == 0) {
        p[i] = p[i] - lr * gi;
      } else {
        v[i] = mu * v[i] + gi;                                 // PyTorch: buf = mu buf + g
        p[i] = p[i] - lr * (nesterov ? gi + mu * v[i] : v[i]);  // Nesterov: g + mu buf
      }
    }
    out.push_back(p);
  }
  return out;
}

std::vector<Vec> ref_adam(double lr, double b1, double b2, double eps, double wd, bool decoupled) {
  Vec p = p0, m(p0.size(), 0.0), v(p0.size(), 0.0);
  std::vector<Vec> out;
  int t = 0;
  for (const Vec& g : gradients) {
    ++t;
    for (std::size_t i = 0; i < p.size(); ++i) {
      double gi = g[i];
      if (decoupled) p[i] = p[i] * (1.0 - lr * wd);  // AdamW: p <- p (1 - lr wd) first
      else gi += wd * p[i];                          // Adam: L2 in the gradient
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      const double m_hat = m[i] / (1 - std::pow(b1, t));
      const double v_hat = v[i] / (1 - std::pow(b2, t));
      p[i] = p[i] - lr * m_hat / (std::sqrt(v_hat) + eps);  // eps outside the square root
    }
    out.push_back(p);
  }
  return out;
}

std::vector<Vec> ref_rmsprop(double lr, double rho, double eps, double wd) {
  Vec p = p0, s(p0.size(), 0.0);
  std::vector<Vec> out;
  for (const Vec& g : gradients) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double gi = g[i] + wd * p[i];
      s[i] = rho * s[i] + (1 - rho) * gi * gi;
      p[i] = p[i] - lr * gi / (std::sqrt(s[i]) + eps);
    }
    out.push_back(p);
  }
  return out;
}

std::vector<Vec> ref_adagrad(double lr, double init, double eps, double wd) {
  Vec p = p0, a(p0.size(), init);
  std::vector<Vec> out;
  for (const Vec& g : gradients) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double gi = g[i] + wd * p[i];
      a[i] = a[i] + gi * gi;
      p[i] = p[i] - lr * gi / (std::sqrt(a[i]) + eps);
    }
    out.push_back(p);
  }
  return out;
}

template <class T>
void compare(const std::vector<Vec>& got, const std::vector<Vec>& expected) {
  const double tol = std::is_same_v<T, float> ? 2e-6 : 1e-14;
  REQUIRE(got.size() == expected.size());
  for (std::size_t s = 0; s < got.size(); ++s)
    for (std::size_t i = 0; i < got[s].size(); ++i) {
      INFO("after step " << s + 1 << ", parameter " << i << ": got " << got[s][i] << ", expected " << expected[s][i]);
      CHECK(std::abs(got[s][i] - expected[s][i]) <= tol * (1 + std::abs(expected[s][i])));
    }
  // and the parameters did move
  CHECK(expected.back() != p0);
}

}  // namespace

TEMPLATE_TEST_CASE("optim: SGD plain, momentum, Nesterov and weight decay", "[optim]", float, double) {
  using T = TestType;
  SECTION("plain") { compare<T>(run_hepnn<T>(SGD{0.1}), ref_sgd(0.1, 0.0, false, 0.0)); }
  SECTION("momentum") { compare<T>(run_hepnn<T>(SGD{0.1, 0.9}), ref_sgd(0.1, 0.9, false, 0.0)); }
  SECTION("nesterov") { compare<T>(run_hepnn<T>(SGD{0.1, 0.9, true}), ref_sgd(0.1, 0.9, true, 0.0)); }
  SECTION("weight decay") { compare<T>(run_hepnn<T>(SGD{0.1, 0.0, false, 0.05}), ref_sgd(0.1, 0.0, false, 0.05)); }
  SECTION("nesterov with weight decay") {
    compare<T>(run_hepnn<T>(SGD{0.05, 0.8, true, 0.1}), ref_sgd(0.05, 0.8, true, 0.1));
  }
  // Hand check of the first plain step: p = p0 - 0.1 g1
  const auto first = run_hepnn<T>(SGD{0.1}).front();
  CHECK(std::abs(first[0] - 0.49) < 1e-6);
  CHECK(std::abs(first[4] - 3.1) < 1e-6);
}

TEMPLATE_TEST_CASE("optim: Adam and AdamW", "[optim]", float, double) {
  using T = TestType;
  SECTION("Adam defaults") { compare<T>(run_hepnn<T>(Adam{}), ref_adam(1e-3, 0.9, 0.999, 1e-7, 0.0, false)); }
  SECTION("Adam with a large epsilon and L2 weight decay") {
    Adam a;
    a.learning_rate = 0.05;
    a.beta1 = 0.8;
    a.beta2 = 0.95;
    a.epsilon = 0.1;  // large enough that adding it inside the square root would show
    a.weight_decay = 0.02;
    compare<T>(run_hepnn<T>(a), ref_adam(0.05, 0.8, 0.95, 0.1, 0.02, false));
  }
  SECTION("AdamW") {
    AdamW a;
    a.learning_rate = 0.05;
    a.weight_decay = 0.1;
    a.epsilon = 1e-3;
    compare<T>(run_hepnn<T>(a), ref_adam(0.05, 0.9, 0.999, 1e-3, 0.1, true));
  }
  SECTION("AdamW defaults") { compare<T>(run_hepnn<T>(AdamW{}), ref_adam(1e-3, 0.9, 0.999, 1e-7, 0.004, true)); }
  // The first Adam step moves every parameter with a non-zero gradient by lr (m_hat / sqrt(v_hat) = sign g).
  const auto first = run_hepnn<T>(Adam{0.01}).front();
  CHECK(std::abs(first[0] - (0.5 - 0.01)) < 1e-6);
  CHECK(std::abs(first[1] - (-1.2 + 0.01)) < 1e-6);
  CHECK(first[3] == T(0));  // zero gradient: no move
}

TEMPLATE_TEST_CASE("optim: RMSprop and Adagrad", "[optim]", float, double) {
  using T = TestType;
  SECTION("RMSprop defaults") { compare<T>(run_hepnn<T>(RMSprop{}), ref_rmsprop(1e-3, 0.9, 1e-7, 0.0)); }
  SECTION("RMSprop with options") {
    RMSprop r;
    r.learning_rate = 0.01;
    r.rho = 0.7;
    r.epsilon = 0.05;
    r.weight_decay = 0.1;
    compare<T>(run_hepnn<T>(r), ref_rmsprop(0.01, 0.7, 0.05, 0.1));
  }
  SECTION("Adagrad defaults") { compare<T>(run_hepnn<T>(Adagrad{}), ref_adagrad(1e-3, 0.1, 1e-7, 0.0)); }
  SECTION("Adagrad with options") {
    Adagrad a;
    a.learning_rate = 0.2;
    a.initial_accumulator_value = 0.0;
    a.epsilon = 0.01;
    a.weight_decay = 0.05;
    compare<T>(run_hepnn<T>(a), ref_adagrad(0.2, 0.0, 0.01, 0.05));
  }
}

TEMPLATE_TEST_CASE("optim: state buffers", "[optim]", float, double) {
  using T = TestType;
  CHECK(Optimizer<T, cpu>(SGD{}, 7).state().empty());
  CHECK(Optimizer<T, cpu>(SGD{0.1, 0.9}, 7).state().size() == 1);
  CHECK(Optimizer<T, cpu>(Adam{}, 7).state().size() == 2);
  CHECK(Optimizer<T, cpu>(AdamW{}, 7).state().size() == 2);
  CHECK(Optimizer<T, cpu>(RMSprop{}, 7).state().size() == 1);
  const Optimizer<T, cpu> adagrad(Adagrad{}, 7);
  REQUIRE(adagrad.state().size() == 1);
  CHECK(adagrad.state()[0].shape() == hepnn::Shape{7});
  CHECK(adagrad.state()[0].to_vector() == std::vector<T>(7, T(0.1)));
  CHECK(hepnn::optimizer_name(RMSprop{}) == "RMSprop");
}

TEMPLATE_TEST_CASE("optim: gradient clipping by global norm", "[optim]", float, double) {
  using T = TestType;
  // g = (3, 4, 0, 12): norm 13
  SGD sgd{1.0};
  sgd.clip_norm = 6.5;
  Optimizer<T, cpu> opt(sgd, 4);
  std::vector<T> p{1, 1, 1, 1}, g{3, 4, 0, 12};
  const double norm = opt.step(p.data(), g.data());
  CHECK(std::abs(norm - 13.0) < 1e-6);
  // rescaled by 6.5 / 13 to norm 6.5, in place; the step used the clipped gradient
  const double tol = std::is_same_v<T, float> ? 1e-6 : 1e-15;
  CHECK(std::abs(double(g[0]) - 1.5) < tol);
  CHECK(std::abs(double(g[1]) - 2.0) < tol);
  CHECK(g[2] == T(0));
  CHECK(std::abs(double(g[3]) - 6.0) < tol);
  CHECK(std::abs(std::sqrt(double(g[0]) * g[0] + double(g[1]) * g[1] + double(g[3]) * g[3]) - 6.5) < 4 * tol);
  CHECK(std::abs(double(p[0]) - (1 - 1.5)) < tol);
  CHECK(std::abs(double(p[3]) - (1 - 6.0)) < 4 * tol);

  // below the threshold nothing changes
  sgd.clip_norm = 13.5;
  Optimizer<T, cpu> loose(sgd, 4);
  std::vector<T> p2{1, 1, 1, 1}, g2{3, 4, 0, 12};
  CHECK(std::abs(loose.step(p2.data(), g2.data()) - 13.0) < 1e-6);
  CHECK(g2 == std::vector<T>{3, 4, 0, 12});
  CHECK(p2 == std::vector<T>{-2, -3, 1, -11});

  // clipping off (0): the norm is still reported
  Optimizer<T, cpu> off(SGD{1.0}, 4);
  std::vector<T> g3{3, 4, 0, 12};
  CHECK(std::abs(off.step(p2.data(), g3.data()) - 13.0) < 1e-6);
  CHECK(g3 == std::vector<T>{3, 4, 0, 12});

  // clipping applies before Adam's moments too: a clipped and an unclipped-but-equal gradient agree
  Adam clipped;
  clipped.learning_rate = 0.1;
  clipped.clip_norm = 1.0;
  Optimizer<T, cpu> a1(clipped, 2), a2(Adam{0.1}, 2);
  std::vector<T> q1{0, 0}, q2{0, 0};
  for (int s = 0; s < 3; ++s) {
    std::vector<T> big{T(30), T(-40)}, unit{T(0.6), T(-0.8)};
    a1.step(q1.data(), big.data());
    a2.step(q2.data(), unit.data());
  }
  CHECK(std::abs(double(q1[0]) - double(q2[0])) < 1e-6);
  CHECK(std::abs(double(q1[1]) - double(q2[1])) < 1e-6);
}

TEST_CASE("optim: learning-rate schedules against closed forms", "[optim]") {
  using hepnn::scheduled_learning_rate;
  const double pi = 3.14159265358979323846;
  const double lr = 0.1;
  for (std::int64_t k = 0; k <= 12; ++k) {
    INFO("step " << k);
    const double kd = double(k);
    CHECK(scheduled_learning_rate(hepnn::ConstantLR{}, lr, k) == lr);
    // StepDecay: lr gamma^floor(k / step_size)
    CHECK(scheduled_learning_rate(hepnn::StepDecay{3, 0.5}, lr, k) ==
          Approx(lr * std::pow(0.5, double(k / 3))).epsilon(1e-15));
    // ExponentialDecay: lr rate^(k / decay_steps), floored exponent with staircase
    CHECK(scheduled_learning_rate(hepnn::ExponentialDecay{4, 0.5, false}, lr, k) ==
          Approx(lr * std::pow(2.0, -kd / 4.0)).epsilon(1e-14));
    CHECK(scheduled_learning_rate(hepnn::ExponentialDecay{4, 0.5, true}, lr, k) ==
          Approx(lr * std::pow(2.0, -std::floor(kd / 4.0))).epsilon(1e-14));
    // CosineDecay: lr (alpha + (1 - alpha) (1 + cos(pi min(k, K) / K)) / 2), flat after K
    const double t = std::min(kd, 8.0) / 8.0;
    CHECK(scheduled_learning_rate(hepnn::CosineDecay{8, 0.1}, lr, k) ==
          Approx(lr * (0.1 + 0.9 * 0.5 * (1 + std::cos(pi * t)))).epsilon(1e-14));
  }
  // a few values by hand
  CHECK(scheduled_learning_rate(hepnn::StepDecay{3, 0.5}, lr, 2) == Approx(0.1));
  CHECK(scheduled_learning_rate(hepnn::StepDecay{3, 0.5}, lr, 3) == Approx(0.05));
  CHECK(scheduled_learning_rate(hepnn::StepDecay{3, 0.5}, lr, 7) == Approx(0.025));
  CHECK(scheduled_learning_rate(hepnn::ExponentialDecay{4, 0.5, false}, lr, 2) == Approx(0.070710678118654752));
  CHECK(scheduled_learning_rate(hepnn::ExponentialDecay{4, 0.5, true}, lr, 7) == Approx(0.05));
  CHECK(scheduled_learning_rate(hepnn::CosineDecay{4, 0.1}, lr, 2) == Approx(0.055));     // 0.1 (0.1 + 0.45)
  CHECK(scheduled_learning_rate(hepnn::CosineDecay{4, 0.1}, lr, 1) == Approx(0.086819805153394639));
  CHECK(scheduled_learning_rate(hepnn::CosineDecay{4, 0.0}, lr, 4) == Approx(0.0).margin(1e-18));
  CHECK(scheduled_learning_rate(hepnn::CosineDecay{4, 0.1}, lr, 100) == Approx(0.01));

  CHECK_THROWS_WITH(scheduled_learning_rate(hepnn::StepDecay{0, 0.5}, lr, 1), Contains("StepDecay"));
  CHECK_THROWS_WITH(scheduled_learning_rate(hepnn::ExponentialDecay{-1}, lr, 1), Contains("ExponentialDecay"));
  CHECK_THROWS_WITH(scheduled_learning_rate(hepnn::CosineDecay{0}, lr, 1), Contains("CosineDecay"));
}

TEST_CASE("optim: the optimizer follows its schedule step by step", "[optim]") {
  const double lr = 0.1;
  struct Case {
    std::string what;
    hepnn::Schedule schedule;
    double (*closed)(std::int64_t);
  };
  const Case cases[] = {
      {"constant", hepnn::ConstantLR{}, [](std::int64_t) { return 0.1; }},
      {"step", hepnn::StepDecay{3, 0.5}, [](std::int64_t k) { return 0.1 * std::pow(0.5, double(k / 3)); }},
      {"exponential", hepnn::ExponentialDecay{4, 0.5, false}, [](std::int64_t k) { return 0.1 * std::pow(0.5, double(k) / 4); }},
      {"staircase", hepnn::ExponentialDecay{4, 0.5, true}, [](std::int64_t k) { return 0.1 * std::pow(0.5, double(k / 4)); }},
      {"cosine", hepnn::CosineDecay{8, 0.1},
       [](std::int64_t k) { return 0.1 * (0.1 + 0.45 * (1 + std::cos(3.14159265358979323846 * double(std::min<std::int64_t>(k, 8)) / 8))); }},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    SGD sgd{lr};
    sgd.schedule = c.schedule;
    Optimizer<double, cpu> opt(sgd, 1);
    double p = 0, expected_p = 0;
    for (std::int64_t k = 0; k < 12; ++k) {
      INFO("after " << k << " steps");
      CHECK(opt.iterations() == k);
      CHECK(opt.learning_rate() == Approx(c.closed(k)).epsilon(1e-14));
      // plain SGD with g = 1 moves p by exactly the rate of that step (the step counts from 0)
      double g = 1.0;
      opt.step(&p, &g);
      expected_p -= c.closed(k);
      CHECK(p == Approx(expected_p).epsilon(1e-13));
    }
    // the plateau factor scales the scheduled rate
    opt.set_factor(0.25);
    CHECK(opt.factor() == 0.25);
    CHECK(opt.learning_rate() == Approx(0.25 * c.closed(12)).epsilon(1e-14));
    double g = 1.0, before = p;
    opt.step(&p, &g);
    CHECK(before - p == Approx(0.25 * c.closed(12)).epsilon(1e-12));
  }
}

TEST_CASE("optim: invalid options throw naming the optimizer", "[optim]") {
  using O = Optimizer<double, cpu>;
  CHECK_THROWS_AS(O(SGD{-0.1}, 3), hepnn::Error);
  CHECK_THROWS_WITH(O(SGD{-0.1}, 3), Contains("SGD") && Contains("learning_rate"));
  CHECK_THROWS_WITH(O(SGD{0.0}, 3), Contains("SGD") && Contains("learning_rate"));
  CHECK_THROWS_WITH(O(SGD{std::nan("")}, 3), Contains("SGD"));
  CHECK_THROWS_WITH(O(SGD{0.1, 1.0}, 3), Contains("SGD") && Contains("momentum"));
  CHECK_THROWS_WITH(O(SGD{0.1, -0.5}, 3), Contains("SGD") && Contains("momentum"));
  CHECK_THROWS_WITH(O(SGD{0.1, 0.0, true}, 3), Contains("SGD") && Contains("nesterov"));
  CHECK_THROWS_WITH(O(SGD{0.1, 0.0, false, -1.0}, 3), Contains("SGD") && Contains("weight_decay"));

  Adam adam;
  adam.beta1 = 1.0;
  CHECK_THROWS_WITH(O(adam, 3), Contains("Adam") && Contains("beta1 and beta2"));
  adam.beta1 = 0.9;
  adam.beta2 = 1.5;
  CHECK_THROWS_WITH(O(adam, 3), Contains("Adam") && Contains("beta1 and beta2"));
  adam.beta2 = 0.999;
  adam.learning_rate = -1e-3;
  CHECK_THROWS_WITH(O(adam, 3), Contains("Adam") && Contains("learning_rate"));
  adam.learning_rate = 1e-3;
  adam.epsilon = 0.0;
  CHECK_THROWS_WITH(O(adam, 3), Contains("Adam") && Contains("epsilon"));
  adam.epsilon = 1e-7;
  adam.clip_norm = -1;
  CHECK_THROWS_WITH(O(adam, 3), Contains("Adam") && Contains("clip_norm"));

  AdamW adamw;
  adamw.beta2 = 1.0;
  CHECK_THROWS_WITH(O(adamw, 3), Contains("AdamW") && Contains("beta"));
  adamw.beta2 = 0.999;
  adamw.learning_rate = -1;
  CHECK_THROWS_WITH(O(adamw, 3), Contains("AdamW") && Contains("learning_rate"));

  RMSprop rms;
  rms.rho = 1.0;
  CHECK_THROWS_WITH(O(rms, 3), Contains("RMSprop") && Contains("rho"));
  rms.rho = 0.9;
  rms.learning_rate = -1;
  CHECK_THROWS_WITH(O(rms, 3), Contains("RMSprop") && Contains("learning_rate"));

  Adagrad ada;
  ada.learning_rate = -0.5;
  CHECK_THROWS_WITH(O(ada, 3), Contains("Adagrad") && Contains("learning_rate"));
  ada.learning_rate = 0.5;
  ada.initial_accumulator_value = -0.1;
  CHECK_THROWS_WITH(O(ada, 3), Contains("Adagrad") && Contains("initial_accumulator_value"));

  CHECK_NOTHROW(O(SGD{0.1, 0.99, true, 0.0, 1.0}, 3));
}

// Where the gradient stays 0 (a dead ReLU unit), the running averages decay geometrically; left
// alone they stick at the smallest denormal (0.9 * 2^-149 rounds back to 2^-149) and every later
// step takes the CPU's slow path for denormal operands. The truth: no state value is ever
// denormal, and the state reaches exactly 0.
TEMPLATE_TEST_CASE("optim: running averages never become denormal where the gradient is 0", "[optim]", float, double) {
  using T = TestType;
  const std::vector<OptimizerSpec> specs = {SGD{0.1, 0.9}, SGD{0.1, 0.9, true}, Adam{}, AdamW{}, RMSprop{}};
  for (const auto& spec : specs) {
    CAPTURE(hepnn::optimizer_name(spec));
    Optimizer<T, cpu> opt(spec, 4);
    // small gradients (sqrt of the smallest normal), then 0 for good: the averages of squares start
    // near the denormal range, the others reach it after ~400 (float) or ~3400 (double) steps
    const T g0 = std::sqrt(std::numeric_limits<T>::min());
    std::vector<T> p(4, T(0.5)), g = {g0, T(-3) * g0, T(0.5) * g0, T(2) * g0};
    opt.step(p.data(), g.data());
    std::fill(g.begin(), g.end(), T(0));
    bool denormal = false;
    const int steps = std::is_same_v<T, float> ? 2000 : 6000;
    for (int s = 0; s < steps; ++s) {
      opt.step(p.data(), g.data());
      for (const auto& st : opt.state())
        for (T v : st.to_vector()) denormal = denormal || std::fpclassify(v) == FP_SUBNORMAL;
    }
    CHECK_FALSE(denormal);
    for (const auto& st : opt.state())
      for (T v : st.to_vector()) CHECK(v == T(0));
  }
}
