// Tutorial 10: anomaly detection with a variational autoencoder, trained on background jets only.
//
// A VAE learns to compress and rebuild QCD-like jets (8 substructure features). Jets it rebuilds
// badly, or whose code lies far from the prior (a large KL term), are unlike the training jets:
// candidates for new physics, found without a signal model. The test jets contain an injected
// signal (jets of a new particle near 95 GeV, 1 in 11); the anomaly scores' ROC is compared with a supervised
// classifier that was shown the signal, the best one can do with these features.
//
// The training step is written by hand (docs/functional.md, "Your own training step"): the
// reconstruction loss plus beta times the KL term, beta rising from 0 over the first epochs.
// Usage: 10_vae_anomaly_detection [output directory, default "."]
// HEPNN_TUTORIAL_SMALL=1: a fifth of the jets and 6 epochs (what the tests run).
// See docs/tutorial-10-vae-anomaly-detection.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hepnn/hepnn.hpp"
#include "hepnn/plot.hpp"

using namespace hepnn;

namespace {

constexpr std::int64_t n_features = 8, n_latent = 3;
const char* const feature_names[n_features] = {"mass", "pT", "eta", "constituents", "tau21", "tau32", "f_lead", "width"};

/// Philox numbers of one jet: jet i is the same whatever the sample size.
struct Rng {
  std::uint64_t seed, stream;
  std::uint64_t nu = 0, nn = 0;
  double uniform() { return philox_uniform(seed, 2 * stream, nu++); }
  double normal() { return philox_normal(seed, 2 * stream + 1, nn++); }
};

/// Toy jets, `n_signal` of them (the first ones) from a new heavy particle decaying to jets
/// (the "anomaly"): a mass near 95 GeV, two or three prongs (smaller tau21 and tau32), more
/// constituents, an even energy sharing. QCD jets: a falling mass spectrum with a long tail,
/// substructure that changes with the mass, one hard prong. pT and eta are the same for both,
/// and every signal feature lies inside the QCD range: no single cut finds the signal.
Tensor<float> generate(std::int64_t n, std::int64_t n_signal, std::uint64_t seed) {
  Tensor<float> x(Shape{n, n_features});
  for (std::int64_t i = 0; i < n; ++i) {
    Rng r{seed, std::uint64_t(i)};
    const bool sig = i < n_signal;
    const double pt = 400 + 400 * r.uniform(), eta = 4 * r.uniform() - 2;
    const double m = sig ? 95 + 15 * r.normal() : std::clamp(std::exp(4.0 + 0.5 * r.normal()), 5.0, 400.0);
    const double nc = sig ? 40 + 7 * r.normal() : 22 + 0.12 * m + 5 * r.normal();
    const double tau21 = std::clamp(sig ? 0.50 + 0.13 * r.normal() : 0.72 - 0.0012 * m + 0.11 * r.normal(), 0.05, 1.0);
    const double tau32 = std::clamp(sig ? 0.66 + 0.10 * r.normal() : 0.80 + 0.09 * r.normal(), 0.05, 1.0);
    const double f_lead = std::clamp(sig ? 0.62 + 0.12 * r.normal() : 0.82 - 0.0008 * m + 0.09 * r.normal(), 0.2, 1.0);
    const double width = 0.3 * m / pt + 0.02 * r.normal();
    const double f[n_features] = {m, pt, eta, std::max(5.0, nc), tau21, tau32, f_lead, width};
    for (std::int64_t j = 0; j < n_features; ++j) x(i, j) = float(f[j]);
  }
  return x;
}

Tensor<float> labels(std::int64_t n, std::int64_t n_signal) {
  Tensor<float> y(Shape{n, 1}, 0.0f);
  for (std::int64_t i = 0; i < n_signal; ++i) y(i, 0) = 1.0f;
  return y;
}

/// Rows i0..i0+B of the permuted x.
Tensor<float> batch_of(const Tensor<float>& x, const std::vector<std::int64_t>& order, std::int64_t i0, std::int64_t B) {
  Tensor<float> b(Shape{B, n_features});
  data::Dataset<float>::gather_rows(x, order.data() + i0, B, b.data());
  return b;
}

/// The mean squared difference of each jet's features and their reconstruction.
std::vector<float> reconstruction_error(const Tensor<float>& x, const Tensor<float>& recon) {
  std::vector<float> e(std::size_t(x.shape()[0]));
  for (std::int64_t i = 0; i < x.shape()[0]; ++i) {
    double s = 0;
    for (std::int64_t j = 0; j < n_features; ++j) s += double(x(i, j) - recon(i, j)) * double(x(i, j) - recon(i, j));
    e[std::size_t(i)] = float(s / n_features);
  }
  return e;
}

/// Normalised histograms of log10(score) for background and signal.
void score_plot(const std::vector<float>& score, const std::vector<float>& y, const std::string& xlabel,
                const std::string& path) {
  std::vector<double> ls;
  for (float s : score) ls.push_back(std::log10(std::max(double(s), 1e-6)));
  const double lo = *std::min_element(ls.begin(), ls.end()), hi = *std::max_element(ls.begin(), ls.end()) + 1e-9;
  const int bins = 40;
  std::vector<double> edges(bins + 1), hb(bins, 0.0), hs(bins, 0.0);
  for (int k = 0; k <= bins; ++k) edges[std::size_t(k)] = lo + (hi - lo) * k / bins;
  double nb = 0, ns = 0;
  for (std::size_t i = 0; i < ls.size(); ++i) {
    const int k = std::min(bins - 1, int((ls[i] - lo) / (hi - lo) * bins));
    (y[i] > 0.5f ? hs : hb)[std::size_t(k)] += 1;
    (y[i] > 0.5f ? ns : nb) += 1;
  }
  const double width = (hi - lo) / bins;
  for (int k = 0; k < bins; ++k) hb[std::size_t(k)] /= nb * width, hs[std::size_t(k)] /= ns * width;
  plot::Figure fig;
  fig.title("Tutorial 10: anomaly score of the test jets");
  fig.axes()
      .xlabel(xlabel)
      .ylabel("density")
      .step_histogram(edges, hb, "QCD jets (background)", {.color = "#d0342c", .hatch = true})
      .step_histogram(edges, hs, "injected signal jets", {.color = "#2a62b8", .fill = true});
  fig.save(path);
}

}  // namespace

