/// @file plot.hpp
/// @brief Plots as SVG files, written from C++ with the standard library only (docs/plots.md).
///
/// Usage (scores of a binary classifier, Tensor<float> of shape (N, 1) from predict; labels 0/1, weights may be {}):
/// @code
///   #include <hepnn/plot.hpp>
///   namespace plot = hepnn::plot;
///   History h = model.fit(split.train, {.epochs = 30, .validation = split.validation});
///   plot::history(h, "history.svg");                                   // loss and metrics, train and val_
///   Tensor<float> s_test = model.predict(split.test.features());
///   Tensor<float> s_train = model.predict(split.train.features());
///   plot::roc(s_test, split.test.targets(), split.test.weights(), "roc.svg");  // ROC and 1/eps_B vs eps_S
///   auto ks = plot::score_distributions(s_train, split.train.targets(), split.train.weights(),
///                                       s_test, split.test.targets(), split.test.weights(), "scores.svg");
///   std::printf("KS p-values: signal %.3f, background %.3f\n", ks.signal.p_value, ks.background.p_value);
///   plot::confusion_matrix(predicted, truth, {}, {"e", "mu", "tau"}, "confusion.svg");
/// @endcode
/// Any argument of per-event numbers takes a std::vector, std::span or host Tensor of any arithmetic type
/// (plot::Values). Your own plots: plot::Figure fig; fig.axes().line(x, y, "label").yscale(plot::Scale::log);
/// fig.save("mine.svg"). PNG: `rsvg-convert -o plot.png plot.svg`.
#pragma once
#include "hepnn/core/config.hpp"

#include "hepnn/plot/ks.hpp"
#include "hepnn/plot/plots.hpp"
#include "hepnn/plot/svg.hpp"
#include "hepnn/plot/values.hpp"
