// Tutorial 13: deploy and exchange. A b-tagger trained in Keras runs in a C++ event loop, and a
// tagger trained with hepnn runs in ONNX Runtime, with the same scores.
//
//   1. Load jet_tagger.keras (trained by Keras: train_keras.py beside this file), check that
//      hepnn's scores are Keras' own, and run it one jet at a time as an event loop would:
//      latency per call, and jets per second on each thread.
//   2. Train the same network with hepnn (inputs standardised inside the model) and export it,
//      and the Keras model, to ONNX: tagger.onnx and keras_tagger.onnx, with the test jets and
//      hepnn's scores in scores.h5. run_onnxruntime.py (beside this file) runs both files in ONNX
//      Runtime and compares.
//
// Usage: 13_deploy_exchange [output directory, default "."] [Keras model, default the one beside
//                           this file]
//        13_deploy_exchange --write-jets FILE   the jets train_keras.py trains on (HDF5)
// HEPNN_TUTORIAL_SMALL=1: a fifth of the jets and 3 epochs (what the tests run).
// Needs the optional component hepnn::onnx (libonnx-dev, libprotobuf-dev).
// See docs/tutorial-13-deploy-exchange.md.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "hepnn/hepnn.hpp"
#include "hepnn/io.hpp"
#include "hepnn/io/onnx.hpp"
#include "hepnn/plot.hpp"

using namespace hepnn;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t n_tracks = 6, n_track_features = 3, n_jet_features = 4;
constexpr std::uint64_t train_seed = 11, test_seed = 12;
constexpr std::int64_t n_reference = 1000;  // test jets that Keras scored (keras_scores.txt)

struct Jets {
  Tensor<float> jet, tracks, label;
};

/// Toy jets, the same on every machine (Philox numbers per jet): b-jets have more tracks, and
/// tracks from a displaced decay with large positive impact-parameter significance. Raw units,
/// as in an ntuple (the models standardise their inputs themselves):
///   jet:    pT [GeV], eta, mass [GeV], track count
///   tracks: the 6 leading tracks (zero rows where there are fewer): d0 and z0 significance,
///           log of the track's pT fraction
Jets generate(std::int64_t n, std::uint64_t seed) {
  Jets j{Tensor<float>(Shape{n, n_jet_features}), Tensor<float>(Shape{n, n_tracks, n_track_features}),
         Tensor<float>(Shape{n, 1})};
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint64_t nu = 0, nn = 0;
    auto uniform = [&] { return philox_uniform(seed, 2 * std::uint64_t(i), nu++); };
    auto normal = [&] { return philox_normal(seed, 2 * std::uint64_t(i) + 1, nn++); };
    auto exponential = [&](double mean) { return -mean * std::log(1.0 - uniform()); };
    const bool b = i % 2 == 1;
    const std::int64_t nt = std::min<std::int64_t>(n_tracks, 1 + std::int64_t(exponential(b ? 3.5 : 2.0)));
    double mass = 2 * exponential(1.0);
    for (std::int64_t t = 0; t < n_tracks; ++t) {
      float* f = &j.tracks(i, t, 0);
      if (t >= nt) {
        std::fill(f, f + n_track_features, 0.0f);
        continue;
      }
      const bool displaced = b && uniform() < 0.5;
      const double d0 = displaced ? exponential(3.0) * (uniform() < 0.85 ? 1 : -1) : normal();
      const double z0 = displaced ? 1.3 * normal() : normal();
      const double frac = std::exp(-exponential(1.0)) / double(nt);
      mass += displaced ? 1.5 : 0.3;
      f[0] = float(std::clamp(d0, -25.0, 25.0));
      f[1] = float(std::clamp(z0, -25.0, 25.0));
      f[2] = float(std::log(frac));
    }
    j.jet(i, 0) = float(30 + 250 * uniform() * uniform());
    j.jet(i, 1) = float(5 * uniform() - 2.5);
    j.jet(i, 2) = float(mass);
    j.jet(i, 3) = float(nt);
    j.label(i, 0) = b ? 1.0f : 0.0f;
  }
  return j;
}

