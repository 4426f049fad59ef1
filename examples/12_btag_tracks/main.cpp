// Tutorial 12: b-tagging and long-lived particles with a variable number of tracks per jet.
//
// Toy jets of four kinds: light (prompt tracks, with resolution tails), c (a short displaced
// decay), b (a longer one, more tracks, larger for higher boost) and a long-lived particle (LLP)
// decaying millimetres to tens of centimetres from the beam line (tracks with large impact
// parameters that miss the inner pixel layers). Each jet keeps up to 15 tracks, padded, with
// their number given separately; the tracks are sorted by decreasing d0 significance (as the
// recurrent taggers read them).
//
// The same b-tagging task (b-jets against light and c-jets) is learned by four networks:
//   1. a dense network on jet-level summary variables (the "IP3D/SV1-like" baseline);
//   2. Deep Sets (DIPS-like): one network on every track, a masked sum, a jet-level network;
//   3. an LSTM over the tracks (RNNIP-like);
//   4. a Transformer encoder over the tracks (GN2-like, without the graph or auxiliary tasks).
// Then Deep Sets learns the LLP signal against all Standard Model jets, and its efficiency is
// shown against the decay radius.
// Usage: 12_btag_tracks [output directory, default "."]
// HEPNN_TUTORIAL_SMALL=1: a tenth of the jets and 3 epochs (what the tests run).
// See docs/tutorial-12-btag-tracks.md.
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

constexpr std::int64_t max_tracks = 15, n_track_features = 6, n_summary = 8;
enum Flavour { light = 0, charm = 1, bottom = 2, llp = 3 };

/// Philox numbers of one jet: jet i is the same whatever the sample size.
struct Rng {
  std::uint64_t seed, stream;
  std::uint64_t nu = 0, nn = 0;
  double uniform() { return philox_uniform(seed, 2 * stream, nu++); }
  double normal() { return philox_normal(seed, 2 * stream + 1, nn++); }
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }
};

struct Track {
  double sd0, sz0, log_frac, dr, d0_mm, missing_hits;
};

struct Jets {
  Tensor<float> tracks, n_tracks, summary, is_b, is_llp;
  std::vector<int> flavour;
  std::vector<double> radius_mm;  // LLP decay radius (0 for the others)
};

/// Transverse impact parameter resolution (mm) of a track of momentum p (GeV).
double sigma_d0(double p) { return std::hypot(0.012, 0.06 / p); }

