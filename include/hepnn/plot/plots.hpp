/// @file plot/plots.hpp
/// @brief Ready-made plots: training history, ROC curves, score distributions with the Kolmogorov-Smirnov
/// overtraining check, confusion matrix. Each `*_figure` function returns the Figure (to add to it or restyle
/// it); the function without the suffix writes it to an SVG file (atomically) and returns the numbers it shows.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hepnn/core/error.hpp"
#include "hepnn/metrics/roc.hpp"
#include "hepnn/plot/ks.hpp"
#include "hepnn/plot/svg.hpp"
#include "hepnn/plot/values.hpp"
#include "hepnn/train/history.hpp"

namespace hepnn::inline HEPNN_ABI::plot {

namespace detail {

/// Copies `v` into doubles, checking that it has `n` finite values (n = 0: any non-zero size) and, for
/// `binary`, only 0 and 1. Errors name the function, the argument and the row.
inline std::vector<double> column(const char* who, const char* name, const Values& v, std::size_t n,
                                  bool binary = false) {
  HEPNN_CHECK(n == 0 || v.size() == n, who, ": ", v.size(), " ", name, " but ", n, " events");
  HEPNN_CHECK(!v.empty(), who, ": no ", name, " (empty input)");
  std::vector<double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    out[i] = v[i];
    HEPNN_CHECK(std::isfinite(out[i]), who, ": ", name, "[", i, "] is ", out[i], "; expected a finite value");
    HEPNN_CHECK(!binary || out[i] == 0 || out[i] == 1, who, ": ", name, "[", i, "] is ", out[i],
                "; expected 0 (background) or 1 (signal)");
  }
  return out;
}

/// A probability as printed on plots: three decimals, or two significant digits below 0.001.
inline std::string probability_text(double p) { return p >= 0.001 || p == 0 ? num(p, 3) : gnum(p, 2); }

/// Weights as doubles: empty stays empty (every event weighs 1), otherwise n finite values.
inline std::vector<double> weight_column(const char* who, const char* name, const Values& w, std::size_t n) {
  if (w.empty()) return {};
  return column(who, name, w, n);
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------------------------
// History

/// Options of the history plot.
struct HistoryPlotOptions {
  std::string title = {};              ///< title above the panels
  std::vector<std::string> keys = {};  ///< quantities to draw ("loss", "auc", ...); empty: every recorded one but "lr"
  bool log_loss = false;          ///< log y axis for the loss panel
  int columns = 2;                ///< panels per row
};

/// One panel per quantity (loss first, then the metrics in name order, "lr" only when asked for in `keys`):
/// the training values as a solid line, the validation ones ("val_<key>") dashed, against the epoch counted
/// from 1 as the progress display does. Non-finite values (a loss that became nan) break the line.
/// requires: at least one epoch; every key in options.keys recorded (as itself or as val_<key>).
inline Figure history_figure(const History& h, const HistoryPlotOptions& options = {}) {
  constexpr const char* who = "plot::history";
  HEPNN_CHECK(!h.epochs.empty(), who, ": the History has no epochs");
  HEPNN_CHECK(options.columns >= 1, who, ": columns is ", options.columns, "; expected at least 1");
  std::vector<std::string> keys = options.keys;
  if (keys.empty()) {
    for (const auto& [k, v] : h.values) {
      const std::string base = k.rfind("val_", 0) == 0 ? k.substr(4) : k;
      if (base != "lr" && std::find(keys.begin(), keys.end(), base) == keys.end()) keys.push_back(base);
    }
    std::stable_sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
      return (a == "loss") > (b == "loss");
    });
  }
  for (const auto& k : keys)
    HEPNN_CHECK(h.contains(k) || h.contains("val_" + k), who, ": no key '", k, "' (nor 'val_", k,
                "') in the History");
  HEPNN_CHECK(!keys.empty(), who, ": the History records no values");
  const int n = static_cast<int>(keys.size());
  const int cols = std::min(options.columns, n), rows = (n + cols - 1) / cols;
  Figure fig(rows, cols, 480, 340);
  if (!options.title.empty()) fig.title(options.title);
  std::vector<double> x(h.epochs.size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = h.epochs[i] + 1.0;
  for (int p = 0; p < n; ++p) {
    const std::string& k = keys[static_cast<std::size_t>(p)];
    Axes& ax = fig.axes(p / cols, p % cols);
    ax.title(k).xlabel("epoch").ylabel(k);
    if (k == "loss" && options.log_loss) ax.yscale(Scale::log);
    const Color train = default_colors()[0], val = default_colors()[1];
    auto series = [&](const std::string& key, const std::string& label, LineStyle style) {
      if (!h.contains(key)) return;
      const auto& y = h[key];
      HEPNN_CHECK(y.size() == x.size(), who, ": key '", key, "' has ", y.size(), " values for ", x.size(), " epochs");
      style.marker = x.size() <= 40 ? Marker::circle : Marker::none;
      style.marker_size = 2.5;
      ax.line(x, y, label, style);
    };
    // legend away from the curves: bottom right for quantities that grow (accuracy, AUC)
    const std::string& ref = h.contains(k) ? k : "val_" + k;
    const auto& yr = h[ref];
    if (yr.size() >= 2 && std::isfinite(yr.front()) && std::isfinite(yr.back()) && yr.back() > yr.front())
      ax.legend(LegendLocation::lower_right);
    series(k, "training", {.color = train});
    series("val_" + k, "validation", {.color = val, .dash = "6,3"});
    if (x.size() == 1) ax.xlim(0.5, 1.5);
  }
  return fig;
}

/// Writes history_figure(h, options) to `path` (SVG).
inline void history(const History& h, const std::string& path, const HistoryPlotOptions& options = {}) {
  history_figure(h, options).save(path);
}

// ---------------------------------------------------------------------------------------------------------------
// ROC

/// Which panels a ROC plot has.
enum class RocStyle {
  both,        ///< both panels below, side by side
  efficiency,  ///< true positive rate against false positive rate (the machine-learning convention)
  rejection    ///< background rejection 1/eps_B (log scale) against signal efficiency eps_S (the HEP convention)
};

/// Options of the ROC plot.
struct RocPlotOptions {
  std::string title = {};                ///< title above the panels
  RocStyle style = RocStyle::both;  ///< which panels
  bool show_auc = true;             ///< append "(AUC = 0.912)" to each curve's legend label
};

/// One ROC curve with its legend label (several compare classifiers in one plot).
struct RocSeries {
  std::string label = {};         ///< legend label
  metrics::RocCurve curve = {};   ///< from metrics::roc_curve or plot::roc_curve
};

/// The weighted ROC curve as metrics::roc_curve computes it, from any Values (errors name plot::roc and the row).
/// requires: equal non-empty sizes (weights may be empty), finite values, labels 0/1, positive signal and
///           background weight totals.
inline metrics::RocCurve roc_curve(const Values& scores, const Values& labels, const Values& weights = {}) {
  constexpr const char* who = "plot::roc";
  const auto s = detail::column(who, "scores", scores, 0);
  const auto y = detail::column(who, "labels", labels, s.size(), true);
  const auto w = detail::weight_column(who, "weights", weights, s.size());
  return metrics::roc_curve<double>(s, y, w);
}

/// Area under a ROC curve by trapezoids (the same number as metrics::auc on the same events).
inline double area_under(const metrics::RocCurve& c) {
  double a = 0;
  for (std::size_t k = 1; k < c.fpr.size(); ++k) a += (c.fpr[k] - c.fpr[k - 1]) * (c.tpr[k] + c.tpr[k - 1]) / 2;
  return a;
}

/// Figure of several ROC curves (see RocStyle). In the rejection panel, points with zero (or, with negative
/// weights, negative) background efficiency have no finite rejection and are left out; the dashed grey curve is
/// a random classifier (tpr = fpr, rejection 1/eps_S).
/// requires: at least one series, each with matching fpr/tpr sizes.
inline Figure roc_figure(const std::vector<RocSeries>& series, const RocPlotOptions& options = {}) {
  constexpr const char* who = "plot::roc";
  HEPNN_CHECK(!series.empty(), who, ": no ROC curve to draw");
  const bool eff = options.style != RocStyle::rejection, rej = options.style != RocStyle::efficiency;
  Figure fig(1, eff && rej ? 2 : 1, 480, 420);
  if (!options.title.empty()) fig.title(options.title);
  const LineStyle random{.color = "#909090", .width = 1.2, .dash = "5,4"};
  std::vector<double> diag(101);
  for (std::size_t i = 0; i < diag.size(); ++i) diag[i] = double(i) / 100;
  if (eff) {
    Axes& ax = fig.axes(0, 0);
    ax.xlim(0, 1).ylim(0, 1).xlabel("false positive rate (background efficiency)")
        .ylabel("true positive rate (signal efficiency)").legend(LegendLocation::lower_right);
    ax.line(diag, diag, "", random);
  }
  std::vector<double> rdiag(diag.size());
  for (std::size_t i = 0; i < diag.size(); ++i) rdiag[i] = diag[i] > 0 ? 1 / diag[i] : std::nan("");
  if (rej) {
    Axes& ax = fig.axes(0, eff ? 1 : 0);
    ax.xlim(0, 1).yscale(Scale::log).xlabel("signal efficiency \xce\xb5_S")
        .ylabel("background rejection 1/\xce\xb5_B").legend(LegendLocation::upper_right);
    ax.line(diag, rdiag, "", random);
  }
  for (const auto& s : series) {
    HEPNN_CHECK(s.curve.fpr.size() == s.curve.tpr.size() && !s.curve.fpr.empty(), who, ": curve '", s.label,
                "' has ", s.curve.fpr.size(), " fpr and ", s.curve.tpr.size(), " tpr points");
    std::string label = s.label;
    if (options.show_auc) label += (label.empty() ? "" : " ") + std::string("(AUC = ") +
                                   plot::detail::num(area_under(s.curve), 3) + ")";
    if (eff) fig.axes(0, 0).line(s.curve.fpr, s.curve.tpr, label);
    if (rej) {
      std::vector<double> r(s.curve.fpr.size());
      for (std::size_t i = 0; i < r.size(); ++i)
        r[i] = s.curve.fpr[i] > 0 ? 1 / s.curve.fpr[i] : std::numeric_limits<double>::quiet_NaN();
      fig.axes(0, eff ? 1 : 0).line(s.curve.tpr, r, label);
    }
  }
  return fig;
}

/// ROC figure of one classifier from its scores, 0/1 labels (1 = signal) and event weights (empty: all 1;
/// negative weights allowed as in metrics::roc_curve).
inline Figure roc_figure(const Values& scores, const Values& labels, const Values& weights,
                         const RocPlotOptions& options = {}, const std::string& label = "classifier") {
  return roc_figure(std::vector<RocSeries>{{label, roc_curve(scores, labels, weights)}}, options);
}

/// Writes the ROC figure of one classifier to `path` (SVG) and returns its curve.
/// requires: as roc_curve.
inline metrics::RocCurve roc(const Values& scores, const Values& labels, const Values& weights,
                             const std::string& path, const RocPlotOptions& options = {},
                             const std::string& label = "classifier") {
  RocSeries s{label, roc_curve(scores, labels, weights)};
  roc_figure(std::vector<RocSeries>{s}, options).save(path);
  return std::move(s.curve);
}

// ---------------------------------------------------------------------------------------------------------------
// Score distributions and the overtraining check

/// Options of the score-distribution plot.
struct ScorePlotOptions {
  std::string title = {};                                       ///< title above the panel
  std::string xlabel = "classifier score";                 ///< x axis label
  int bins = 40;                                           ///< number of bins
  double lo = std::numeric_limits<double>::quiet_NaN();    ///< lower edge; NaN: the smallest score
  double hi = std::numeric_limits<double>::quiet_NaN();    ///< upper edge; NaN: the largest score
  bool log_y = false;                                      ///< log y axis
  std::string signal_name = "signal";                      ///< legend name of label 1
  std::string background_name = "background";              ///< legend name of label 0
};

/// Kolmogorov-Smirnov comparison of the training and test score distributions, per class. Small p-values
/// (TMVA's rule of thumb: below about 0.01) mean the classifier scores its training events differently from
/// unseen ones: overtraining, or training and test samples that differ.
struct OvertrainingCheck {
  KsResult signal = {};      ///< train vs test, label 1
  KsResult background = {};  ///< train vs test, label 0
};

/// A score-distribution figure together with its Kolmogorov-Smirnov results.
struct ScoreFigure {
  Figure figure;            ///< the plot
  OvertrainingCheck ks = {};     ///< the numbers printed on it
};

/// TMVA's overtraining plot: the test scores of signal (filled, blue) and background (hatched, red) as step
/// histograms, the training scores as points with error bars, each normalised to unit area (density: sum of
/// weights in a bin / (total weight of that class and sample x bin width); errors sqrt(sum w^2) on the same
/// scale), and the weighted KS probabilities of train vs test per class printed on the plot (ks.hpp: effective
/// numbers of events in the asymptotic Kolmogorov distribution, computed on the unbinned scores). Scores outside
/// [lo, hi] are not drawn but count in the normalisation and the KS test.
/// requires: per sample equal sizes (weights may be empty), finite values, labels 0/1, both classes present in
///           both samples with positive weight totals, bins >= 1, lo < hi when given.
inline ScoreFigure score_distributions_figure(const Values& train_scores, const Values& train_labels,
                                              const Values& train_weights, const Values& test_scores,
                                              const Values& test_labels, const Values& test_weights,
                                              const ScorePlotOptions& options = {}) {
  constexpr const char* who = "plot::score_distributions";
  HEPNN_CHECK(options.bins >= 1 && options.bins <= 100000, who, ": bins is ", options.bins,
              "; expected 1 to 100000");
  const auto s_tr = detail::column(who, "train_scores", train_scores, 0);
  const auto y_tr = detail::column(who, "train_labels", train_labels, s_tr.size(), true);
  const auto w_tr = detail::weight_column(who, "train_weights", train_weights, s_tr.size());
  const auto s_te = detail::column(who, "test_scores", test_scores, 0);
  const auto y_te = detail::column(who, "test_labels", test_labels, s_te.size(), true);
  const auto w_te = detail::weight_column(who, "test_weights", test_weights, s_te.size());

  // Split into the four samples.
  struct Sample {
    std::vector<double> x, w;
    double total = 0;
  };
  auto split = [](const std::vector<double>& s, const std::vector<double>& y, const std::vector<double>& w,
                  double label) {
    Sample out;
    for (std::size_t i = 0; i < s.size(); ++i)
      if (y[i] == label) {
        out.x.push_back(s[i]);
        out.w.push_back(w.empty() ? 1.0 : w[i]);
        out.total += out.w.back();
      }
    return out;
  };
  const Sample sig_tr = split(s_tr, y_tr, w_tr, 1), bkg_tr = split(s_tr, y_tr, w_tr, 0);
  const Sample sig_te = split(s_te, y_te, w_te, 1), bkg_te = split(s_te, y_te, w_te, 0);
  auto need = [&](const Sample& s, const char* what) {
    HEPNN_CHECK(!s.x.empty(), who, ": no ", what, " events");
    HEPNN_CHECK(s.total > 0, who, ": the weights of the ", what, " events sum to ", s.total,
                "; expected a positive total");
  };
  need(sig_tr, "training signal (label 1)");
  need(bkg_tr, "training background (label 0)");
  need(sig_te, "test signal (label 1)");
  need(bkg_te, "test background (label 0)");

  ScoreFigure out{Figure(1, 1, 600, 440), {}};
  out.ks.signal = ks_test(sig_tr.x, sig_te.x, sig_tr.w, sig_te.w);
  out.ks.background = ks_test(bkg_tr.x, bkg_te.x, bkg_tr.w, bkg_te.w);

  // Binning.
  double lo = options.lo, hi = options.hi;
  if (std::isnan(lo) || std::isnan(hi)) {
    double a = std::numeric_limits<double>::infinity(), b = -a;
    for (const auto* v : {&s_tr, &s_te})
      for (double x : *v) a = std::min(a, x), b = std::max(b, x);
    if (std::isnan(lo)) lo = a;
    if (std::isnan(hi)) hi = b;
    if (lo >= hi) {  // all scores equal
      lo -= 0.5;
      hi += 0.5;
    }
  }
  HEPNN_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo < hi, who, ": score range [", lo, ", ", hi,
              "] is empty; expected lo < hi");
  const auto nb = static_cast<std::size_t>(options.bins);
  const double bw = (hi - lo) / double(nb);
  std::vector<double> edges(nb + 1), centres(nb);
  for (std::size_t i = 0; i <= nb; ++i) edges[i] = lo + (hi - lo) * double(i) / double(nb);
  for (std::size_t i = 0; i < nb; ++i) centres[i] = (edges[i] + edges[i + 1]) / 2;
  auto fill = [&](const Sample& s, std::vector<double>& h, std::vector<double>& e) {
    h.assign(nb, 0.0);
    std::vector<double> w2(nb, 0.0);
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (s.x[i] < lo || s.x[i] > hi) continue;
      const auto b = std::min(nb - 1, static_cast<std::size_t>((s.x[i] - lo) / bw));
      h[b] += s.w[i];
      w2[b] += s.w[i] * s.w[i];
    }
    e.assign(nb, 0.0);
    for (std::size_t b = 0; b < nb; ++b) {
      e[b] = std::sqrt(w2[b]) / (s.total * bw);
      h[b] /= s.total * bw;
    }
  };
  std::vector<double> h_sig_te, e_sig_te, h_bkg_te, e_bkg_te, h_sig_tr, e_sig_tr, h_bkg_tr, e_bkg_tr;
  fill(sig_te, h_sig_te, e_sig_te);
  fill(bkg_te, h_bkg_te, e_bkg_te);
  fill(sig_tr, h_sig_tr, e_sig_tr);
  fill(bkg_tr, h_bkg_tr, e_bkg_tr);

  const Color blue = "#2a62b8", red = "#d0342c";
  Axes& ax = out.figure.axes();
  if (!options.title.empty()) ax.title(options.title);
  ax.xlabel(options.xlabel).ylabel("(1/N) dN/dx").xlim(lo, hi).legend(LegendLocation::upper_right);
  ax.step_histogram(edges, h_sig_te, options.signal_name + " (test)",
                    {.color = blue, .fill = true, .fill_opacity = 0.3});
  ax.step_histogram(edges, h_bkg_te, options.background_name + " (test)",
                    {.color = red, .fill = false, .hatch = true});
  ax.errorbar(centres, h_sig_tr, e_sig_tr, {}, options.signal_name + " (train)", {.color = blue});
  ax.errorbar(centres, h_bkg_tr, e_bkg_tr, {}, options.background_name + " (train)", {.color = red});
  // Room above the histograms for the legend and the KS text.
  double top = 0, bottom = std::numeric_limits<double>::infinity();
  for (const auto* h : {&h_sig_te, &h_bkg_te, &h_sig_tr, &h_bkg_tr})
    for (double v : *h) {
      top = std::max(top, v);
      if (v > 0) bottom = std::min(bottom, v);
    }
  if (top <= 0) top = 1;
  if (options.log_y) {
    if (!std::isfinite(bottom)) bottom = top / 10;
    ax.yscale(Scale::log).ylim(bottom / 2, top * std::pow(top / (bottom / 2), 0.45));
  } else {
    ax.ylim(0, top * 1.45);
  }
  ax.text(0.02, 0.94, "Kolmogorov-Smirnov test (train vs test):", {.size = 12});
  ax.text(0.02, 0.885,
          options.signal_name + " (" + options.background_name + ") probability = " +
              detail::probability_text(out.ks.signal.p_value) + " (" +
              detail::probability_text(out.ks.background.p_value) +
              ")",
          {.size = 12});
  return out;
}

