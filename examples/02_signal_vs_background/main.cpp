// Tutorial 02: separating a Higgs signal from Drell-Yan background with a small neural network.
//
//   signal:      gg -> H -> WW* -> l nu l nu       (m_H = 125 GeV)
//   background:  Z/gamma* -> l l                   (Z peak and low-mass tail, no real missing ET)
//                Z -> tau tau -> l nu nu l nu nu   (lower m_ll and real missing ET, the hard part)
//
// The program generates a toy sample with event weights, trains a classifier on six kinematic
// variables, measures it on held-out events and compares it with the best cut on a single
// variable. Everything is reproducible: all random numbers come from Philox streams.
// Usage: 02_signal_vs_background [output directory, default "."]
// With the environment variable HEPNN_TUTORIAL_SMALL=1 it generates a tenth of the events (a
// quick check, as the tests run it); everything else is the same.
// See docs/tutorial-02-signal-vs-background.md for the physics and the choices made here.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hepnn/hepnn.hpp"
#include "hepnn/plot.hpp"

using namespace hepnn;

// ============================================================================================
// Part 1. A toy event generator
// ============================================================================================
namespace toy {

constexpr double pi = std::numbers::pi;

/// Each event owns its own Philox stream, so event i of a process is the same whatever the order
/// of generation, the number of events or the machine.
struct Rng {
  std::uint64_t seed, stream;
  std::uint64_t n_uniform = 0, n_normal = 0;
  double uniform() { return philox_uniform(seed, 2 * stream, n_uniform++); }
  double normal() { return philox_normal(seed, 2 * stream + 1, n_normal++); }
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
P4 operator+(const P4& a, const P4& b) { return {a.px + b.px, a.py + b.py, a.pz + b.pz, a.e + b.e}; }
P4 operator*(double s, const P4& a) { return {s * a.px, s * a.py, s * a.pz, s * a.e}; }

/// p, given in the rest frame of `frame`, seen in the frame where `frame` has its momentum.
P4 boost(const P4& p, const P4& frame) {
  const double bx = frame.px / frame.e, by = frame.py / frame.e, bz = frame.pz / frame.e;
  const double b2 = bx * bx + by * by + bz * bz;
  if (b2 <= 0) return p;
  const double gamma = 1.0 / std::sqrt(1.0 - b2), bp = bx * p.px + by * p.py + bz * p.pz;
  const double k = (gamma - 1.0) * bp / b2 + gamma * p.e;
  return {p.px + k * bx, p.py + k * by, p.pz + k * bz, gamma * (p.e + bp)};
}

/// A particle of mass m with transverse momentum pt, rapidity y and azimuth phi.
P4 from_pt_y_phi(double m, double pt, double y, double phi) {
  const double mt = std::hypot(m, pt);
  return {pt * std::cos(phi), pt * std::sin(phi), mt * std::sinh(y), mt * std::cosh(y)};
}

/// Isotropic two-body decay of `parent` into masses m1 and m2.
std::array<P4, 2> decay(const P4& parent, double m1, double m2, Rng& rng) {
  const double M = parent.m();
  const double sum = m1 + m2, diff = m1 - m2;
  const double q = std::sqrt(std::max(0.0, (M * M - sum * sum) * (M * M - diff * diff))) / (2 * M);  // momentum
  const double cos_t = 2 * rng.uniform() - 1, sin_t = std::sqrt(1 - cos_t * cos_t), phi = 2 * pi * rng.uniform();
  const double x = q * sin_t * std::cos(phi), y = q * sin_t * std::sin(phi), z = q * cos_t;
  return {boost(P4{x, y, z, std::hypot(q, m1)}, parent), boost(P4{-x, -y, -z, std::hypot(q, m2)}, parent)};
}

/// A Z boson mass from the Breit-Wigner shape, within 66-116 GeV.
double z_mass(Rng& rng) {
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
std::optional<Features> reconstruct(P4 l1, P4 l2, P4 neutrinos, Rng& rng) {
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
std::optional<Features> generate(Process process, Rng& rng) {
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

}  // namespace toy

// ============================================================================================
// Part 2. Small helpers of the analysis
// ============================================================================================

/// A view of a host tensor's values, for the metrics functions.
std::span<const float> values(const Tensor<float>& t) { return {t.data(), static_cast<std::size_t>(t.size())}; }

/// Column j of a (N, F) feature tensor.
std::vector<float> column(const Tensor<float>& x, std::int64_t j) {
  std::vector<float> c(static_cast<std::size_t>(x.dim(0)));
  for (std::int64_t i = 0; i < x.dim(0); ++i) c[static_cast<std::size_t>(i)] = x(i, j);
  return c;
}

void write_roc(const std::filesystem::path& path, const metrics::RocCurve& roc) {
  std::ofstream out(path);
  out << "fpr,tpr,threshold\n";
  out.precision(8);
  for (std::size_t k = 0; k < roc.fpr.size(); ++k)
    out << roc.fpr[k] << ',' << roc.tpr[k] << ',' << roc.thresholds[k] << '\n';
}

double weight_sum(const data::Dataset<float>& d, float label) {
  double s = 0;
  for (std::int64_t i = 0; i < d.size(); ++i)
    if (d.targets()(i, 0) == label) s += d.weights()(i);
  return s;
}

int main(int argc, char** argv) {
  const auto start = std::chrono::steady_clock::now();
  const std::filesystem::path out_dir = argc > 1 ? argv[1] : ".";
  std::filesystem::create_directories(out_dir);
  // One thread: a network this small does a few microseconds of work per layer and batch, less
  // than it costs to wake a second thread, and on a busy machine waiting for a descheduled thread
  // slows training many times over. The results are bitwise the same for any thread count; use
  // set_num_threads(0) (all cores) for large networks and batches.
  set_num_threads(1);
  std::printf("hepnn tutorial 02: H->WW signal vs Drell-Yan background (%d CPU thread)\n\n", num_threads());
  const char* small_env = std::getenv("HEPNN_TUTORIAL_SMALL");
  const bool small = small_env && *small_env && std::string_view(small_env) != "0";
  if (small) std::printf("HEPNN_TUTORIAL_SMALL: a tenth of the events\n\n");

  // ---- 1. Generate the events, with weights ------------------------------------------------
  // A Monte Carlo event stands for sigma * L / N_generated real events: that is its weight.
  // Events that fail the preselection are dropped but still count in N_generated, so the sum of
  // weights of the kept events is the expected yield sigma * L * efficiency.
  // The signal mimics an NLO generator: 10% of its events carry a negative weight, and the
  // positive ones weigh correspondingly more, so that the sum of weights is unchanged.
  struct Sample {
    const char* name;
    toy::Process process;
    double cross_section_pb;  // toy values after a generator-level filter, not measured ones
    std::int64_t generated;
    double negative_fraction;
  };
  const Sample samples[] = {{"H->WW->lvlv", toy::Process::higgs_ww, 0.5, 30000, 0.10},
                            {"Z/gamma*->ll", toy::Process::z_ll, 20.0, 16000, 0.0},
                            {"Z->tautau", toy::Process::z_tautau, 40.0, 50000, 0.0}};
  constexpr double luminosity_pb = 140e3;  // 140 fb^-1
  constexpr std::uint64_t data_seed = 7;

  std::vector<toy::Features> events;
  std::vector<float> labels, weights;
  std::printf("%-13s %10s %10s %11s %13s %12s\n", "process", "generated", "selected", "|weight|", "sum weights",
              "neg. weights");
  for (std::size_t s = 0; s < std::size(samples); ++s) {
    Sample smp = samples[s];
    if (small) smp.generated /= 10;
    const double w = smp.cross_section_pb * luminosity_pb / double(smp.generated) / (1 - 2 * smp.negative_fraction);
    double sum_w = 0;
    std::int64_t selected = 0, negative = 0;
    for (std::int64_t i = 0; i < smp.generated; ++i) {
      toy::Rng rng{data_seed, (std::uint64_t(s) << 32) + std::uint64_t(i)};
      const auto f = toy::generate(smp.process, rng);
      const bool is_negative = rng.uniform() < smp.negative_fraction;
      if (!f) continue;
      events.push_back(*f);
      labels.push_back(smp.process == toy::Process::higgs_ww ? 1.0f : 0.0f);
      weights.push_back(float(is_negative ? -w : w));
      sum_w += weights.back();
      ++selected;
      negative += is_negative;
    }
    std::printf("%-13s %10lld %10lld %11.3f %13.1f %11.1f%%\n", smp.name, (long long)smp.generated,
                (long long)selected, w, sum_w, 100.0 * double(negative) / double(selected));
  }

  const auto n_events = static_cast<std::int64_t>(events.size());
  const auto n_features = static_cast<std::int64_t>(toy::feature_names.size());
  Tensor<float> x(Shape{n_events, n_features});
  for (std::int64_t i = 0; i < n_events; ++i)
    for (std::int64_t j = 0; j < n_features; ++j) x(i, j) = events[std::size_t(i)][std::size_t(j)];
  const data::Dataset<float> all(std::move(x), Tensor<float>(Shape{n_events}, labels),
                                 Tensor<float>(Shape{n_events}, weights));

  // ---- 2. Shuffle and split: 60% training, 20% validation, 20% test ---------------------------
  // Training events fit the network's parameters, validation events decide when to stop, and the
  // test events are looked at once, at the end, for an unbiased measurement of the performance.
  data::Split<float> split = all.shuffled(/*seed=*/1).split({.validation = 0.2, .test = 0.2});
  std::printf("\n%lld events: %lld training, %lld validation, %lld test\n", (long long)n_events,
              (long long)split.train.size(), (long long)split.validation.size(), (long long)split.test.size());
  const Tensor<float> raw_test_features = split.test.features().clone();  // in GeV, for the cut baseline

  // ---- 3. Standardise the inputs ---------------------------------------------------------------
  // Networks train best on inputs of order 1. Shift and scale every variable to mean 0 and
  // standard deviation 1, with numbers taken from the training events only: the test events
  // must not influence anything about the model. (A plain, unweighted mean and spread: this is
  // a change of units, not a physics measurement.)
  std::vector<double> mean(std::size_t(n_features), 0.0), stddev(std::size_t(n_features), 0.0);
  {
    const Tensor<float>& xt = split.train.features();
    const double n = double(xt.dim(0));
    for (std::int64_t j = 0; j < n_features; ++j) {
      double s = 0, s2 = 0;
      for (std::int64_t i = 0; i < xt.dim(0); ++i) s += xt(i, j);
      const double m = s / n;
      for (std::int64_t i = 0; i < xt.dim(0); ++i) s2 += (xt(i, j) - m) * (xt(i, j) - m);
      mean[std::size_t(j)] = m;
      stddev[std::size_t(j)] = std::sqrt(s2 / n);
    }
  }
  for (data::Dataset<float>* part : {&split.train, &split.validation, &split.test}) {
    Tensor<float>& xp = part->features();
    for (std::int64_t i = 0; i < xp.dim(0); ++i)
      for (std::int64_t j = 0; j < n_features; ++j)
        xp(i, j) = float((xp(i, j) - mean[std::size_t(j)]) / stddev[std::size_t(j)]);
  }

  // ---- 4. The model ---------------------------------------------------------------------------
  // Two hidden layers of 64 neurons with ReLU, dropout against overfitting, and one output: a
  // logit z, with probability(signal) = sigmoid(z). (Dense{.units = 64, .activation =
  // Activation::relu} fuses a Dense and a ReLU into one layer and is a little faster.)
  Sequential<float, cpu> model{Input{n_features}, Dense{64}, ReLU{}, Dropout{.rate = 0.1},
                               Dense{64}, ReLU{}, Dropout{.rate = 0.1}, Dense{1}};
  model.compile({.loss = BinaryCrossEntropy{.from_logits = true},
                 .optimizer = Adam{.learning_rate = 1e-3},
                 .metrics = {metrics::AUC{}, metrics::Accuracy{}},
                 .seed = 42});
  std::printf("\n");
  model.summary();

  // ---- 5. Train --------------------------------------------------------------------------------
  // The loss is the weighted mean sum_i w_i l_i / sum_i w_i, so every event counts with its
  // physics weight, negative ones included. The background outweighs the signal about 50 to 1;
  // class_weight scales the signal weights so that both classes weigh the same in training and
  // the network does not learn to call everything background.
  const double sig_w = weight_sum(split.train, 1), bkg_w = weight_sum(split.train, 0);
  std::printf("\nTraining (at most 60 epochs, stopping early when val_loss stalls)\n"
              "sum of weights: %.0f signal, %.0f background -> class_weight{1: %.2f}\n", sig_w, bkg_w, bkg_w / sig_w);
  const std::string log_path = (out_dir / "training_log.csv").string();
  const History history = model.fit(
      split.train, {.epochs = 60,
                    .batch_size = 256,
                    .validation = split.validation,
                    .class_weight = {{1, bkg_w / sig_w}},
                    .callbacks = {EarlyStopping{.monitor = "val_loss", .patience = 6, .restore_best = true},
                                  CSVLogger{.filename = log_path}}});
  // (EarlyStopping itself prints when it stops the training and when it restores the weights.)
  std::printf("Trained %zu epochs.\n", history.epochs.size());

  // ---- 6. Measure on the test events -------------------------------------------------------------
  // From here on the weights are the physics weights again (no class_weight): the numbers are
  // those of the analysis. Accuracy is dominated by the background and says little; the ROC
  // curve and its working points are what a physicist uses.
  const Logs test = model.evaluate(split.test);
  const Tensor<float> logits = model.predict(split.test.features());
  const std::span<const float> z = values(logits);
  std::vector<float> scores(z.begin(), z.end());
  for (float& s : scores) s = act::sigmoid(s);  // logits -> probabilities
  const auto y_test = values(split.test.targets()), w_test = values(split.test.weights());
  const double net_auc = metrics::auc<float>(scores, y_test, w_test);
  std::printf("\nTest set: loss %.4f, accuracy %.4f, AUC %.4f (from evaluate) / %.4f (metrics::auc)\n", test.at("loss"),
              test.at("accuracy"), test.at("auc"), net_auc);

  // ---- 7. Baseline: the best cut on one variable ----------------------------------------------
  // A cut "x > c" (or "x < c") scanned over c traces a ROC curve whose area is the AUC of x used
  // as a score (or of -x). The best single variable is the one to beat.
  std::printf("\nSingle-variable baseline on the test set (weighted means in GeV / rad):\n");
  std::printf("  %-8s %10s %10s %7s  %s\n", "variable", "<signal>", "<backgr.>", "AUC", "cut");
  std::int64_t best = 0;
  double best_auc = 0;
  bool best_below = false;
  std::vector<float> best_scores;
  for (std::int64_t j = 0; j < n_features; ++j) {
    std::vector<float> v = column(raw_test_features, j);
    double m_sig = 0, m_bkg = 0;
    for (std::size_t i = 0; i < v.size(); ++i) (y_test[i] == 1 ? m_sig : m_bkg) += w_test[i] * v[i];
    m_sig /= weight_sum(split.test, 1);
    m_bkg /= weight_sum(split.test, 0);
    const double a = metrics::auc<float>(v, y_test, w_test);
    const bool below = a < 0.5;  // signal sits at low values: cut "x < c", i.e. score -x
    if (below)
      for (float& e : v) e = -e;
    std::printf("  %-8s %10.2f %10.2f %7.4f  %s\n", toy::feature_names[std::size_t(j)], m_sig, m_bkg,
                std::max(a, 1 - a), below ? "x < c" : "x > c");
    if (std::max(a, 1 - a) > best_auc) {
      best = j;
      best_auc = std::max(a, 1 - a);
      best_below = below;
      best_scores = std::move(v);
    }
  }
  const std::string best_name = toy::feature_names[std::size_t(best)];

  // ---- 8. Working points -----------------------------------------------------------------------
  std::printf("\n%-34s %10s %16s\n", "test set", "network", ("cut on " + best_name).c_str());
  std::printf("%-34s %10.4f %16.4f\n", "AUC", net_auc, best_auc);
  for (double rejection : {0.9, 0.99})
    std::printf("signal eff. at bkg rejection %-5g %10.4f %16.4f\n", rejection,
                metrics::signal_efficiency_at_rejection<float>(scores, y_test, w_test, rejection),
                metrics::signal_efficiency_at_rejection<float>(best_scores, y_test, w_test, rejection));
  for (double efficiency : {0.5, 0.8})
    std::printf("bkg rejection at signal eff. %-5g %10.4f %16.4f\n", efficiency,
                metrics::background_rejection_at_efficiency<float>(scores, y_test, w_test, efficiency),
                metrics::background_rejection_at_efficiency<float>(best_scores, y_test, w_test, efficiency));

  // ---- 9. Plots ----------------------------------------------------------------------------------
  // SVG files, written by hepnn itself (open them in a browser): the loss and the metrics per
  // epoch, the ROC curves in the HEP convention (background rejection 1/eff_b against signal
  // efficiency) for the network and the best cut, and TMVA's overtraining check: the score
  // distributions of the training and the test events, per class, with the Kolmogorov-Smirnov
  // probability that each pair comes from one distribution (both with the physics weights).
  const auto history_svg = out_dir / "history.svg", roc_svg = out_dir / "roc.svg", scores_svg = out_dir / "scores.svg";
  plot::history(history, history_svg.string(), {.title = "Tutorial 02: H->WW vs Drell-Yan, training history"});
  const metrics::RocCurve net_roc = metrics::roc_curve<float>(scores, y_test, w_test);
  const metrics::RocCurve cut_roc = metrics::roc_curve<float>(best_scores, y_test, w_test);
  plot::roc_figure({{"network", net_roc}, {"cut on " + best_name, cut_roc}},
                   {.title = "Tutorial 02: test events", .style = plot::RocStyle::rejection})
      .save(roc_svg.string());
  const Tensor<float> train_logits = model.predict(split.train.features());
  std::vector<float> train_scores(values(train_logits).begin(), values(train_logits).end());
  for (float& s : train_scores) s = act::sigmoid(s);
  const plot::OvertrainingCheck ks = plot::score_distributions(
      train_scores, split.train.targets(), split.train.weights(), scores, y_test, w_test, scores_svg.string(),
      {.title = "Tutorial 02: network score, training vs test events", .lo = 0, .hi = 1, .log_y = true});
  std::printf("\nOvertraining check (Kolmogorov-Smirnov, training vs test scores): p = %.3f signal, %.3f background\n",
              ks.signal.p_value, ks.background.p_value);
  std::printf("Plots: %s (loss and metrics per epoch)\n       %s (ROC: background rejection vs signal efficiency)\n"
              "       %s (score distributions, training vs test)\n",
              history_svg.string().c_str(), roc_svg.string().c_str(), scores_svg.string().c_str());

  // ---- 10. Write the results as CSV, for your own plots -------------------------------------------
  const auto scores_path = out_dir / "scores.csv", roc_path = out_dir / "roc.csv";
  const auto baseline_path = out_dir / "roc_baseline.csv";
  {
    std::ofstream out(scores_path);
    out << "score,label,weight\n";
    out.precision(8);
    for (std::size_t i = 0; i < scores.size(); ++i) out << scores[i] << ',' << y_test[i] << ',' << w_test[i] << '\n';
  }
  write_roc(roc_path, net_roc);
  write_roc(baseline_path, cut_roc);
  std::printf("\nWrote %s (loss curve)\n      %s (score, label, weight per test event)\n"
              "      %s (network ROC)\n      %s (ROC of the cut on %s%s)\n",
              log_path.c_str(), scores_path.string().c_str(), roc_path.string().c_str(),
              baseline_path.string().c_str(), best_name.c_str(), best_below ? ", thresholds are -x" : "");

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const bool beats = net_auc > best_auc;
  std::printf("\n%s: network AUC %.4f vs best single variable (%s) %.4f. Total time %.1f s.\n",
              beats ? "OK" : "FAILED", net_auc, best_name.c_str(), best_auc, seconds);
  return beats ? 0 : 1;
}
