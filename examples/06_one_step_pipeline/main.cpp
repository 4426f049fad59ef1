// Tutorial 06: one program from simulation to a reloaded, evaluated model, through one HDF5
// training file and one HDF5 model file (no chain of intermediate formats).
//
//   1. simulate signal and background events with cross-section weights
//   2. write them to train.h5 (features, labels, weights)
//   3. read the file back, split it (stratified), normalise the weights per class and fit the
//      standardisation on the training part only
//   4. train, keeping the best epoch with ModelCheckpoint
//   5. save the model (architecture, weights, preprocessing, optimizer, history) to model.h5
//   6. reload it and evaluate: the reloaded model predicts bitwise the same
// Usage: 06_one_step_pipeline [output directory, default "."]
// With the environment variable HEPNN_TUTORIAL_SMALL=1 it simulates 6,000 events instead of
// 60,000 and trains 3 epochs instead of 8 (a quick check, as the tests run it).
// See docs/tutorial-06-one-step-pipeline.md.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "hepnn/hepnn.hpp"
#include "hepnn/io.hpp"
#include "hepnn/plot.hpp"

using namespace hepnn;

namespace {
/// Signal: a resonance-like bump in feature 0 and correlated features; background: falling spectra.
data::Dataset<float> simulate(std::int64_t n_signal, std::int64_t n_background, std::uint64_t seed) {
  const std::int64_t n = n_signal + n_background;
  Tensor<float, cpu> x(Shape{n, 5}), y(Shape{n, 1}), w(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) {
    const bool sig = i < n_signal;
    auto u = [&](std::uint64_t k) { return philox_uniform(seed, std::uint64_t(i), k); };
    auto g = [&](std::uint64_t k) { return philox_normal(seed, std::uint64_t(i), k); };
    const double mass = sig ? 125.0 + 3.0 * g(0) : 60.0 - 40.0 * std::log(1.0 - u(1));  // GeV
    const double pt = sig ? 45.0 + 15.0 * g(2) : 20.0 - 25.0 * std::log(1.0 - u(3));
    const double eta = (sig ? 1.2 : 2.0) * g(4);
    const double met = sig ? 40.0 + 15.0 * g(5) : 15.0 - 10.0 * std::log(1.0 - u(6));
    const double dphi = sig ? 1.0 * u(7) : 3.14159 * u(8);
    x(i, 0) = float(mass);
    x(i, 1) = float(pt);
    x(i, 2) = float(eta);
    x(i, 3) = float(met);
    x(i, 4) = float(dphi);
    y(i, 0) = sig ? 1.f : 0.f;
    // per-event weights: cross section x luminosity / generated events, with a spread
    w(i) = float((sig ? 0.02 : 1.5) * (0.8 + 0.4 * u(9)));
  }
  return data::Dataset<float>(std::move(x), std::move(y), std::move(w)).shuffled(seed);
}
}  // namespace

int main(int argc, char** argv) {
  try {
    const std::filesystem::path out = argc > 1 ? argv[1] : ".";
    std::filesystem::create_directories(out);
    const std::string train_file = (out / "train.h5").string(), model_file = (out / "model.h5").string(),
                      best_file = (out / "best.h5").string();

    const char* small_env = std::getenv("HEPNN_TUTORIAL_SMALL");
    const bool small = small_env && *small_env && std::string_view(small_env) != "0";
    if (small) std::printf("HEPNN_TUTORIAL_SMALL: 6000 events, 3 epochs\n");

    // 1-2. simulate and write the training file
    io::write_dataset(train_file, small ? simulate(2000, 4000, 2026) : simulate(20000, 40000, 2026));
    std::printf("wrote %s\n", train_file.c_str());

    // 3. read it back: features, labels and weights by dataset name
    const auto all = io::read_dataset<float>(train_file, {.features = "features", .targets = "targets",
                                                          .weights = "weights"});
    auto parts = data::split(all, {.validation = 0.2, .test = 0.2}, 7, /*stratify=*/true);
    data::normalize_weights_per_class(parts.train);
    data::normalize_weights_per_class(parts.validation);
    std::printf("events: %lld train, %lld validation, %lld test\n", (long long)parts.train.size(),
                (long long)parts.validation.size(), (long long)parts.test.size());

    Sequential<float> model(Input{5}, Dense{32, Activation::relu}, Dropout{0.1}, Dense{16, Activation::relu},
                            Dense{1, Activation::sigmoid});
    model.set_input_transform(data::fit_standardization(parts.train.features()));  // training part only
    model.compile({.loss = BinaryCrossEntropy{},
                   .optimizer = Adam{.learning_rate = 2e-3},
                   .metrics = {metrics::AUC{}},
                   .seed = 11});

    // 4. train, keeping the best epoch
    const History h = model.fit(
        parts.train, {.epochs = small ? 3 : 8,
                      .batch_size = 256,
                      .validation = parts.validation,
                      .callbacks = {io::ModelCheckpoint<float>{.model = &model, .filepath = best_file,
                                                               .monitor = "val_auc", .save_best_only = true}},
                      .verbose = 2});

    // 5. save the final model with its history
    io::save_model(model, model_file, {.epoch = int(h.epochs.back()), .history = &h});
    const auto info = io::read_model_info(model_file);
    std::printf("saved %s (format %lld, hepnn %s, %s)\n", model_file.c_str(), (long long)info.format_version,
                info.hepnn_version.c_str(), info.created.c_str());

    // 6. reload and evaluate on the test part (raw features: the model standardises them)
    const auto reloaded = io::load_model<float>(model_file);
    const bool same = reloaded.predict(parts.test.features()).to_vector() == model.predict(parts.test.features()).to_vector();
    const auto best = io::load_model<float>(best_file);
    const double auc_final = reloaded.evaluate(parts.test).at("auc");
    const double auc_best = best.evaluate(parts.test).at("auc");
    std::printf("reloaded model predicts bitwise the same: %s\n", same ? "yes" : "NO");
    std::printf("test AUC: final model %.4f, best checkpoint (epoch %d) %.4f\n", auc_final,
                *io::read_model_info(best_file).epoch + 1, auc_best);

    // 7. plots (SVG, open them in a browser): loss and AUC per epoch; the reloaded final model's
    //    ROC curve on the test part, with its weights, in both conventions; its score
    //    distributions on the training and the test part with the Kolmogorov-Smirnov check
    const std::string history_svg = (out / "history.svg").string(), roc_svg = (out / "roc.svg").string(),
                      scores_svg = (out / "scores.svg").string();
    plot::history(h, history_svg, {.title = "Tutorial 06: training history"});
    const Tensor<float> test_scores = reloaded.predict(parts.test.features());
    plot::roc(test_scores, parts.test.targets(), parts.test.weights(), roc_svg,
              {.title = "Tutorial 06: reloaded model, test events"}, "final model");
    const auto ks = plot::score_distributions(reloaded.predict(parts.train.features()), parts.train.targets(),
                                              parts.train.weights(), test_scores, parts.test.targets(),
                                              parts.test.weights(), scores_svg,
                                              {.title = "Tutorial 06: score, training vs test events", .lo = 0, .hi = 1});
    std::printf("overtraining check (Kolmogorov-Smirnov, training vs test scores): p = %.3f signal, %.3f background\n",
                ks.signal.p_value, ks.background.p_value);
    std::printf("plots: %s, %s, %s\n", history_svg.c_str(), roc_svg.c_str(), scores_svg.c_str());
    return same ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
