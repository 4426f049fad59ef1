// The toy event generator of tutorial 02 (H->WW signal, Z/gamma*->ll and Z->tautau background, with
// event weights, 10% of them negative), shared with tutorial 14. See main.cpp and
// docs/tutorial-02-signal-vs-background.md for the physics and the choices made here.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <optional>
#include <vector>

#include "hepnn/hepnn.hpp"

namespace toy {

constexpr double pi = std::numbers::pi;

/// Each event owns its own Philox stream, so event i of a process is the same whatever the order
/// of generation, the number of events or the machine.
struct Rng {
  std::uint64_t seed, stream;
  std::uint64_t n_uniform = 0, n_normal = 0;
  double uniform() { return hepnn::philox_uniform(seed, 2 * stream, n_uniform++); }
  double normal() { return hepnn::philox_normal(seed, 2 * stream + 1, n_normal++); }
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }
};

/// A four-momentum in GeV.
struct P4 {
  double px = 0, py = 0, pz = 0, e = 0;
  double pt() const { return std::hypot(px, py); }
  double phi() const { return std::atan2(py, px); }
  double eta() const { return std::asinh(pz / pt()); }
  double p() const { return std::sqrt(px * px + py * py + pz * pz); }
  double m() const { return std::sqrt(std::max(0.0, e * e - px * px - py * py - pz * pz)); }
};
inline P4 operator+(const P4& a, const P4& b) { return {a.px + b.px, a.py + b.py, a.pz + b.pz, a.e + b.e}; }
inline P4 operator*(double s, const P4& a) { return {s * a.px, s * a.py, s * a.pz, s * a.e}; }

/// p, given in the rest frame of `frame`, seen in the frame where `frame` has its momentum.
inline P4 boost(const P4& p, const P4& frame) {
  const double bx = frame.px / frame.e, by = frame.py / frame.e, bz = frame.pz / frame.e;
  const double b2 = bx * bx + by * by + bz * bz;
  if (b2 <= 0) return p;
  const double gamma = 1.0 / std::sqrt(1.0 - b2), bp = bx * p.px + by * p.py + bz * p.pz;
  const double k = (gamma - 1.0) * bp / b2 + gamma * p.e;
  return {p.px + k * bx, p.py + k * by, p.pz + k * bz, gamma * (p.e + bp)};
}

/// A particle of mass m with transverse momentum pt, rapidity y and azimuth phi.
inline P4 from_pt_y_phi(double m, double pt, double y, double phi) {
  const double mt = std::hypot(m, pt);
  return {pt * std::cos(phi), pt * std::sin(phi), mt * std::sinh(y), mt * std::cosh(y)};
}

/// Isotropic two-body decay of `parent` into masses m1 and m2.
inline std::array<P4, 2> decay(const P4& parent, double m1, double m2, Rng& rng) {
  const double M = parent.m();
  const double sum = m1 + m2, diff = m1 - m2;
  const double q = std::sqrt(std::max(0.0, (M * M - sum * sum) * (M * M - diff * diff))) / (2 * M);  // momentum
  const double cos_t = 2 * rng.uniform() - 1, sin_t = std::sqrt(1 - cos_t * cos_t), phi = 2 * pi * rng.uniform();
  const double x = q * sin_t * std::cos(phi), y = q * sin_t * std::sin(phi), z = q * cos_t;
  return {boost(P4{x, y, z, std::hypot(q, m1)}, parent), boost(P4{-x, -y, -z, std::hypot(q, m2)}, parent)};
}

/// A Z boson mass from the Breit-Wigner shape, within 66-116 GeV.
inline double z_mass(Rng& rng) {
  for (;;) {
    const double m = 91.19 + 0.5 * 2.50 * std::tan(pi * (rng.uniform() - 0.5));
    if (m > 66 && m < 116) return m;
  }
}

enum class Process { higgs_ww, z_ll, z_tautau };

/// The six classifier inputs, in this order.
constexpr std::array<const char*, 6> feature_names = {"m_ll", "dphi_ll", "m_T", "pt_l1", "pt_l2", "met"};
using Features = std::array<float, feature_names.size()>;

