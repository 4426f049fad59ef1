/// @file plot/ks.hpp
/// @brief The two-sample Kolmogorov-Smirnov test with event weights: the overtraining check of score plots.
///
/// The statistic is D = sup_x |F_a(x) - F_b(x)| between the two weighted empirical distribution functions
/// F(x) = (sum of w_i with x_i <= x) / (sum of w_i), evaluated after each group of equal values, so ties are
/// handled exactly. The p-value is the asymptotic Kolmogorov distribution at lambda = D sqrt(n_a n_b / (n_a + n_b)),
/// P = Q_KS(lambda) = 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lambda^2), as ROOT's TMath::KolmogorovProb (which TMVA's
/// overtraining check prints) and scipy.special.kolmogorov compute it. With weights, n_a and n_b are the effective
/// numbers of events (sum w)^2 / (sum w^2); unweighted they are the sample sizes. The asymptotic form is accurate
/// for n_eff of a few tens and more; for tiny samples it is only indicative. (scipy's ks_2samp(method='asymp')
/// gives the same D; since scipy 1.5 its p-value uses the finite-n distribution kstwo(round(n_eff)) instead, which
/// differs from Q_KS by O(1/sqrt(n_eff)).)
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <span>
#include <vector>

#include "hepnn/core/error.hpp"

namespace hepnn::inline HEPNN_ABI::plot {

/// Result of a two-sample Kolmogorov-Smirnov test.
struct KsResult {
  double statistic = 0;  ///< D, the largest distance between the two (weighted) distribution functions
  double p_value = 1;    ///< Q_KS(D sqrt(n_eff)): probability of a D at least this large if both samples come
                         ///< from one distribution
  double n_eff_a = 0;    ///< effective number of events of sample a, (sum w)^2 / (sum w^2)
  double n_eff_b = 0;    ///< effective number of events of sample b
};

/// Survival function of the Kolmogorov distribution, Q_KS(lambda) = P(K > lambda) =
/// 2 sum_{k>=1} (-1)^(k-1) exp(-2 k^2 lambda^2); 1 for lambda <= 0. For small lambda, where that series converges
/// slowly, the equivalent theta-function form 1 - sqrt(2 pi)/lambda sum_{k>=1} exp(-(2k-1)^2 pi^2 / (8 lambda^2)).
/// Absolute accuracy about 1e-15.
inline double kolmogorov_survival(double lambda) {
  HEPNN_CHECK(!std::isnan(lambda), "plot::kolmogorov_survival: lambda is nan");
  if (lambda <= 0) return 1.0;
  constexpr double pi = 3.14159265358979323846;
  if (lambda < 1.0) {
    double cdf = 0;
    for (int k = 1; k <= 20; ++k) {
      const double t = (2.0 * k - 1) * pi / lambda;
      const double term = std::exp(-t * t / 8);
      cdf += term;
      if (term < 1e-300 || term < 1e-17 * cdf) break;
    }
    cdf *= std::sqrt(2 * pi) / lambda;
    return std::clamp(1 - cdf, 0.0, 1.0);
  }
  double q = 0;
  for (int k = 1; k <= 100; ++k) {
    const double term = std::exp(-2.0 * k * k * lambda * lambda);
    q += (k % 2 == 1 ? 2 : -2) * term;
    if (term < 1e-300 || term < 1e-17 * q) break;
  }
  return std::clamp(q, 0.0, 1.0);
}

/// Effective number of events (sum w)^2 / (sum w^2); the size of the sample when weights are empty.
/// requires: sum w^2 > 0 when weights are given.
inline double effective_entries(std::span<const double> weights, std::size_t n) {
  if (weights.empty()) return double(n);
  double s = 0, s2 = 0;
  for (double w : weights) {
    s += w;
    s2 += w * w;
  }
  HEPNN_CHECK(s2 > 0, "plot::effective_entries: all weights are zero");
  return s * s / s2;
}

/// Weighted two-sample Kolmogorov-Smirnov test of samples a and b (see the file comment for the definition).
/// Empty weights mean every event weighs 1; negative weights are allowed (the distribution functions may then
/// leave [0, 1]) but each sample's weights must sum to a positive value.
/// requires: both samples non-empty, finite values and weights, weights empty or as long as their sample.
inline KsResult ks_test(std::span<const double> a, std::span<const double> b, std::span<const double> wa = {},
                        std::span<const double> wb = {}) {
  constexpr const char* who = "plot::ks_test";
  HEPNN_CHECK(!a.empty() && !b.empty(), who, ": empty sample (", a.size(), " and ", b.size(), " events)");
  HEPNN_CHECK(wa.empty() || wa.size() == a.size(), who, ": ", a.size(), " events in sample a but ", wa.size(),
              " weights");
  HEPNN_CHECK(wb.empty() || wb.size() == b.size(), who, ": ", b.size(), " events in sample b but ", wb.size(),
              " weights");
  struct Ev {
    double x, w;
    int sample;
  };
  std::vector<Ev> ev;
  ev.reserve(a.size() + b.size());
  double ta = 0, tb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double w = wa.empty() ? 1.0 : wa[i];
    HEPNN_CHECK(std::isfinite(a[i]) && std::isfinite(w), who, ": sample a, event ", i, ": value ", a[i], ", weight ",
                w, "; expected finite numbers");
    ev.push_back({a[i], w, 0});
    ta += w;
  }
  for (std::size_t i = 0; i < b.size(); ++i) {
    const double w = wb.empty() ? 1.0 : wb[i];
    HEPNN_CHECK(std::isfinite(b[i]) && std::isfinite(w), who, ": sample b, event ", i, ": value ", b[i], ", weight ",
                w, "; expected finite numbers");
    ev.push_back({b[i], w, 1});
    tb += w;
  }
  HEPNN_CHECK(ta > 0 && tb > 0, who, ": the weights of sample a sum to ", ta, " and of sample b to ", tb,
              "; both must be positive");
  std::sort(ev.begin(), ev.end(), [](const Ev& p, const Ev& q) { return p.x < q.x; });
  double ca = 0, cb = 0, d = 0;
  for (std::size_t i = 0; i < ev.size(); ++i) {
    (ev[i].sample == 0 ? ca : cb) += ev[i].w;
    if (i + 1 == ev.size() || ev[i + 1].x != ev[i].x) d = std::max(d, std::abs(ca / ta - cb / tb));
  }
  KsResult r;
  r.statistic = d;
  r.n_eff_a = effective_entries(wa, a.size());
  r.n_eff_b = effective_entries(wb, b.size());
  r.p_value = kolmogorov_survival(d * std::sqrt(r.n_eff_a * r.n_eff_b / (r.n_eff_a + r.n_eff_b)));
  return r;
}

}  // namespace hepnn::plot