/// One jet of flavour f: its tracks (sorted by decreasing d0 significance) and the decay radius.
/// A track from a decay at flight distance L has d0 = L sin(angle to the flight direction); the
/// angle shrinks with the boost as L grows with it, so d0 is about c tau whatever the momentum:
/// ~0.45 mm for b-hadrons, ~0.12 mm for charm. Light jets get their displaced tracks from
/// resolution tails and from K0s and Lambda decays centimetres away (10% of them).
std::vector<Track> make_jet(Rng& r, Flavour f, double pt, double& radius) {
  std::vector<Track> tracks;
  const std::int64_t prompt = 1 + std::int64_t(r.exponential(f == light ? 4.0 : 2.5));
  // the decay: its flight distance, the decaying particle's mass, how many tracks it makes
  radius = 0;
  std::int64_t from_decay = 0;
  double mass = 0;
  if (f == charm) mass = 1.9, from_decay = 1 + std::int64_t(r.uniform() * 2.5), radius = r.exponential(0.12 * pt / mass);
  if (f == bottom) mass = 5.3, from_decay = 2 + std::int64_t(r.uniform() * 3.5), radius = r.exponential(0.45 * pt / mass);
  if (f == light && r.uniform() < 0.10) mass = 0.5, from_decay = 2, radius = r.exponential(27.0 * 0.3 * pt / 10 / mass);
  if (f == llp) mass = 10, from_decay = 3 + std::int64_t(r.uniform() * 4),
      radius = std::exp(r.uniform() * std::log(300.0));  // 1 mm to 30 cm, log-uniform
  radius = std::min(radius, 500.0);
  const double layers_mm[] = {33, 50.5, 88.5, 122.5};  // pixel layers: a track made outside misses them
  double missing = 0;
  for (double l : layers_mm) missing += radius > l ? 1 : 0;
  for (std::int64_t k = 0; k < prompt + from_decay; ++k) {
    const bool displaced = k >= prompt;
    const double frac = std::exp(-r.exponential(1.0)) / double(prompt + from_decay);
    const double p = std::max(1.0, frac * pt);
    const double tail = r.uniform() < 0.08 ? 2 + 6 * r.uniform() : 1.0;  // resolution tails, material
    const double sigma = sigma_d0(p);
    Track t{};
    if (displaced) {
      const double angle = std::min(1.5, std::abs(r.normal()) * 0.6 * mass / (0.3 * pt + mass));
      const double d0 = radius * std::sin(angle) * (r.uniform() < 0.85 ? 1 : -1);
      t.d0_mm = d0 + tail * sigma * r.normal();
      t.sz0 = tail * r.normal() + (radius > 1 ? 3 * r.normal() : 0);
      t.dr = std::min(0.4, std::abs(r.normal()) * 0.06 + angle * 0.15);
      t.missing_hits = missing;
    } else {
      t.d0_mm = tail * sigma * r.normal();
      t.sz0 = tail * r.normal();
      t.dr = std::min(0.4, std::abs(r.normal()) * 0.12);
      t.missing_hits = r.uniform() < 0.03 ? 1 : 0;
    }
    t.sd0 = t.d0_mm / sigma;
    t.log_frac = std::log(frac);
    tracks.push_back(t);
  }
  std::sort(tracks.begin(), tracks.end(), [](const Track& a, const Track& b) { return a.sd0 > b.sd0; });
  if (std::int64_t(tracks.size()) > max_tracks) tracks.resize(std::size_t(max_tracks));
  return tracks;
}

/// n jets: light, c, b and (when with_llp) LLP in turn.
Jets generate(std::int64_t n, std::uint64_t seed, bool with_llp) {
  Jets j{Tensor<float>(Shape{n, max_tracks, n_track_features}, 0.0f), Tensor<float>(Shape{n, 1}),
         Tensor<float>(Shape{n, n_summary}), Tensor<float>(Shape{n, 1}), Tensor<float>(Shape{n, 1}), {}, {}};
  for (std::int64_t i = 0; i < n; ++i) {
    Rng r{seed, std::uint64_t(i)};
    const auto f = Flavour(with_llp ? i % 4 : i % 3);
    const double pt = 25 + r.exponential(60.0);
    double radius = 0;
    const std::vector<Track> tracks = make_jet(r, f, pt, radius);
    double s[3] = {-5, -5, -5}, above3 = 0, frac_above3 = 0, missing = 0;
    for (std::size_t k = 0; k < tracks.size(); ++k) {
      const Track& t = tracks[k];
      float* x = &j.tracks(i, std::int64_t(k), 0);
      x[0] = float(std::clamp(t.sd0, -50.0, 50.0) / 10);
      x[1] = float(std::clamp(t.sz0, -50.0, 50.0) / 10);
      x[2] = float(t.log_frac / 3);
      x[3] = float(t.dr / 0.4);
      x[4] = float(std::asinh(t.d0_mm / 0.1) / 5);
      x[5] = float(t.missing_hits / 4);
      if (k < 3) s[k] = std::clamp(t.sd0, -5.0, 50.0);
      above3 += t.sd0 > 3 ? 1 : 0;
      frac_above3 += t.sd0 > 3 ? std::exp(t.log_frac) : 0;
      missing += t.missing_hits;
    }
    j.n_tracks(i, 0) = float(tracks.size());
    // the summary variables: what IP3D and SV1-like taggers condense the tracks into
    const float summary[n_summary] = {float(pt / 100),       float(tracks.size()) / 10, float(s[0] / 10),
                                      float(s[1] / 10),      float(s[2] / 10),          float(above3 / 5),
                                      float(frac_above3 * 2), float(missing / 10)};
    std::copy(summary, summary + n_summary, &j.summary(i, 0));
    j.is_b(i, 0) = f == bottom ? 1.0f : 0.0f;
    j.is_llp(i, 0) = f == llp ? 1.0f : 0.0f;
    j.flavour.push_back(f);
    j.radius_mm.push_back(radius);
  }
  return j;
}