/// The first n rows of t.
Tensor<float> first(const Tensor<float>& t, std::int64_t n) {
  Shape s = t.shape();
  s[0] = n;
  Tensor<float> out(s);
  std::copy(t.data(), t.data() + out.size(), out.data());
  return out;
}

std::map<std::string, Tensor<float>> inputs(const Jets& j, std::int64_t n) {
  std::map<std::string, Tensor<float>> in;
  in.emplace("jet", first(j.jet, n));
  in.emplace("tracks", first(j.tracks, n));
  return in;
}

data::NamedDataset<float> named(const Jets& j, std::int64_t n, const char* target) {
  std::map<std::string, Tensor<float>> tg;
  tg.emplace(target, first(j.label, n));
  return data::NamedDataset<float>(inputs(j, n), std::move(tg));
}

std::vector<float> read_column(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open '" + path.string() + "' (it belongs beside the Keras model)");
  std::vector<float> v;
  for (float x; in >> x;) v.push_back(x);
  return v;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, std::size_t(q * double(v.size())))];
}

/// Jets per second of the one-jet-at-a-time loop on `threads` threads, each with its own
/// Workspace and the model shared.
double loop_rate(const Model<float, cpu>& m, const Jets& j, std::int64_t calls, int threads) {
  const std::int64_t n = j.jet.shape()[0];
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      Model<float, cpu>::Workspace ws;
      float score = 0;
      for (std::int64_t c = t; c < calls; c += threads) {
        const std::int64_t i = c % n;
        m.predict({std::span<const float>(&j.jet(i, 0), n_jet_features),
                   std::span<const float>(&j.tracks(i, 0, 0), n_tracks * n_track_features)},
                  {std::span<float>(&score, 1)}, ws);
      }
    });
  for (auto& th : pool) th.join();
  return double(calls) / std::chrono::duration<double>(Clock::now() - t0).count();
}

void latency_plot(const std::vector<double>& us, const std::string& path) {
  const double lo = 0, hi = quantile(us, 0.995) * 1.2;
  const int bins = 60;
  std::vector<double> edges(bins + 1), h(bins, 0.0);
  for (int k = 0; k <= bins; ++k) edges[std::size_t(k)] = lo + (hi - lo) * k / bins;
  for (double v : us) h[std::size_t(std::min(bins - 1, int((v - lo) / (hi - lo) * bins)))] += 1;
  plot::Figure fig;
  fig.title("Tutorial 13: one jet per call, Keras model in hepnn");
  fig.axes()
      .xlabel("latency of one predict call [microseconds]; last bin: overflow")
      .ylabel("calls")
      .yscale(plot::Scale::log)
      .step_histogram(edges, h, "one thread, allocation-free predict", {.color = "#2a62b8", .fill = true});
  fig.save(path);
}

}  // namespace

