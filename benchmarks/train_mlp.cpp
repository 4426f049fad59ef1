// Training benchmark: the 784-500-300-10 MLP (ReLU, dropout 0.2 on the input and 0.5 after each
// hidden layer, softmax cross-entropy, Adam 1e-3, batch 128) on real Fashion-MNIST.
// Prints samples/s for every epoch, the median, and the test accuracy after the last epoch.
//   usage: train_mlp [--epochs N] [--threads T] [--data DIR] [--batch B] [--seed S] [--init NAME]
//                    [--bias-init NAME] [--lr LR] [--eps EPS]
// (defaults: Keras's glorot_uniform kernels and zero biases, Adam 1e-3; `--init pytorch_uniform
// --bias-init pytorch_uniform --eps 1e-8` is the libtorch and PyTorch peers' recipe)
// The last line is machine-readable (benchmarks/compare.py reads it):
//   RESULT peer=hepnn threads=T epochs=N median_samples_per_s=... test_accuracy=...
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
  int epochs = 10, threads = 1;
  std::int64_t batch = 128;
  std::uint64_t seed = 1;
  std::string dir = data::fashion_mnist_default_dir;
  Init init = Init::glorot_uniform, bias_init = Init::zeros;
  double lr = 1e-3, eps = Adam{}.epsilon;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--epochs") epochs = std::atoi(argv[i + 1]);
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--batch") batch = std::atoll(argv[i + 1]);
    else if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--data") dir = argv[i + 1];
    else if (a == "--lr") lr = std::atof(argv[i + 1]);
    else if (a == "--eps") eps = std::atof(argv[i + 1]);
    else if (a == "--init" || a == "--bias-init") {
      try {
        (a == "--init" ? init : bias_init) = init_from_string(argv[i + 1]);
      } catch (const Error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
      }
    }
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  set_num_threads(threads);
  data::FashionMnist<float> fm;
  try {
    fm = data::load_fashion_mnist<float>(dir);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 3;
  }

  auto dense = [&](std::int64_t units, Activation act) {
    return Dense{.units = units, .activation = act, .kernel_initializer = init, .bias_initializer = bias_init};
  };
  Sequential<float> model(Input{784}, Dropout{0.2}, dense(500, Activation::relu), Dropout{0.5},
                          dense(300, Activation::relu), Dropout{0.5}, dense(10, Activation::linear));
  model.compile({.loss = CategoricalCrossEntropy{.from_logits = true},
                 .optimizer = Adam{.learning_rate = lr, .epsilon = eps},
                 .seed = seed});

  std::vector<double> rates;
  std::chrono::steady_clock::time_point t0;
  const double n = double(fm.train.size());
  auto timer = LambdaCallback{
      .on_epoch_begin = [&](int, TrainingControl&) { t0 = std::chrono::steady_clock::now(); },
      .on_epoch_end =
          [&](int epoch, const Logs& logs, TrainingControl&) {
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            rates.push_back(n / s);
            std::printf("epoch %2d  loss %.4f  %8.0f samples/s\n", epoch + 1, logs.at("loss"), n / s);
            std::fflush(stdout);
          },
  };
  model.fit(fm.train, {.epochs = epochs, .batch_size = batch, .callbacks = {timer}, .verbose = 0});

  const Tensor<float, cpu> scores = model.predict(fm.test.features());
  std::int64_t right = 0;
  for (std::int64_t i = 0; i < fm.test.size(); ++i) {
    const float* s = scores.data() + i * 10;
    right += std::int64_t(std::max_element(s, s + 10) - s) == std::int64_t(fm.test.targets().data()[i]);
  }
  std::sort(rates.begin(), rates.end());
  const std::size_t m = rates.size();
  const double median = m == 0 ? 0 : (m % 2 ? rates[m / 2] : 0.5 * (rates[m / 2 - 1] + rates[m / 2]));
  std::printf("RESULT peer=hepnn threads=%d epochs=%d median_samples_per_s=%.0f test_accuracy=%.4f\n", threads, epochs,
              median, double(right) / double(fm.test.size()));
}