/// Detector and analysis: smear the leptons and the missing ET, apply the preselection, compute
/// the variables. Returns nothing for events that fail the preselection.
inline std::optional<Features> reconstruct(P4 l1, P4 l2, P4 neutrinos, Rng& rng) {
  l1 = (1 + 0.02 * rng.normal()) * l1;  // 2% lepton momentum resolution
  l2 = (1 + 0.02 * rng.normal()) * l2;
  if (l2.pt() > l1.pt()) std::swap(l1, l2);
  // Missing ET: the neutrinos' transverse momentum, plus 10 GeV per component of mismeasurement.
  const double met_x = neutrinos.px + 15 * rng.normal(), met_y = neutrinos.py + 15 * rng.normal();
  if (l1.pt() < 22 || l2.pt() < 10 || std::abs(l1.eta()) > 2.5 || std::abs(l2.eta()) > 2.5) return std::nullopt;
  const P4 ll = l1 + l2;
  if (ll.m() < 12) return std::nullopt;
  double dphi = std::abs(l1.phi() - l2.phi());
  if (dphi > pi) dphi = 2 * pi - dphi;
  const double met = std::hypot(met_x, met_y);
  // Transverse mass of the dilepton + missing ET system, as in the ATLAS/CMS H->WW analyses.
  const double et_ll = std::hypot(ll.pt(), ll.m());
  const double sum_x = ll.px + met_x, sum_y = ll.py + met_y;
  const double mt = std::sqrt(std::max(0.0, (et_ll + met) * (et_ll + met) - sum_x * sum_x - sum_y * sum_y));
  return Features{float(ll.m()), float(dphi), float(mt), float(l1.pt()), float(l2.pt()), float(met)};
}

/// One generated event of a process; nothing if it fails the preselection.
inline std::optional<Features> generate(Process process, Rng& rng) {
  if (process == Process::higgs_ww) {
    // H -> W W*: one W on shell, the other off shell. Decays are done in the Higgs rest frame.
    // A spin-0 Higgs makes the two charged leptons fly close together; we mimic that spin
    // correlation by keeping a decay with probability ((1 + cos angle(l1, l2)) / 2)^2.
    const P4 higgs_at_rest{0, 0, 0, 125.0};
    std::array<P4, 2> w, lnu1, lnu2;
    for (;;) {
      const double m_wstar = std::max(12.0, 44.6 - 8 * std::abs(rng.normal()));  // m_H - m_W = 44.6
      w = decay(higgs_at_rest, 80.4, m_wstar, rng);
      lnu1 = decay(w[0], 0, 0, rng);
      lnu2 = decay(w[1], 0, 0, rng);
      const P4 &a = lnu1[0], &b = lnu2[0];
      const double cos_angle = (a.px * b.px + a.py * b.py + a.pz * b.pz) / (a.p() * b.p());
      if (rng.uniform() < 0.5 * (1 + cos_angle)) break;
    }
    const P4 higgs = from_pt_y_phi(125.0, rng.exponential(20.0), 1.5 * rng.normal(), 2 * pi * rng.uniform());
    return reconstruct(boost(lnu1[0], higgs), boost(lnu2[0], higgs), boost(lnu1[1] + lnu2[1], higgs), rng);
  }
  // Drell-Yan: a Z, or 40% of the time a virtual photon with a mass in the 1/m^2 continuum from
  // 15 to 66 GeV, recoiling softly against the rest of the event, decaying back to back in its
  // rest frame.
  const double m_z = process == Process::z_ll && rng.uniform() < 0.4
                         ? 1.0 / (1.0 / 15 - rng.uniform() * (1.0 / 15 - 1.0 / 66))
                         : z_mass(rng);
  const P4 z = from_pt_y_phi(m_z, rng.exponential(15.0), 1.8 * rng.normal(), 2 * pi * rng.uniform());
  if (process == Process::z_ll) {
    const auto ll = decay(z, 0, 0, rng);
    return reconstruct(ll[0], ll[1], P4{}, rng);  // no neutrinos: the missing ET is all mismeasurement
  }
  // Z -> tau tau, each tau -> l nu nu. The tau is so light compared with the Z that its decay
  // products fly along it (collinear approximation): the lepton carries a fraction x of the
  // tau's momentum, drawn from the spectrum f(x) ~ 5 - 9x^2 + 4x^3, the neutrinos the rest.
  const auto tautau = decay(z, 1.777, 1.777, rng);
  auto lepton_fraction = [&rng] {
    for (;;) {
      const double x = rng.uniform();
      if (rng.uniform() * 5 < 5 - 9 * x * x + 4 * x * x * x) return x;
    }
  };
  const double x1 = lepton_fraction(), x2 = lepton_fraction();
  return reconstruct(x1 * tautau[0], x2 * tautau[1], (1 - x1) * tautau[0] + (1 - x2) * tautau[1], rng);
}