int main(int argc, char** argv) {
  const auto start = std::chrono::steady_clock::now();
  const std::filesystem::path out_dir = argc > 1 ? argv[1] : ".";
  std::filesystem::create_directories(out_dir);
  const char* small_env = std::getenv("HEPNN_TUTORIAL_SMALL");
  const bool small = small_env && *small_env && std::string_view(small_env) != "0";
  if (small) std::printf("HEPNN_TUTORIAL_SMALL: a fifth of the jets, 6 epochs\n\n");
  const std::int64_t n_train = small ? 8000 : 40000, n_val = small ? 2000 : 10000;
  const std::int64_t n_test = small ? 4400 : 22000, n_test_signal = n_test / 11;
  const std::int64_t n_sup = small ? 8000 : 40000;  // the supervised classifier's labelled jets, half signal
  const int epochs = small ? 6 : 30, warmup_epochs = small ? 2 : 5;
  const double beta_max = 0.05;  // the reconstruction loss is a mean over 8 features, the KL a sum over 3
  const std::int64_t B = 256;

  // ---- 1. Jets: background only for the VAE ----------------------------------------------------
  Tensor<float> train = generate(n_train, 0, 1), val = generate(n_val, 0, 2);
  Tensor<float> test = generate(n_test, n_test_signal, 3);
  Tensor<float> sup = generate(n_sup, n_sup / 2, 4);
  const data::InputTransform<float> standardize = data::fit_standardization(train);  // background statistics
  for (Tensor<float>* t : {&train, &val, &test, &sup}) standardize.apply(t->data(), t->shape()[0], n_features);
  std::printf("Jets: %lld QCD jets for training, %lld for validation; %lld test jets, %lld of them signal (%.0f %%)\n",
              (long long)n_train, (long long)n_val, (long long)n_test, (long long)n_test_signal,
              100.0 * double(n_test_signal) / double(n_test));

  // ---- 2. The VAE --------------------------------------------------------------------------------
  auto x = Input{"jet", {n_features}};
  auto h = Dense{16, Activation::relu}(Dense{32, Activation::relu}(x));
  auto mean = Dense{.units = n_latent, .name = "mean"}(h);
  auto log_var = Dense{.units = n_latent, .name = "log_var"}(h);
  auto z = GaussianSample{.name = "z"}({mean, log_var});
  auto recon = Dense{.units = n_features, .name = "recon"}(Dense{32, Activation::relu}(Dense{16, Activation::relu}(z)));
  Model<float, cpu> vae{{x}, {recon, mean, log_var}, "vae"};
  vae.compile({.optimizer = Adam{.learning_rate = 2e-3, .clip_norm = 5.0}, .seed = 7});
  vae.summary();

  // ---- 3. Training: reconstruction + beta KL, written by hand -------------------------------------
  History history;
  const std::int64_t steps_per_epoch = n_train / B, warmup_steps = warmup_epochs * steps_per_epoch;
  std::printf("\nepoch   beta   recon     kl       val_recon  val_kl\n");
  for (int epoch = 0; epoch < epochs; ++epoch) {
    const std::vector<std::int64_t> order = data::permutation(n_train, 7, rng_stream::shuffle + std::uint64_t(epoch));
    double sum_rec = 0, sum_kl = 0, beta = 0;
    for (std::int64_t s = 0; s < steps_per_epoch; ++s) {
      const std::int64_t step = vae.optimizer().iterations();
      beta = beta_max * std::min(1.0, double(step) / double(warmup_steps));  // the beta schedule
      const Tensor<float> xb = batch_of(train, order, s * B, B);
      auto out = vae.forward_train({{"jet", xb}});
      Tensor<float> g_rec(out.at("recon").shape()), g_mean, g_lv;
      const double rec = compute_loss<float>(MeanSquaredError{}, out.at("recon"), xb, nullptr, &g_rec);
      const double kl = gaussian_kl(out.at("mean"), out.at("log_var"), nullptr, &g_mean, &g_lv);
      ops::scale<cpu>(g_mean.size(), float(beta), g_mean.data());
      ops::scale<cpu>(g_lv.size(), float(beta), g_lv.data());
      vae.backward({{"recon", g_rec}, {"mean", g_mean}, {"log_var", g_lv}});
      vae.apply_gradients();
      sum_rec += rec;
      sum_kl += kl;
    }
    // validation: the mean code (predict does not sample)
    const auto v = vae.predict({{"jet", val}});
    const double val_rec = compute_loss<float>(MeanSquaredError{}, v.at("recon"), val);
    const double val_kl = gaussian_kl(v.at("mean"), v.at("log_var"));
    const Logs logs{{"recon", sum_rec / double(steps_per_epoch)}, {"kl", sum_kl / double(steps_per_epoch)},
                    {"val_recon", val_rec}, {"val_kl", val_kl}, {"beta", beta}};
    history.append(epoch, logs);
    std::printf("%5d   %.3f  %.4f   %.4f   %.4f     %.4f\n", epoch + 1, beta, logs.at("recon"), logs.at("kl"), val_rec,
                val_kl);
  }

  // ---- 4. The supervised classifier: what knowing the signal buys -----------------------------------
  Sequential<float, cpu> clf{Input{n_features}, Dense{32, Activation::relu}, Dense{32, Activation::relu}, Dense{1}};
  clf.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 2e-3}, .seed = 7});
  clf.fit(sup, labels(n_sup, n_sup / 2), {.epochs = small ? 4 : 10, .batch_size = 256, .verbose = 0});

  // ---- 5. Anomaly scores on the test jets -----------------------------------------------------------
  const auto t = vae.predict({{"jet", test}});
  const std::vector<float> s_rec = reconstruction_error(test, t.at("recon"));
  const Tensor<float> kl_t = gaussian_kl_per_sample(t.at("mean"), t.at("log_var"));
  const std::vector<float> s_kl(kl_t.begin(), kl_t.end());
  const Tensor<float> logits = clf.predict(test);
  const std::vector<float> s_clf(logits.begin(), logits.end());
  const std::vector<float> y = labels(n_test, n_test_signal).to_vector(), ones(y.size(), 1.0f);
  struct Score {
    const char* name;
    const std::vector<float>* s;
  };
  const Score scores[] = {{"VAE reconstruction error", &s_rec}, {"VAE KL term", &s_kl}, {"supervised classifier", &s_clf}};
  std::printf("\nTest jets                    AUC     QCD jets kept at 30 %% / 50 %% signal efficiency\n");
  std::vector<double> aucs;
  for (const Score& sc : scores) {
    aucs.push_back(metrics::auc<float>(*sc.s, y, ones));
    auto eps_b = [&](double eff) {  // the fraction of background above the cut that keeps eff of the signal, in %
      return 100.0 * (1.0 - metrics::background_rejection_at_efficiency<float>(*sc.s, y, ones, eff));
    };
    std::printf("  %-26s %.4f  %6.2f %% / %.2f %%\n", sc.name, aucs.back(), eps_b(0.3), eps_b(0.5));
  }
  // which features the VAE rebuilds worst for the signal: the mean squared error per feature
  std::printf("Reconstruction error per feature (standardised units), QCD / signal jets:\n");
  for (std::int64_t j = 0; j < n_features; ++j) {
    double eb = 0, es = 0;
    for (std::int64_t i = 0; i < n_test; ++i) {
      const double d = double(test(i, j) - t.at("recon")(i, j));
      (i < n_test_signal ? es : eb) += d * d;
    }
    std::printf("  %-13s %.3f / %.3f\n", feature_names[j], eb / double(n_test - n_test_signal), es / double(n_test_signal));
  }

  // ---- 6. Plots ---------------------------------------------------------------------------------------
  const auto history_png = out_dir / "history.png", roc_png = out_dir / "roc.png", scores_png = out_dir / "scores.png";
  plot::history(history, history_png.string(),
                {.title = "Tutorial 10: VAE training on QCD jets", .keys = {"recon", "kl", "beta"}});
  plot::roc_figure({{"VAE reconstruction error", metrics::roc_curve<float>(s_rec, y, ones)},
                    {"VAE KL term", metrics::roc_curve<float>(s_kl, y, ones)},
                    {"supervised classifier", metrics::roc_curve<float>(s_clf, y, ones)}},
                   {.title = "Tutorial 10: signal jets among QCD jets, test sample", .style = plot::RocStyle::rejection})
      .save(roc_png.string());
  score_plot(s_rec, y, "log10(reconstruction error)", scores_png.string());
  std::printf("Plots: %s\n       %s\n       %s\n", history_png.string().c_str(), roc_png.string().c_str(),
              scores_png.string().c_str());

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const bool ok = aucs[0] > 0.75 && aucs[2] >= aucs[0];
  std::printf("\n%s: trained on background alone, the reconstruction error finds the signal with AUC %.4f "
              "(supervised: %.4f). Total time %.1f s.\n",
              ok ? "OK" : "FAILED", aucs[0], aucs[2], seconds);
  return ok ? 0 : 1;
}