data::NamedDataset<float> named(const Jets& j, const Tensor<float>& label, bool summary) {
  std::map<std::string, Tensor<float>> in, tg;
  if (summary) {
    in.emplace("summary", j.summary.clone());
  } else {
    in.emplace("tracks", j.tracks.clone());
    in.emplace("n_tracks", j.n_tracks.clone());
  }
  tg.emplace("score", label.clone());
  return data::NamedDataset<float>(std::move(in), std::move(tg));
}

/// The track inputs, masked: x (15, 6) with its padding set to 0 and the mask attached.
struct TrackInputs {
  Input tracks{"tracks", {max_tracks, n_track_features}};
  Input n_tracks{"n_tracks", {1}};
  SymbolicTensor masked() const { return with_lengths(tracks, n_tracks); }
};

Model<float, cpu> summary_net() {
  auto x = Input{"summary", {n_summary}};
  auto h = Dense{64, Activation::relu}(Dense{64, Activation::relu}(x));
  return Model<float, cpu>{{x}, {Dense{.units = 1, .name = "score"}(Dense{32, Activation::relu}(h))}, "summary_dense"};
}

Model<float, cpu> deep_sets(const char* name) {
  TrackInputs in;
  auto h = Dense{64, Activation::relu}(in.masked());
  h = Dense{64, Activation::relu}(h);
  auto pooled = GlobalSumPooling1D{}(Dense{64, Activation::relu}(h));
  auto out = Dense{.units = 1, .name = "score"}(Dense{64, Activation::relu}(Dense{64, Activation::relu}(pooled)));
  return Model<float, cpu>{{in.tracks, in.n_tracks}, {out}, name};
}

Model<float, cpu> lstm() {
  TrackInputs in;
  auto h = Dense{32, Activation::relu}(in.masked());
  auto last = LSTM{.units = 48}(h);
  return Model<float, cpu>{{in.tracks, in.n_tracks},
                           {Dense{.units = 1, .name = "score"}(Dense{48, Activation::relu}(last))},
                           "lstm"};
}

Model<float, cpu> transformer() {
  TrackInputs in;
  auto h = Dense{32}(in.masked());
  h = TransformerEncoderBlock{.num_heads = 4, .ff_dim = 64, .activation = Activation::gelu, .name = "enc1"}(h);
  h = TransformerEncoderBlock{.num_heads = 4, .ff_dim = 64, .activation = Activation::gelu, .name = "enc2"}(h);
  auto pooled = GlobalAveragePooling1D{}(LayerNormalization{}(h));
  return Model<float, cpu>{{in.tracks, in.n_tracks},
                           {Dense{.units = 1, .name = "score"}(Dense{48, Activation::relu}(pooled))},
                           "transformer"};
}

std::vector<float> sigmoid_of(const Tensor<float>& logits) {
  std::vector<float> s(logits.begin(), logits.end());
  for (float& v : s) v = 1.0f / (1.0f + std::exp(-v));
  return s;
}