/// The weighted events of tutorial 02: generated, preselected and labelled (signal 1), with the
/// features of feature_names. small: a tenth of the events. print: the table of the samples.
inline hepnn::data::Dataset<float> make_events(bool small, bool print) {
  using namespace hepnn;
  // A Monte Carlo event stands for sigma * L / N_generated real events: that is its weight.
  // Events that fail the preselection are dropped but still count in N_generated, so the sum of
  // weights of the kept events is the expected yield sigma * L * efficiency.
  // The signal mimics an NLO generator: 10% of its events carry a negative weight, and the
  // positive ones weigh correspondingly more, so that the sum of weights is unchanged.
  struct Sample {
    const char* name;
    Process process;
    double cross_section_pb;  // toy values after a generator-level filter, not measured ones
    std::int64_t generated;
    double negative_fraction;
  };
  const Sample samples[] = {{"H->WW->lvlv", Process::higgs_ww, 0.5, 30000, 0.10},
                            {"Z/gamma*->ll", Process::z_ll, 20.0, 16000, 0.0},
                            {"Z->tautau", Process::z_tautau, 40.0, 50000, 0.0}};
  constexpr double luminosity_pb = 140e3;  // 140 fb^-1
  constexpr std::uint64_t data_seed = 7;

  std::vector<Features> events;
  std::vector<float> labels, weights;
  if (print)
    std::printf("%-13s %10s %10s %11s %13s %12s\n", "process", "generated", "selected", "|weight|", "sum weights",
                "neg. weights");
  for (std::size_t s = 0; s < std::size(samples); ++s) {
    Sample smp = samples[s];
    if (small) smp.generated /= 10;
    const double w = smp.cross_section_pb * luminosity_pb / double(smp.generated) / (1 - 2 * smp.negative_fraction);
    double sum_w = 0;
    std::int64_t selected = 0, negative = 0;
    for (std::int64_t i = 0; i < smp.generated; ++i) {
      Rng rng{data_seed, (std::uint64_t(s) << 32) + std::uint64_t(i)};
      const auto f = generate(smp.process, rng);
      const bool is_negative = rng.uniform() < smp.negative_fraction;
      if (!f) continue;
      events.push_back(*f);
      labels.push_back(smp.process == Process::higgs_ww ? 1.0f : 0.0f);
      weights.push_back(float(is_negative ? -w : w));
      sum_w += weights.back();
      ++selected;
      negative += is_negative;
    }
    if (print)
      std::printf("%-13s %10lld %10lld %11.3f %13.1f %11.1f%%\n", smp.name, (long long)smp.generated,
                  (long long)selected, w, sum_w, 100.0 * double(negative) / double(selected));
  }

  const auto n_events = static_cast<std::int64_t>(events.size());
  const auto n_features = static_cast<std::int64_t>(feature_names.size());
  Tensor<float> x(Shape{n_events, n_features});
  for (std::int64_t i = 0; i < n_events; ++i)
    for (std::int64_t j = 0; j < n_features; ++j) x(i, j) = events[std::size_t(i)][std::size_t(j)];
  return data::Dataset<float>(std::move(x), Tensor<float>(Shape{n_events}, labels),
                              Tensor<float>(Shape{n_events}, weights));
}

}  // namespace toy