/// Writes score_distributions_figure(...) to `path` (SVG) and returns the Kolmogorov-Smirnov results.
inline OvertrainingCheck score_distributions(const Values& train_scores, const Values& train_labels,
                                             const Values& train_weights, const Values& test_scores,
                                             const Values& test_labels, const Values& test_weights,
                                             const std::string& path, const ScorePlotOptions& options = {}) {
  auto f = score_distributions_figure(train_scores, train_labels, train_weights, test_scores, test_labels,
                                      test_weights, options);
  f.figure.save(path);
  return f.ks;
}

// ---------------------------------------------------------------------------------------------------------------
// Confusion matrix

/// A weighted confusion matrix: values[t * classes + p] is the weight of events of true class t predicted as p
/// (normalised: the fraction of true class t, so each row sums to 1; a class with no events has a row of NaN).
struct ConfusionMatrix {
  std::size_t classes = 0;     ///< number of classes
  std::vector<double> values = {};  ///< classes x classes, row = true class, column = predicted class
  /// The entry of true class t predicted as p.
  double at(std::size_t t, std::size_t p) const {
    HEPNN_CHECK(t < classes && p < classes, "plot::ConfusionMatrix::at: (", t, ", ", p, ") outside ", classes,
                " classes");
    return values[t * classes + p];
  }
};

