// Training throughput of the CNN of examples/04 (conv 5x5x32 same, max-pool 2, conv 5x5x64 same,
// max-pool 2, dense 128 relu, dropout 0.5, dense 10; Adam 1e-3, batch 128) on the first
// --samples Fashion-MNIST training images. Throughput only: see examples/04 for the accuracy run.
//   usage: train_cnn [--epochs N] [--threads T] [--samples S] [--data DIR]
//   last line: RESULT peer=hepnn threads=T epochs=N median_samples_per_s=...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "hepnn/data/idx.hpp"
#include "hepnn/hepnn.hpp"

using namespace hepnn;

int main(int argc, char** argv) {
  int epochs = 1, threads = 1;
  std::int64_t samples = 6400;
  std::string dir = data::fashion_mnist_default_dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--epochs") epochs = std::atoi(argv[i + 1]);
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--samples") samples = std::atoll(argv[i + 1]);
    else if (a == "--data") dir = argv[i + 1];
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  set_num_threads(threads);
  data::FashionMnist<float> fm;
  try {
    fm = data::load_fashion_mnist<float>(dir, /*images=*/true);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 3;
  }
  const data::Dataset<float> train = fm.train.slice(0, std::min(samples, fm.train.size()));
  Sequential<float> model(Input{1, 28, 28},
                          Conv2D{.filters = 32, .kernel_size = 5, .padding = Padding::same, .activation = Activation::relu},
                          MaxPool2D{.pool_size = 2},
                          Conv2D{.filters = 64, .kernel_size = 5, .padding = Padding::same, .activation = Activation::relu},
                          MaxPool2D{.pool_size = 2}, Flatten{}, Dense{.units = 128, .activation = Activation::relu},
                          Dropout{.rate = 0.5}, Dense{.units = 10});
  model.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-3},
                 .seed = 1});
  std::vector<double> rates;
  std::chrono::steady_clock::time_point t0;
  const double n = double(train.size());
  auto timer = LambdaCallback{
      .on_epoch_begin = [&](int, TrainingControl&) { t0 = std::chrono::steady_clock::now(); },
      .on_epoch_end =
          [&](int epoch, const Logs& logs, TrainingControl&) {
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            rates.push_back(n / s);
            std::printf("epoch %2d  loss %.4f  %8.0f samples/s\n", epoch + 1, logs.at("loss"), n / s);
          },
  };
  model.fit(train, {.epochs = epochs, .batch_size = 128, .callbacks = {timer}, .verbose = 0});
  std::sort(rates.begin(), rates.end());
  const std::size_t m = rates.size();
  const double median = m == 0 ? 0 : (m % 2 ? rates[m / 2] : 0.5 * (rates[m / 2 - 1] + rates[m / 2]));
  std::printf("RESULT peer=hepnn threads=%d epochs=%d median_samples_per_s=%.0f\n", threads, epochs, median);
}
