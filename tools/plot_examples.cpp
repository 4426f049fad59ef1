// Writes the example plots of docs/plots.md (docs/img/plot_*.svg, or .png with a second argument "png") from toy
// numbers: no training, no data files, standard library only. Rebuild them after changing the plots:
//   g++ -std=c++20 -O1 -I include tools/plot_examples.cpp -o /tmp/plot_examples && /tmp/plot_examples docs/img
//   /tmp/plot_examples docs/img png
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "hepnn/plot.hpp"
#include "hepnn/train/history.hpp"

using namespace hepnn;

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : ".";
  const std::string ext = argc > 2 ? std::string(".") + argv[2] : std::string(".svg");
  if (ext != ".svg" && ext != ".png") {
    std::fprintf(stderr, "plot_examples: the format is svg or png, got '%s'\n", argv[2]);
    return 2;
  }
  std::mt19937_64 rng(42);
  std::normal_distribution<double> gauss(0, 1);
  std::uniform_real_distribution<double> uni(0, 1);

  // A toy classifier: logistic of a Gaussian shifted by +-1.1, the same for training and test events
  // (no overtraining); weights around 1 with a few negative ones, as in an NLO sample.
  auto events = [&](std::size_t n, double shift, std::vector<double>& s, std::vector<double>& y,
                    std::vector<double>& w) {
    for (std::size_t i = 0; i < n; ++i) {
      const double label = uni(rng) < 0.5 ? 1 : 0;
      s.push_back(1 / (1 + std::exp(-(gauss(rng) + (label == 1 ? shift : -shift)))));
      y.push_back(label);
      w.push_back(uni(rng) < 0.05 ? -0.3 : 0.5 + uni(rng));
    }
  };
  std::vector<double> s_tr, y_tr, w_tr, s_te, y_te, w_te;
  events(20000, 1.1, s_tr, y_tr, w_tr);
  events(10000, 1.1, s_te, y_te, w_te);

  History h;  // the shape of a typical fit with validation: validation loss turning up after epoch ~15
  for (int e = 0; e < 30; ++e) {
    const double t = e + 1;
    h.append(e, {{"loss", 0.33 + 0.35 * std::exp(-t / 4) + 0.004 * gauss(rng)},
                 {"val_loss", 0.345 + 0.33 * std::exp(-t / 4) + 0.0003 * std::max(0.0, t - 15) * (t - 15) +
                                  0.006 * gauss(rng)},
                 {"auc", 0.93 - 0.12 * std::exp(-t / 4) + 0.002 * gauss(rng)},
                 {"val_auc", 0.925 - 0.12 * std::exp(-t / 4) - 0.0002 * std::max(0.0, t - 15) + 0.003 * gauss(rng)},
                 {"lr", 1e-3}});
  }

  plot::history(h, dir + "/plot_history" + ext, {.title = "training history (toy numbers)"});
  plot::roc(s_te, y_te, w_te, dir + "/plot_roc" + ext, {.title = "ROC curve (toy classifier)"}, "toy classifier");
  const auto ks = plot::score_distributions(s_tr, y_tr, w_tr, s_te, y_te, w_te, dir + "/plot_scores" + ext,
                                            {.title = "overtraining check (toy classifier)"});
  std::printf("KS: signal D %.4f p %.3g (n_eff %.0f, %.0f), background D %.4f p %.3g\n", ks.signal.statistic, ks.signal.p_value, ks.signal.n_eff_a, ks.signal.n_eff_b, ks.background.statistic, ks.background.p_value);

  // Three classes, 80-90% right, taus confused with the others most.
  std::vector<int> truth, pred;
  std::vector<double> w;
  for (int i = 0; i < 3000; ++i) {
    const int t = i % 3;
    const double r = uni(rng);
    const double right = t == 2 ? 0.78 : 0.9;
    truth.push_back(t);
    pred.push_back(r < right ? t : (t + 1 + int(uni(rng) * 2)) % 3);
    w.push_back(1.0);
  }
  plot::confusion_matrix(pred, truth, w, {"electron", "muon", "tau"}, dir + "/plot_confusion" + ext);

  // The generic layer: a generated-vs-reference histogram with a ratio-free comparison and a log axis.
  std::vector<double> edges, ref, gen, gen_err, centres;
  for (int i = 0; i <= 40; ++i) edges.push_back(i * 5.0);
  std::vector<double> a(40, 0), b(40, 0);
  std::exponential_distribution<double> expo(1 / 30.0);
  for (int i = 0; i < 50000; ++i) {
    const double x = expo(rng), y = expo(rng) * 1.04;
    if (x < 200) a[std::size_t(x / 5)] += 1;
    if (y < 200) b[std::size_t(y / 5)] += 1;
  }
  for (int i = 0; i < 40; ++i) {
    centres.push_back(edges[std::size_t(i)] + 2.5);
    ref.push_back(a[std::size_t(i)]);
    gen.push_back(b[std::size_t(i)]);
    gen_err.push_back(std::sqrt(b[std::size_t(i)]));
  }
  plot::Figure fig;
  fig.axes()
      .step_histogram(edges, ref, "reference (Geant4)", {.color = "#5f6b73", .fill = true, .fill_opacity = 0.25})
      .errorbar(centres, gen, gen_err, {}, "generated", {.color = "#d0342c"})
      .yscale(plot::Scale::log)
      .xlabel("E [GeV]")
      .ylabel("events / 5 GeV")
      .title("generic layer: histogram and points, log scale");
  fig.save(dir + "/plot_generic" + ext);
  return 0;
}
