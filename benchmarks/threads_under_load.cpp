// The HIGGS fit of the first-week report, timed: how long one fit takes with hepnn's default
// thread setting or with a given number of threads, on an idle machine or beside busy processes
// (benchmarks/threads_under_load.sh starts those and runs this program in alternating rounds).
//
// Usage: threads_under_load <binary.train> <threads: 0 = hepnn's default> [epochs, default 30]
//        threads_under_load mlp <threads> [epochs, default 2]: the 784-500-300-10 MLP of the
//        Fashion-MNIST tutorials on 6000 synthetic images, batch 128 (large enough products
//        for two threads to pay off)
// Prints one line: "fit_seconds <s> threads <n> auc <train AUC>" (accuracy for mlp).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <hepnn/hepnn.hpp>

using namespace hepnn;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <binary.train> <threads, 0 = default> [epochs]\n", argv[0]);
    return 2;
  }
  const int threads = std::atoi(argv[2]);
  if (threads > 0) set_num_threads(threads);
  if (std::string(argv[1]) == "mlp") {
    const int epochs = argc > 3 ? std::atoi(argv[3]) : 2;
    const std::int64_t n = 6000;
    Tensor<float> x(Shape{n, 784}), y(Shape{n, 1});
    for (std::int64_t i = 0; i < n; ++i) {
      y(i, 0) = float(i % 10);
      for (std::int64_t j = 0; j < 784; ++j) x(i, j) = float(((i * 7919 + j * 104729) % 1000) / 1000.0 + (j % 10 == i % 10));
    }
    Sequential<float, cpu> mlp{Input{784}, Dense{500, Activation::relu}, Dense{300, Activation::relu}, Dense{10}};
    mlp.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-3},
                 .metrics = {metrics::Accuracy{}}, .seed = 1});
    const data::Dataset<float> d(std::move(x), std::move(y));
    const auto t0 = std::chrono::steady_clock::now();
    const History h = mlp.fit(d, {.epochs = epochs, .batch_size = 128, .verbose = 0});
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("fit_seconds %.4f threads %d accuracy %.4f\n", s, num_threads(), h["accuracy"].back());
    return 0;
  }
  const int epochs = argc > 3 ? std::atoi(argv[3]) : 30;
  // The LightGBM/HIGGS text layout: label, then 28 features, whitespace separated (read by hand
  // so that this program builds against older hepnn versions too, for A/B runs).
  std::ifstream in(argv[1]);
  if (!in) {
    std::fprintf(stderr, "cannot open %s\n", argv[1]);
    return 2;
  }
  std::vector<float> x, y;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    float v;
    s >> v;
    y.push_back(v);
    for (int j = 0; j < 28 && s >> v; ++j) x.push_back(v);
  }
  const auto n = std::int64_t(y.size());
  data::Dataset<float> d(Tensor<float>(Shape{n, 28}, x), Tensor<float>(Shape{n, 1}, y));
  Sequential<float, cpu> model{Input{28}, Dense{64}, ReLU{}, Dropout{0.1}, Dense{64}, ReLU{}, Dense{1}};
  model.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-3},
                 .metrics = {metrics::AUC{}}, .seed = 1});
  const auto t0 = std::chrono::steady_clock::now();
  const History h = model.fit(d, {.epochs = epochs, .batch_size = 256, .verbose = 0});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("fit_seconds %.4f threads %d auc %.4f\n", s, num_threads(), h["auc"].back());
  return 0;
}