int main(int argc, char** argv) {
  const auto start = Clock::now();
  if (argc == 3 && std::string_view(argv[1]) == "--write-jets") {  // for train_keras.py
    const Jets train = generate(50000, train_seed), test = generate(n_reference, test_seed);
    io::write_named_dataset(argv[2], named(train, 50000, "btag"));
    const std::string test_file = std::string(argv[2]) + ".test.h5";
    io::write_named_dataset(test_file, named(test, n_reference, "btag"));
    std::printf("wrote 50000 training jets to %s and %lld test jets to %s\n", argv[2], (long long)n_reference,
                test_file.c_str());
    return 0;
  }
  const std::filesystem::path here = std::filesystem::path(__FILE__).parent_path();
  const std::filesystem::path out_dir = argc > 1 ? argv[1] : ".";
  const std::filesystem::path keras_file = argc > 2 ? argv[2] : here / "jet_tagger.keras";
  std::filesystem::create_directories(out_dir);
  const char* small_env = std::getenv("HEPNN_TUTORIAL_SMALL");
  const bool small = small_env && *small_env && std::string_view(small_env) != "0";
  if (small) std::printf("HEPNN_TUTORIAL_SMALL: a fifth of the jets, 3 epochs\n\n");
  const std::int64_t n_train = small ? 8000 : 40000, n_test = small ? 4000 : 20000;
  const int epochs = small ? 3 : 10;
  const Jets test = generate(n_test, test_seed);
  const auto y = test.label.to_vector();
  const std::vector<float> ones(y.size(), 1.0f);

  // ---- 1. A model trained in Keras, in a C++ event loop -------------------------------------------
  if (!std::filesystem::exists(keras_file)) {
    std::fprintf(stderr, "no Keras model at %s: run train_keras.py, or give its path\n", keras_file.string().c_str());
    return 1;
  }
  const Model<float, cpu> keras_tagger = io::load_keras<float>(keras_file.string());
  std::printf("Loaded %s (written by Keras)\n", keras_file.filename().string().c_str());
  keras_tagger.summary();
  for (const std::string& in : keras_tagger.input_names()) {  // Keras' Normalization layers
    const auto& t = keras_tagger.input_transform(in);
    std::printf("Input '%s': %s, %zu shifts and scales (Keras' Normalization layer)\n", in.c_str(),
                t.empty() ? "raw" : t.kind.c_str(), t.shift.size());
  }
  const data::NamedDataset<float> d_test = named(test, n_test, "btag");
  const std::vector<float> s_keras = keras_tagger.predict(d_test.inputs()).at("btag").to_vector();
  const std::vector<float> keras_own = read_column(keras_file.parent_path() / "keras_scores.txt");
  if (std::int64_t(keras_own.size()) != n_reference) throw Error("keras_scores.txt: expected 1000 scores");
  double max_diff = 0;
  for (std::int64_t i = 0; i < n_reference; ++i)
    max_diff = std::max(max_diff, double(std::abs(s_keras[std::size_t(i)] - keras_own[std::size_t(i)])));
  std::printf("\nScores of the first %lld test jets, hepnn vs Keras' own predict: max |difference| %.1e\n",
              (long long)n_reference, max_diff);
  const double auc_keras = metrics::auc<float>(s_keras, y, ones);
  std::printf("b-tagging AUC of the Keras model on %lld test jets: %.4f\n", (long long)n_test, auc_keras);

  // The event loop: one jet per call, an allocation-free predict with this thread's Workspace.
  Model<float, cpu>::Workspace ws;
  float score = 0;
  const std::int64_t calls = small ? 20000 : 200000;
  std::vector<double> us;
  us.reserve(std::size_t(calls));
  for (std::int64_t c = 0; c < calls; ++c) {
    const std::int64_t i = c % n_test;
    const auto t0 = Clock::now();
    keras_tagger.predict({std::span<const float>(&test.jet(i, 0), n_jet_features),
                          std::span<const float>(&test.tracks(i, 0, 0), n_tracks * n_track_features)},
                         {std::span<float>(&score, 1)}, ws);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (c < n_test && std::abs(score - s_keras[std::size_t(i)]) > 1e-6f)
      throw Error("jet " + std::to_string(i) + ": one jet at a time gave another score than the whole set at once");
  }
  std::printf("\nEvent loop, one jet per predict call (%lld calls):\n", (long long)calls);
  std::printf("  latency per call: median %.2f us, 99%% below %.2f us\n", quantile(us, 0.5), quantile(us, 0.99));
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  std::vector<int> thread_counts{1};
  if (hw > 1) thread_counts.push_back(int(std::min(hw, 4u)));
  for (int threads : thread_counts)
    std::printf("  %d %s one Workspace each: %.2fM jets/s\n", threads, threads == 1 ? "thread, " : "threads,",
                loop_rate(keras_tagger, test, 2 * calls, threads) / 1e6);

  // ---- 2. A model trained with hepnn, to ONNX -------------------------------------------------------
  const Jets train = generate(n_train, train_seed);
  const data::NamedDataset<float> d_train = named(train, n_train, "btag");
  auto jet = Input{"jet", {n_jet_features}};
  auto trk = Input{"tracks", {n_tracks, n_track_features}};
  auto per_track = Flatten{}(Dense{16, Activation::relu}(trk));
  auto z = Dense{32, Activation::relu}(Concatenate{}({Dense{16, Activation::relu}(jet), per_track}));
  Model<float, cpu> tagger{{jet, trk}, {Dense{.units = 1, .activation = Activation::sigmoid, .name = "btag"}(z)}, "tagger"};
  for (const char* in : {"jet", "tracks"})  // stored in the model, and exported as nodes
    tagger.set_input_transform(in, data::fit_standardization(d_train.inputs().at(in)));
  tagger.compile({.loss = BinaryCrossEntropy{}, .optimizer = Adam{.learning_rate = 2e-3}, .seed = 5});
  const History h = tagger.fit(d_train, {.epochs = epochs, .batch_size = 256, .verbose = 0});
  std::printf("\nhepnn tagger (the same layers), %d epochs on %lld jets: loss %.4f -> %.4f\n", epochs,
              (long long)n_train, h["loss"].front(), h["loss"].back());
  const std::vector<float> s_hepnn = tagger.predict(d_test.inputs()).at("btag").to_vector();
  const double auc_hepnn = metrics::auc<float>(s_hepnn, y, ones);
  std::printf("b-tagging AUC of the hepnn tagger: %.4f\n", auc_hepnn);

  const auto onnx_file = out_dir / "tagger.onnx", keras_onnx = out_dir / "keras_tagger.onnx",
             scores_file = out_dir / "scores.h5";
  io::save_onnx(tagger, onnx_file.string());
  io::save_onnx(keras_tagger, keras_onnx.string());
  // what ONNX Runtime is given, and what it must reproduce: the test jets and both models' scores
  {
    std::map<std::string, Tensor<float>> tg;
    Tensor<float> a(Shape{n_reference, 1}), b(Shape{n_reference, 1}), k(Shape{n_reference, 1});
    std::copy(s_hepnn.begin(), s_hepnn.begin() + n_reference, a.data());
    std::copy(s_keras.begin(), s_keras.begin() + n_reference, b.data());
    std::copy(keras_own.begin(), keras_own.end(), k.data());
    tg.emplace("tagger", std::move(a));
    tg.emplace("keras_tagger", std::move(b));
    tg.emplace("keras_own", std::move(k));
    io::write_named_dataset(scores_file.string(), data::NamedDataset<float>(inputs(test, n_reference), std::move(tg)));
  }
  // and back: the file read by hepnn again gives the same scores
  const Model<float, cpu> reread = io::load_onnx<float>(onnx_file.string());
  const std::vector<float> s_reread = reread.predict(d_test.inputs()).at("btag").to_vector();
  double back = 0;
  for (std::size_t i = 0; i < s_hepnn.size(); ++i) back = std::max(back, double(std::abs(s_reread[i] - s_hepnn[i])));
  std::printf("\nWrote %s (%lld bytes) and %s (%lld bytes)\n", onnx_file.string().c_str(),
              (long long)std::filesystem::file_size(onnx_file), keras_onnx.string().c_str(),
              (long long)std::filesystem::file_size(keras_onnx));
  std::printf("  and %s: %lld test jets with both models' scores, for run_onnxruntime.py\n",
              scores_file.string().c_str(), (long long)n_reference);
  std::printf("tagger.onnx read back by hepnn: max |score difference| %.1e\n", back);

  // ---- 3. Plots -----------------------------------------------------------------------------------
  const auto roc_png = out_dir / "roc.png", latency_png = out_dir / "latency.png";
  plot::roc_figure({{"Keras model, run by hepnn", metrics::roc_curve<float>(s_keras, y, ones)},
                    {"hepnn tagger", metrics::roc_curve<float>(s_hepnn, y, ones)}},
                   {.title = "Tutorial 13: b-tagging, test jets", .style = plot::RocStyle::rejection})
      .save(roc_png.string());
  latency_plot(us, latency_png.string());
  std::printf("Plots: %s\n       %s\n", roc_png.string().c_str(), latency_png.string().c_str());

  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const bool ok = max_diff < 1e-5 && back < 1e-6;
  std::printf("\n%s: hepnn reproduces Keras to %.1e. Total time %.1f s.\n", ok ? "OK" : "FAILED", max_diff, seconds);
  std::printf("Next, ONNX Runtime in Python: run_onnxruntime.py %s (beside this program's source)\n",
              out_dir.string().c_str());
  return ok ? 0 : 1;
}
