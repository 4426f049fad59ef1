// Tutorial 11: a jet tagger with two inputs and two outputs, built with the functional API.
//
//   inputs:  "jet"     5 jet-level features (pT, eta, mass, track count, soft-muon flag)
//            "tracks"  the 8 leading tracks of the jet, 4 features each (signed d0 and z0
//                      significances, log of the momentum fraction, a flag for a real track)
//   outputs: "btag"    is it a b-jet? (binary classification, logits)
//            "jec"     the jet energy correction pT_true / pT_reco (regression)
//
// The tracks go through one small Dense applied to every track (shared weights), are flattened
// and joined with the jet features; two heads read the joint representation. The classifier is
// compared with the same network fed the jet features alone, and the correction with none.
// Usage: 11_two_inputs_two_outputs [output directory, default "."]
// HEPNN_TUTORIAL_SMALL=1: a fifth of the jets and 6 epochs (what the tests run).
// See docs/tutorial-11-two-inputs-two-outputs.md.
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

constexpr std::int64_t n_tracks = 8, n_track_features = 4, n_jet_features = 5;

/// Philox numbers of one jet: jet i is the same whatever the sample size.
struct Rng {
  std::uint64_t seed, stream;
  std::uint64_t nu = 0, nn = 0;
  double uniform() { return philox_uniform(seed, 2 * stream, nu++); }
  double normal() { return philox_normal(seed, 2 * stream + 1, nn++); }
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }
};

struct Jets {
  Tensor<float> jet, tracks, label, jec;
  std::vector<float> pt_true, pt_reco;
};

/// Toy jets: b-jets carry tracks from a displaced decay (large positive d0 significance), more
/// tracks, and a soft muon in a fifth of them (a semileptonic decay, whose neutrino lowers the
/// measured energy); light jets have prompt tracks. The measured pT is the true one times a
/// response that depends on the flavour and the muon.
Jets generate(std::int64_t n, std::uint64_t seed) {
  Jets j{Tensor<float>(Shape{n, n_jet_features}), Tensor<float>(Shape{n, n_tracks, n_track_features}),
         Tensor<float>(Shape{n, 1}), Tensor<float>(Shape{n, 1}), {}, {}};
  for (std::int64_t i = 0; i < n; ++i) {
    Rng r{seed, std::uint64_t(i)};
    const bool b = i % 2 == 0;
    const bool muon = b ? r.uniform() < 0.2 : r.uniform() < 0.01;
    const double pt = 30 + 170 * r.uniform(), eta = 5 * r.uniform() - 2.5;
    const double response = b ? (muon ? 0.84 + 0.10 * r.normal() : 0.93 + 0.08 * r.normal()) : 0.97 + 0.08 * r.normal();
    const double reco = pt * std::max(0.3, response);
    const std::int64_t nt = std::min<std::int64_t>(n_tracks, 2 + std::int64_t(r.exponential(b ? 4.0 : 2.5)));
    double mass = 0;
    for (std::int64_t t = 0; t < n_tracks; ++t) {
      float* f = &j.tracks(i, t, 0);
      if (t >= nt) {
        std::fill(f, f + n_track_features, 0.0f);  // padding: no track
        continue;
      }
      const bool displaced = b && r.uniform() < 0.6;
      const double d0 = displaced ? r.exponential(4.0) * (r.uniform() < 0.9 ? 1 : -1) : r.normal();
      const double z0 = displaced ? 1.5 * r.normal() : r.normal();
      const double frac = std::exp(-r.exponential(1.0)) / double(nt);
      mass += frac * (displaced ? 4.0 : 1.5);
      f[0] = float(std::clamp(d0, -20.0, 20.0) / 5);
      f[1] = float(std::clamp(z0, -20.0, 20.0) / 5);
      f[2] = float(std::log(frac));
      f[3] = 1.0f;
    }
    j.jet(i, 0) = float(reco / 100);
    j.jet(i, 1) = float(eta);
    j.jet(i, 2) = float((mass + 2 * r.exponential(1.0)) / 5);
    j.jet(i, 3) = float(nt) / 10;
    j.jet(i, 4) = muon ? 1.0f : 0.0f;
    j.label(i, 0) = b ? 1.0f : 0.0f;
    j.jec(i, 0) = float(pt / reco);
    j.pt_true.push_back(float(pt));
    j.pt_reco.push_back(float(reco));
  }
  return j;
}