/// Scores and labels of the b-jets and the jets of one background flavour.
struct Pair {
  std::vector<float> scores, labels, weights;
};
Pair b_against(const std::vector<float>& s, const Jets& j, int background) {
  Pair p;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (j.flavour[i] != bottom && j.flavour[i] != background) continue;
    p.scores.push_back(s[i]);
    p.labels.push_back(j.flavour[i] == bottom ? 1.0f : 0.0f);
    p.weights.push_back(1.0f);
  }
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  const auto start = std::chrono::steady_clock::now();
  const std::filesystem::path out_dir = argc > 1 ? argv[1] : ".";
  std::filesystem::create_directories(out_dir);
  const char* small_env = std::getenv("HEPNN_TUTORIAL_SMALL");
  const bool small = small_env && *small_env && std::string_view(small_env) != "0";
  if (small) std::printf("HEPNN_TUTORIAL_SMALL: a tenth of the jets, 3 epochs\n\n");
  const std::int64_t n_train = small ? 6000 : 60000, n_test = small ? 3000 : 30000;
  const int epochs = small ? 3 : 12;

  // ---- 1. Jets ----------------------------------------------------------------------------------
  const Jets train = generate(n_train, 1, false), test = generate(n_test, 2, false);
  double mean_tracks[3] = {0, 0, 0};
  for (std::int64_t i = 0; i < n_test; ++i) mean_tracks[test.flavour[std::size_t(i)]] += test.n_tracks(i, 0);
  std::printf("Jets: %lld for training, %lld for testing; a third each light, c and b\n", (long long)n_train,
              (long long)n_test);
  std::printf("Tracks per jet (mean, at most %lld kept): light %.1f, c %.1f, b %.1f\n", (long long)max_tracks,
              3 * mean_tracks[0] / double(n_test), 3 * mean_tracks[1] / double(n_test),
              3 * mean_tracks[2] / double(n_test));

  // ---- 2. Four taggers, one task: b-jets against light and c-jets -----------------------------------
  struct Tagger {
    const char* label;
    Model<float, cpu> model;
    bool summary;
    std::vector<float> scores = {};
    double seconds = 0;
  };
  std::vector<Tagger> taggers;
  taggers.push_back({"dense on summary variables", summary_net(), true});
  taggers.push_back({"Deep Sets", deep_sets("deep_sets"), false});
  taggers.push_back({"LSTM", lstm(), false});
  taggers.push_back({"Transformer encoder", transformer(), false});
  taggers[3].model.summary();
  std::printf("\n%-28s %8s %8s %10s %10s\n", "b-tagger", "params", "seconds", "val_loss", "test AUC");
  for (Tagger& t : taggers) {
    t.model.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-3},
                     .seed = 5});
    const auto t0 = std::chrono::steady_clock::now();
    const History h = t.model.fit(named(train, train.is_b, t.summary),
                                  {.epochs = epochs, .batch_size = 256, .validation_split = 0.2, .verbose = 0});
    t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const data::NamedDataset<float> d = named(test, test.is_b, t.summary);
    t.scores = sigmoid_of(t.model.predict(d.inputs()).at("score"));
    const auto y = test.is_b.to_vector();
    const double auc = metrics::auc<float>(t.scores, y, std::vector<float>(y.size(), 1.0f));
    std::printf("%-28s %8lld %8.1f %10.4f %10.4f\n", t.label, (long long)t.model.num_params(), t.seconds,
                h["val_loss"].back(), auc);
  }

  // ---- 3. Rejection at the working points --------------------------------------------------------
  std::printf("\n%-28s %24s %24s\n", "", "light-jet rejection", "c-jet rejection");
  std::printf("%-28s %12s %11s %12s %11s\n", "b-efficiency", "70%", "77%", "70%", "77%");
  std::vector<plot::RocSeries> light_curves, c_curves;
  double rej70[4] = {0, 0, 0, 0};
  for (std::size_t k = 0; k < taggers.size(); ++k) {
    const Tagger& t = taggers[k];
    const Pair l = b_against(t.scores, test, light), c = b_against(t.scores, test, charm);
    // the experiments' rejection: 1 / (fraction of background jets tagged) at a b-efficiency
    auto rej = [](const Pair& p, double eff) {
      const double kept = 1 - metrics::background_rejection_at_efficiency<float>(p.scores, p.labels, p.weights, eff);
      return kept > 0 ? 1 / kept : INFINITY;
    };
    rej70[k] = rej(l, 0.70);
    std::printf("%-28s %12.1f %11.1f %12.1f %11.1f\n", t.label, rej70[k], rej(l, 0.77), rej(c, 0.70), rej(c, 0.77));
    light_curves.push_back({t.label, metrics::roc_curve<float>(l.scores, l.labels, l.weights)});
    c_curves.push_back({t.label, metrics::roc_curve<float>(c.scores, c.labels, c.weights)});
  }

  // ---- 4. A long-lived particle ------------------------------------------------------------------
  // Deep Sets again, now for displaced decays against all Standard Model jets (light, c, b)
  const Jets llp_train = generate(n_train, 3, true), llp_test = generate(n_test, 4, true);
  Model<float, cpu> llp_tagger = deep_sets("llp_deep_sets");
  llp_tagger.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-3},
                      .seed = 6});
  llp_tagger.fit(named(llp_train, llp_train.is_llp, false), {.epochs = epochs, .batch_size = 256, .verbose = 0});
  const std::vector<float> s_llp =
      sigmoid_of(llp_tagger.predict(named(llp_test, llp_test.is_llp, false).inputs()).at("score"));
  // the threshold that keeps 1% of the Standard Model jets
  std::vector<float> sm;
  for (std::size_t i = 0; i < s_llp.size(); ++i)
    if (llp_test.flavour[i] != llp) sm.push_back(s_llp[i]);
  std::sort(sm.begin(), sm.end());
  const float cut = sm[std::size_t(0.99 * double(sm.size()))];
  const double edges[] = {1, 3, 10, 30, 100, 300};
  std::vector<double> centres, eff, err;
  std::printf("\nLLP tagger (Deep Sets), at 1%% of the Standard Model jets tagged:\n");
  std::printf("  decay radius      LLP efficiency\n");
  for (int b = 0; b < 5; ++b) {
    double pass = 0, all = 0;
    for (std::size_t i = 0; i < s_llp.size(); ++i) {
      if (llp_test.flavour[i] != llp || llp_test.radius_mm[i] < edges[b] || llp_test.radius_mm[i] >= edges[b + 1]) continue;
      all += 1;
      pass += s_llp[i] > cut ? 1 : 0;
    }
    const double e = all > 0 ? pass / all : 0;
    centres.push_back(std::sqrt(edges[b] * edges[b + 1]));
    eff.push_back(e);
    err.push_back(all > 0 ? std::sqrt(e * (1 - e) / all) : 0);
    std::printf("  %5.0f-%3.0f mm       %.3f\n", edges[b], edges[b + 1], e);
  }

  // ---- 5. Plots -----------------------------------------------------------------------------------
  const auto roc_png = out_dir / "btag_rejection.png", llp_png = out_dir / "llp_efficiency.png";
  plot::roc_figure(light_curves, {.title = "Tutorial 12: b-jets against light jets",
                                  .style = plot::RocStyle::rejection, .show_auc = false})
      .save(roc_png.string());
  plot::roc_figure(c_curves, {.title = "Tutorial 12: b-jets against c-jets", .style = plot::RocStyle::rejection,
                              .show_auc = false})
      .save((out_dir / "btag_c_rejection.png").string());
  {
    plot::Figure fig;
    fig.title("Tutorial 12: LLP tagging efficiency at 1% mistag");
    fig.axes()
        .errorbar(centres, eff, err, {}, "Deep Sets")
        .xscale(plot::Scale::log)
        .xlim(1, 300)
        .xlabel("decay radius [mm] (bins 1-3-10-30-100-300)")
        .ylabel("LLP efficiency")
        .ylim(0, 1.05)
        .legend(plot::LegendLocation::lower_right);
    fig.save(llp_png.string());
  }
  std::printf("Plots: %s\n       %s\n       %s\n", roc_png.string().c_str(),
              (out_dir / "btag_c_rejection.png").string().c_str(), llp_png.string().c_str());

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double best_sequence = std::max({rej70[1], rej70[2], rej70[3]});
  const bool ok = best_sequence > rej70[0];
  std::printf("\n%s: at 70%% b-efficiency the best track model rejects %.1fx more light jets than the summary "
              "variables (%.1f against %.1f). Total time %.1f s.\n",
              ok ? "OK" : "FAILED", best_sequence / rej70[0], best_sequence, rej70[0], seconds);
  return ok ? 0 : 1;
}
