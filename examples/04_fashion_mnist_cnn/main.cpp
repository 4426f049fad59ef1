// Tutorial 04: a convolutional network for Fashion-MNIST (28x28 grey images of clothes, 10 classes).
//
//   conv 5x5x32 "same" (ReLU) -> max-pool 2 -> conv 5x5x64 "same" (ReLU) -> max-pool 2 -> dense 128 (ReLU)
//   -> dropout 0.5 -> dense 10 (logits)
//
// Trains for 5 epochs with Adam and reports the test accuracy (about 91%) and the accuracy of
// each class. Usage: 04_fashion_mnist_cnn [data directory] [epochs]
// The data directory holds the four idx files (Debian: sudo apt-get install dataset-fashion-mnist,
// which installs them in /usr/share/datasets/fashion-mnist, the default). Without them the
// program says how to get them, prints "SKIP" and exits with 77 (the tests' "skipped").
// With the environment variable HEPNN_TUTORIAL_SMALL=1 it trains 1 epoch (unless given) on the
// first 2,000 training and 500 test images (a quick check, as the tests run it).
// See docs/tutorial-04-fashion-mnist-cnn.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "hepnn/data/idx.hpp"
#include "hepnn/hepnn.hpp"
#include "hepnn/plot.hpp"

using namespace hepnn;

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : data::fashion_mnist_default_dir;
  const char* small_env = std::getenv("HEPNN_TUTORIAL_SMALL");
  const bool small = small_env && *small_env && std::string_view(small_env) != "0";
  const int epochs = argc > 2 ? std::atoi(argv[2]) : small ? 1 : 5;

  data::FashionMnist<float> fm;
  try {
    fm = data::load_fashion_mnist<float>(dir, /*images=*/true);  // (N, 1, 28, 28) in [0, 1], labels (N, 1)
  } catch (const Error& e) {
    std::printf("%s\nSKIP: tutorial 04 needs the Fashion-MNIST files (Debian: sudo apt-get install "
                "dataset-fashion-mnist)\n", e.what());
    return 77;
  }
  if (small) {
    fm.train = fm.train.slice(0, 2000);
    fm.test = fm.test.slice(0, 500);
    std::printf("HEPNN_TUTORIAL_SMALL: 2000 training and 500 test images, %d epoch(s)\n", epochs);
  }
  std::printf("Fashion-MNIST: %lld training and %lld test images of %s\n", (long long)fm.train.size(),
              (long long)fm.test.size(), fm.train.features().shape().tail().str().c_str());

  Sequential<float> model(Input{Shape{1, 28, 28}},
                          Conv2D{.filters = 32, .kernel_size = 5, .padding = Padding::same, .activation = Activation::relu},
                          MaxPool2D{.pool_size = 2},
                          Conv2D{.filters = 64, .kernel_size = 5, .padding = Padding::same, .activation = Activation::relu},
                          MaxPool2D{.pool_size = 2},
                          Flatten{},
                          Dense{.units = 128, .activation = Activation::relu},
                          Dropout{.rate = 0.5},
                          Dense{.units = 10});
  model.compile({.loss = CategoricalCrossEntropy{.from_logits = true},
                 .optimizer = Adam{.learning_rate = 1e-3},
                 .metrics = {metrics::Accuracy{}},
                 .seed = 42});
  model.summary();

  const auto t0 = std::chrono::steady_clock::now();
  // The test set is shown after each epoch to follow the training; nothing is tuned on it.
  const History history = model.fit(fm.train, {.epochs = epochs, .batch_size = 64, .validation = fm.test, .verbose = 2});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const Logs logs = model.evaluate(fm.test);
  std::printf("\ntraining took %.0f s on %d thread(s)\n", seconds, num_threads());
  std::printf("test loss %.4f, test accuracy %.2f%%\n", logs.at("loss"), 100 * logs.at("accuracy"));

  // Accuracy per class: which clothes the network confuses.
  const char* names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                           "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  const Tensor<float, cpu> logits = model.predict(fm.test.features());
  std::vector<int> right(10, 0), total(10, 0);
  for (std::int64_t i = 0; i < fm.test.size(); ++i) {
    const float* row = logits.data() + i * 10;
    int best = 0;
    for (int c = 1; c < 10; ++c)
      if (row[c] > row[best]) best = c;
    const int label = int(fm.test.targets().data()[i]);
    ++total[std::size_t(label)];
    if (best == label) ++right[std::size_t(label)];
  }
  for (int c = 0; c < 10; ++c)
    std::printf("  %-12s %5.1f%%\n", names[c], 100.0 * right[std::size_t(c)] / std::max(1, total[std::size_t(c)]));
  // Plots (SVG, open them in a browser): loss and accuracy per epoch; the confusion matrix of
  // the test images (row = true class, column = predicted class, each row normalised to 1).
  plot::history(history, "history.svg", {.title = "Tutorial 04: Fashion-MNIST CNN, training history"});
  plot::confusion_matrix(plot::predicted_classes(logits, 10), fm.test.targets(), {},
                         std::vector<std::string>(std::begin(names), std::end(names)), "confusion.svg");
  std::printf("wrote history.svg (loss and accuracy per epoch), confusion.svg (confusion matrix of the test images)\n");
  return logs.at("accuracy") >= 0.90 || epochs < 5 || small ? 0 : 1;
}