data::NamedDataset<float> named(const Jets& j, bool with_tracks) {
  std::map<std::string, Tensor<float>> in, tg;
  in.emplace("jet", j.jet.clone());
  if (with_tracks) in.emplace("tracks", j.tracks.clone());
  tg.emplace("btag", j.label.clone());
  if (with_tracks) tg.emplace("jec", j.jec.clone());
  return data::NamedDataset<float>(std::move(in), std::move(tg));
}

std::vector<float> sigmoid_of(const Tensor<float>& logits) {
  std::vector<float> s(logits.begin(), logits.end());
  for (float& v : s) v = 1.0f / (1.0f + std::exp(-v));
  return s;
}

/// Mean and RMS of pT_reco * c / pT_true over the jets of one flavour (c = 1: no correction).
void response(const char* name, const Jets& j, const Tensor<float>* jec, float flavour) {
  double s = 0, s2 = 0, n = 0;
  for (std::size_t i = 0; i < j.pt_true.size(); ++i) {
    if (j.label.data()[i] != flavour) continue;
    const double r = j.pt_reco[i] * (jec ? jec->data()[i] : 1.0f) / j.pt_true[i];
    s += r;
    s2 += r * r;
    n += 1;
  }
  const double mean = s / n;
  std::printf("  %-22s %-7s mean %.3f  resolution (RMS) %.3f\n", name, flavour == 1 ? "b" : "light", mean,
              std::sqrt(std::max(0.0, s2 / n - mean * mean)));
}

}  // namespace

