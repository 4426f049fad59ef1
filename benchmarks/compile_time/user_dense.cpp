// Compile-time benchmark (benchmarks/compile_time.sh): what a typical user program asks of the
// compiler. It includes the umbrella header and trains the README's first model, a dense net on
// weighted events, on a small synthetic data set; then predicts and evaluates. It also runs, and
// prints its predictions with %a so that builds can be compared bitwise (tests/consumer does so
// for the header-only and the hepnn::precompiled builds).
#include <hepnn/hepnn.hpp>

#include <cstdio>
#include <utility>

int main() {
  using namespace hepnn;
  constexpr std::int64_t n = 512, nf = 5;
  Tensor<float> features(Shape{n, nf}), labels(Shape{n, 1}), weights(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) {
    const float label = static_cast<float>(i % 2);
    for (std::int64_t j = 0; j < nf; ++j)
      features(i, j) = 0.5f * label + static_cast<float>(philox_normal(7, static_cast<std::uint64_t>(j),
                                                                       static_cast<std::uint64_t>(i)));
    labels(i, 0) = label;
    weights.data()[i] = 0.5f + 0.5f * label;
  }
  data::Dataset<float> events(std::move(features), std::move(labels), std::move(weights));
  auto split = events.shuffled(/*seed=*/42).split({.validation = 0.2, .test = 0.2});

  Sequential<float, cpu> model{Input{nf}, Dense{64}, ReLU{}, Dropout{0.2}, Dense{64}, ReLU{}, Dense{1}};
  model.compile({.loss = BinaryCrossEntropy{.from_logits = true},
                 .optimizer = Adam{.learning_rate = 1e-3},
                 .metrics = {metrics::AUC{}}});
  History h = model.fit(split.train, {.epochs = 3,
                                      .batch_size = 64,
                                      .validation = split.validation,
                                      .callbacks = {EarlyStopping{.patience = 5, .restore_best = true}},
                                      .verbose = 0});
  Tensor<float> scores = model.predict(split.test.features());
  const Logs test = model.evaluate(split.test);
  std::printf("hepnn %s\n", abi_tag);
  std::printf("epochs %zu, test loss %a, test auc %a\n", h["loss"].size(), test.at("loss"), test.at("auc"));
  for (std::int64_t i = 0; i < 8 && i < scores.size(); ++i) std::printf("score %lld %a\n", static_cast<long long>(i),
                                                                        static_cast<double>(scores.data()[i]));
  return 0;
}