/// Index of the largest value of each row of an (N, classes) row-major array of class scores (softmax output),
/// as doubles ready for confusion_matrix. requires: size a multiple of classes, classes >= 1.
inline std::vector<double> predicted_classes(const Values& class_scores, std::size_t classes) {
  HEPNN_CHECK(classes >= 1 && class_scores.size() % classes == 0, "plot::predicted_classes: ", class_scores.size(),
              " values are not rows of ", classes, " classes");
  std::vector<double> out(class_scores.size() / classes);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < classes; ++c)
      if (class_scores[i * classes + c] > class_scores[i * classes + best]) best = c;
    out[i] = double(best);
  }
  return out;
}

/// The weighted confusion matrix of integer class labels 0..C-1 (C = class_names.size(), or the largest label + 1
/// when no names are given); rows are true classes. Weights empty: every event weighs 1.
/// requires: equal non-empty sizes, non-negative integer labels below C.
inline ConfusionMatrix confusion_matrix_values(const Values& predicted_class, const Values& true_class,
                                               const Values& weights, std::size_t classes, bool normalise) {
  constexpr const char* who = "plot::confusion_matrix";
  const auto p = detail::column(who, "predicted classes", predicted_class, 0);
  const auto t = detail::column(who, "true classes", true_class, p.size());
  const auto w = detail::weight_column(who, "weights", weights, p.size());
  if (classes == 0) {
    double m = 0;
    for (std::size_t i = 0; i < p.size(); ++i) m = std::max({m, p[i], t[i]});
    classes = static_cast<std::size_t>(m) + 1;
  }
  HEPNN_CHECK(classes <= 1000, who, ": ", classes, " classes; at most 1000 can be drawn");
  ConfusionMatrix cm{classes, std::vector<double>(classes * classes, 0.0)};
  auto index = [&](double v, const char* name, std::size_t i) {
    HEPNN_CHECK(v >= 0 && v == std::floor(v) && v < double(classes), who, ": ", name, "[", i, "] is ", v,
                "; expected a class index 0 to ", classes - 1);
    return static_cast<std::size_t>(v);
  };
  for (std::size_t i = 0; i < p.size(); ++i)
    cm.values[index(t[i], "true classes", i) * classes + index(p[i], "predicted classes", i)] +=
        w.empty() ? 1.0 : w[i];
  if (normalise)
    for (std::size_t r = 0; r < classes; ++r) {
      double s = 0;
      for (std::size_t c = 0; c < classes; ++c) s += cm.values[r * classes + c];
      for (std::size_t c = 0; c < classes; ++c)
        cm.values[r * classes + c] = s != 0 ? cm.values[r * classes + c] / s : std::numeric_limits<double>::quiet_NaN();
    }
  return cm;
}