int main(int argc, char** argv) {
  const auto start = std::chrono::steady_clock::now();
  const std::filesystem::path out_dir = argc > 1 ? argv[1] : ".";
  std::filesystem::create_directories(out_dir);
  const char* small_env = std::getenv("HEPNN_TUTORIAL_SMALL");
  const bool small = small_env && *small_env && std::string_view(small_env) != "0";
  if (small) std::printf("HEPNN_TUTORIAL_SMALL: a fifth of the jets, 6 epochs\n\n");
  const std::int64_t n_train = small ? 8000 : 40000, n_test = small ? 4000 : 20000;
  const int epochs = small ? 6 : 20;

  // ---- 1. Jets --------------------------------------------------------------------------------
  const Jets train = generate(n_train, 1), test = generate(n_test, 2);
  std::printf("Jets: %lld for training, %lld for testing, half of them b-jets\n", (long long)n_train,
              (long long)n_test);

  // ---- 2. The model: two inputs, two outputs -----------------------------------------------------
  auto jet = Input{"jet", {n_jet_features}};
  auto trk = Input{"tracks", {n_tracks, n_track_features}};
  auto per_track = Dense{.units = 16, .activation = Activation::relu, .name = "per_track"}(trk);  // every track
  auto z = Concatenate{}({Dense{32, Activation::relu}(jet), Flatten{}(per_track)});
  z = Dense{64, Activation::relu}(z);
  // The correction is near 1: its head starts there (bias 1), and learns the deviations.
  Model<float, cpu> tagger{{jet, trk},
                           {Dense{.units = 1, .name = "btag"}(z),
                            Dense{.units = 1, .bias_initializer = Init::ones, .name = "jec"}(z)},
                           "tagger"};
  tagger.compile({.optimizer = Adam{.learning_rate = 2e-3},
                  .outputs = {{"btag", {.loss = BinaryCrossEntropy{.from_logits = true}, .metrics = {metrics::AUC{}}}},
                              {"jec", {.loss = MeanSquaredError{}, .weight = 20.0}}},
                  .seed = 3});
  tagger.summary();

  // The same classifier without the tracks: the baseline.
  auto jet_only = Input{"jet", {n_jet_features}};
  Model<float, cpu> baseline{{jet_only},
                             {Dense{.units = 1, .name = "btag"}(
                                 Dense{64, Activation::relu}(Dense{32, Activation::relu}(jet_only)))},
                             "jet_only"};
  baseline.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 2e-3},
                    .metrics = {metrics::AUC{}}, .seed = 3});

  // ---- 3. Training ----------------------------------------------------------------------------
  const data::NamedDataset<float> d_train = named(train, true), d_test = named(test, true);
  const History h = tagger.fit(d_train, {.epochs = epochs, .batch_size = 256, .validation_split = 0.2, .verbose = 0});
  std::printf("\nepoch   loss   btag_loss  jec_loss  btag_auc   val_loss  val_btag_auc\n");
  for (std::size_t e = 0; e < h.epochs.size(); ++e)
    std::printf("%5zu  %.4f   %.4f    %.5f   %.4f    %.4f    %.4f\n", e + 1, h["loss"][e], h["btag_loss"][e],
                h["jec_loss"][e], h["btag_auc"][e], h["val_loss"][e], h["val_btag_auc"][e]);
  const History hb = baseline.fit(named(train, false), {.epochs = epochs, .batch_size = 256, .verbose = 0});

  // ---- 4. The test jets -------------------------------------------------------------------------
  const Logs t = tagger.evaluate(d_test);
  std::printf("\nTest jets: total loss %.4f = btag %.4f + 20 x jec %.5f\n", t.at("loss"), t.at("btag_loss"),
              t.at("jec_loss"));
  auto out = tagger.predict(d_test.inputs());
  const std::vector<float> s_net = sigmoid_of(out.at("btag"));
  const std::vector<float> s_jet = sigmoid_of(baseline.predict(test.jet));
  const auto y = test.label.to_vector();
  const std::vector<float> ones(y.size(), 1.0f);
  const double auc_net = metrics::auc<float>(s_net, y, ones), auc_jet = metrics::auc<float>(s_jet, y, ones);
  std::printf("b-tagging AUC: jet features and tracks %.4f, jet features alone %.4f\n", auc_net, auc_jet);
  for (double eff : {0.5, 0.7})
    std::printf("light-jet rejection at b efficiency %.1f: %.4f with tracks, %.4f without\n", eff,
                metrics::background_rejection_at_efficiency<float>(s_net, y, ones, eff),
                metrics::background_rejection_at_efficiency<float>(s_jet, y, ones, eff));
  std::printf("Jet energy scale, pT_reco x correction / pT_true:\n");
  for (float flavour : {1.0f, 0.0f}) {
    response("no correction", test, nullptr, flavour);
    response("network correction", test, &out.at("jec"), flavour);
  }

  // ---- 5. Plots ---------------------------------------------------------------------------------
  const auto history_png = out_dir / "history.png", roc_png = out_dir / "roc.png", scores_png = out_dir / "scores.png";
  plot::history(h, history_png.string(), {.title = "Tutorial 11: two inputs, two outputs"});
  plot::roc_figure({{"jet features + tracks", metrics::roc_curve<float>(s_net, y, ones)},
                    {"jet features alone", metrics::roc_curve<float>(s_jet, y, ones)}},
                   {.title = "Tutorial 11: b-tagging, test jets", .style = plot::RocStyle::rejection})
      .save(roc_png.string());
  const std::vector<float> s_train = sigmoid_of(tagger.predict(d_train.inputs()).at("btag"));
  const plot::OvertrainingCheck ks = plot::score_distributions(
      s_train, train.label, std::vector<float>(std::size_t(train.label.size()), 1.0f), s_net, y, ones,
      scores_png.string(),
      {.title = "Tutorial 11: b-tag score, training vs test jets", .lo = 0, .hi = 1, .log_y = true,
       .signal_name = "b-jets", .background_name = "light jets"});
  std::printf("Overtraining check (Kolmogorov-Smirnov): p = %.3f b-jets, %.3f light jets\n", ks.signal.p_value,
              ks.background.p_value);
  std::printf("Plots: %s\n       %s\n       %s\n", history_png.string().c_str(), roc_png.string().c_str(),
              scores_png.string().c_str());
  (void)hb;

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const bool ok = auc_net > auc_jet;
  std::printf("\n%s: the tracks raise the AUC from %.4f to %.4f. Total time %.1f s.\n", ok ? "OK" : "FAILED", auc_jet,
              auc_net, seconds);
  return ok ? 0 : 1;
}
