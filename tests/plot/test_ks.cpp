/// @file tests/plot/test_ks.cpp
/// @brief The weighted two-sample Kolmogorov-Smirnov test against scipy (tests/golden/make_ks_golden.py) and
/// against properties that must hold exactly.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "hepnn/plot/ks.hpp"

using namespace hepnn;

namespace {

/// Reads tests/golden/data/ks.txt: `name rank d0` then one line of values.
std::map<std::string, std::vector<double>> read_golden() {
  const std::string path = std::string(HEPNN_GOLDEN_DIR) + "/ks.txt";
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::map<std::string, std::vector<double>> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream h(line);
    std::string name;
    int rank = 0;
    std::size_t n = 0;
    h >> name >> rank >> n;
    std::vector<double> v(n);
    for (auto& x : v) f >> x;
    std::getline(f, line);  // rest of the value line
    out[name] = std::move(v);
  }
  return out;
}

}  // namespace

TEST_CASE("kolmogorov_survival agrees with scipy.special.kolmogorov", "[plot][ks]") {
  const auto g = read_golden();
  const auto& lam = g.at("kolmogorov.lambda");
  const auto& q = g.at("kolmogorov.q");
  REQUIRE(lam.size() == q.size());
  for (std::size_t i = 0; i < lam.size(); ++i) {
    INFO("lambda = " << lam[i]);
    CHECK(plot::kolmogorov_survival(lam[i]) == Approx(q[i]).margin(1e-14).epsilon(1e-12));
  }
  CHECK(plot::kolmogorov_survival(0) == 1.0);
  CHECK(plot::kolmogorov_survival(-1) == 1.0);
  CHECK(plot::kolmogorov_survival(40) == 0.0);
  // continuous where the two series meet
  CHECK(plot::kolmogorov_survival(1 - 1e-12) == Approx(plot::kolmogorov_survival(1 + 1e-12)).epsilon(1e-10));
}

TEST_CASE("ks_test agrees with scipy on unweighted and weighted samples", "[plot][ks]") {
  const auto g = read_golden();
  for (const char* name : {"small", "ties", "shifted", "same", "scores", "weighted"}) {
    INFO("case " << name);
    const std::string n = name;
    const auto& a = g.at(n + ".a");
    const auto& b = g.at(n + ".b");
    const bool weighted = g.count(n + ".wa") != 0;
    const auto r = weighted ? plot::ks_test(a, b, g.at(n + ".wa"), g.at(n + ".wb")) : plot::ks_test(a, b);
    CHECK(r.statistic == Approx(g.at(n + ".d")[0]).margin(1e-12));
    CHECK(r.p_value == Approx(g.at(n + ".p_kolmogorov")[0]).margin(1e-12).epsilon(1e-9));
    if (!weighted) {
      CHECK(r.n_eff_a == double(a.size()));
      CHECK(r.n_eff_b == double(b.size()));
      // scipy's ks_2samp(method='asymp') uses the finite-n distribution: close, not equal, for these sizes
      CHECK(r.p_value == Approx(g.at(n + ".p_ks2samp")[0]).margin(0.05));
    }
  }
}

TEST_CASE("ks_test: weights", "[plot][ks]") {
  const std::vector<double> a{0.1, 0.4, 0.4, 0.9, 1.3, 2.0}, b{0.2, 0.4, 1.1, 1.5, 2.5};
  const auto plain = plot::ks_test(a, b);
  SECTION("uniform weights change nothing") {
    const std::vector<double> wa(a.size(), 2.5), wb(b.size(), 0.3);
    const auto r = plot::ks_test(a, b, wa, wb);
    CHECK(r.statistic == Approx(plain.statistic).margin(1e-15));
    CHECK(r.n_eff_a == Approx(double(a.size())));
    CHECK(r.n_eff_b == Approx(double(b.size())));
    CHECK(r.p_value == Approx(plain.p_value).margin(1e-14));
  }
  SECTION("an integer weight is the same as repeating the event (for D)") {
    const std::vector<double> wa{1, 3, 1, 2, 1, 1};
    std::vector<double> rep;
    for (std::size_t i = 0; i < a.size(); ++i)
      for (int k = 0; k < int(wa[i]); ++k) rep.push_back(a[i]);
    CHECK(plot::ks_test(a, b, wa, {}).statistic == Approx(plot::ks_test(rep, b).statistic).margin(1e-15));
    const double s = 9, s2 = 1 + 9 + 1 + 4 + 1 + 1;
    CHECK(plot::ks_test(a, b, wa, {}).n_eff_a == Approx(s * s / s2));
  }
  SECTION("symmetric, identical and disjoint samples") {
    CHECK(plot::ks_test(b, a).statistic == Approx(plain.statistic).margin(1e-15));
    CHECK(plot::ks_test(b, a).p_value == Approx(plain.p_value).margin(1e-15));
    const auto same = plot::ks_test(a, a);
    CHECK(same.statistic == 0.0);
    CHECK(same.p_value == 1.0);
    const std::vector<double> far{10, 11, 12};
    CHECK(plot::ks_test(a, far).statistic == Approx(1.0).margin(1e-15));
  }
  SECTION("negative weights are allowed while each total stays positive") {
    const std::vector<double> wa{1, -0.2, 1, 1, 1, 1};
    const auto r = plot::ks_test(a, b, wa, {});
    CHECK(std::isfinite(r.p_value));
    CHECK(r.n_eff_a == Approx(4.8 * 4.8 / 5.04));
  }
}

TEST_CASE("ks_test: bad input names what is wrong", "[plot][ks]") {
  const std::vector<double> a{1, 2, 3}, b{2, 3}, empty;
  CHECK_THROWS_WITH(plot::ks_test(empty, b), Catch::Contains("empty sample"));
  CHECK_THROWS_WITH(plot::ks_test(a, b, std::vector<double>{1, 2}), Catch::Contains("3 events in sample a but 2 weights"));
  CHECK_THROWS_WITH(plot::ks_test(a, b, std::vector<double>{1, -2, 0.5}), Catch::Contains("must be positive"));
  CHECK_THROWS_WITH(plot::ks_test(a, std::vector<double>{1, NAN}), Catch::Contains("sample b, event 1"));
  CHECK_THROWS_AS(plot::kolmogorov_survival(NAN), hepnn::Error);
}