/// Heat-map figure of a confusion matrix: true class down the rows (first class at the top), predicted class along
/// the columns, each cell printed. class_names empty: "0", "1", ...; otherwise one name per class.
inline Figure confusion_matrix_figure(const ConfusionMatrix& cm, const std::vector<std::string>& class_names = {},
                                      bool normalised = true, const std::string& title = "") {
  HEPNN_CHECK(cm.classes >= 1 && cm.values.size() == cm.classes * cm.classes, "plot::confusion_matrix: ",
              cm.values.size(), " values for ", cm.classes, " classes");
  HEPNN_CHECK(class_names.empty() || class_names.size() == cm.classes, "plot::confusion_matrix: ",
              class_names.size(), " class names for ", cm.classes, " classes");
  const double cell = std::clamp(360.0 / double(cm.classes), 14.0, 70.0);
  const double side = cell * double(cm.classes);
  Figure fig(1, 1, side + Figure::margin_left + Figure::margin_right + 40,
             side + Figure::margin_top + Figure::margin_bottom + 20);
  Axes& ax = fig.axes();
  std::vector<double> pos(cm.classes);
  std::vector<std::string> names(cm.classes);
  for (std::size_t i = 0; i < cm.classes; ++i) {
    pos[i] = double(i);
    names[i] = class_names.empty() ? std::to_string(i) : class_names[i];
  }
  ax.xlim(-0.5, double(cm.classes) - 0.5).ylim(double(cm.classes) - 0.5, -0.5).xticks(pos, names).yticks(pos, names);
  ax.xlabel("predicted class").ylabel("true class").title(title.empty() ? std::string("confusion matrix") : title);
  HeatStyle hs;
  hs.annotate = cm.classes <= 20;
  hs.decimals = normalised ? 2 : 1;
  if (normalised) {
    hs.lo = 0;
    hs.hi = 1;
  }
  ax.heatmap(cm.classes, cm.classes, cm.values, hs);
  return fig;
}

/// Writes the confusion matrix of integer class labels to `path` (SVG) and returns it. class_names gives the
/// number of classes and their names (empty: the largest label + 1, named by number). normalise: each true
/// class's row sums to 1.
/// requires: as confusion_matrix_values.
inline ConfusionMatrix confusion_matrix(const Values& predicted_class, const Values& true_class, const Values& weights,
                                        const std::vector<std::string>& class_names, const std::string& path,
                                        bool normalise = true) {
  auto cm = confusion_matrix_values(predicted_class, true_class, weights, class_names.size(), normalise);
  confusion_matrix_figure(cm, class_names, normalise).save(path);
  return cm;
}

}  // namespace hepnn::plot
