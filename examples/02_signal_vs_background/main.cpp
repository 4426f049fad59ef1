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
// Part 1. A toy event generator: toy_events.hpp (shared with tutorial 14)
// ============================================================================================
#include "toy_events.hpp"

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
  const data::Dataset<float> all = toy::make_events(small, /*print=*/true);
  const std::int64_t n_events = all.size(), n_features = all.features().dim(1);

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
