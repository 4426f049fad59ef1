// Tutorial 03: a multilayer perceptron on real images, Fashion-MNIST.
//
// 70,000 greyscale 28x28 pictures of clothes in 10 classes (T-shirt, trouser, pullover, dress,
// coat, sandal, shirt, sneaker, bag, ankle boot): 60,000 for training, 10,000 for testing.
// Each image becomes a vector of 784 pixel values in [0, 1], and a network of two hidden layers
// (500 and 300 ReLU units, dropout against over-fitting) learns the class. This is the network
// of the classic "MLP with dropout" exercise; it reaches about 88% test accuracy in 10 epochs.
//
// Usage: 03_fashion_mnist_mlp [data directory, default /usr/share/datasets/fashion-mnist]
//                             [output directory, default "."]
// The data come from Debian's package dataset-fashion-mnist (sudo apt-get install
// dataset-fashion-mnist); without them the program prints "SKIP" and exits with 77.
// With the environment variable HEPNN_TUTORIAL_SMALL=1 it trains 2 epochs on the first 6,000
// training and 2,000 test images (a quick check, as the tests run it).
// See docs/tutorial-03-fashion-mnist-mlp.md.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "hepnn/data/idx.hpp"
#include "hepnn/hepnn.hpp"
#include "hepnn/plot.hpp"

using namespace hepnn;

int main(int argc, char** argv) {
  const std::string data_dir = argc > 1 ? argv[1] : data::fashion_mnist_default_dir;
  const std::filesystem::path out_dir = argc > 2 ? argv[2] : ".";
  std::filesystem::create_directories(out_dir);

  // ---- 1. The data ------------------------------------------------------------------------
  // load_fashion_mnist reads the four idx files (gzip-compressed as Debian ships them), scales
  // the pixels to [0, 1] and gives the labels 0..9 as a (N, 1) target: CategoricalCrossEntropy
  // accepts integer labels directly, no one-hot encoding needed.
  data::FashionMnist<float> fm;
  try {
    fm = data::load_fashion_mnist<float>(data_dir);
  } catch (const Error& e) {
    std::printf("%s\nSKIP: tutorial 03 needs the Fashion-MNIST files (Debian: sudo apt-get install "
                "dataset-fashion-mnist)\n", e.what());
    return 77;  // "skipped" (the tests' convention): the data are simply not installed
  }
  const char* small_env = std::getenv("HEPNN_TUTORIAL_SMALL");
  const bool small = small_env && *small_env && std::string_view(small_env) != "0";
  const int epochs = small ? 2 : 10;
  if (small) {
    fm.train = fm.train.slice(0, 6000);
    fm.test = fm.test.slice(0, 2000);
    std::printf("HEPNN_TUTORIAL_SMALL: 6000 training and 2000 test images, 2 epochs\n");
  }
  std::printf("training images %s, test images %s\n", fm.train.features().shape().str().c_str(),
              fm.test.features().shape().str().c_str());

  // Hold out the last 10% of the training images to watch over-fitting while training; the test
  // images are used once, at the very end.
  auto [train, validation, unused] = fm.train.split({.validation = 0.1});

  // ---- 2. The network -----------------------------------------------------------------------
  // Dropout(0.2) on the pixels and Dropout(0.5) after each hidden layer switch off a random
  // part of the units at every step (only while training), so that no unit can rely on one
  // particular other unit: the classic regulariser of Srivastava et al. (2014).
  // The last Dense layer has no activation: it returns logits, and the loss applies the softmax
  // itself (from_logits = true), which is more accurate than a Softmax layer followed by a log.
  // A batch of 128 images costs 2 x 128 x (784 x 500 + 500 x 300 + 300 x 10) = 1.4e8 flops forward
  // alone, plenty to share: hepnn uses all cores by default (OMP_NUM_THREADS respected), and
  // the results are bitwise the same for any number of threads.
  Sequential<float> model(Input{784}, Dropout{0.2}, Dense{500, Activation::relu}, Dropout{0.5},
                          Dense{300, Activation::relu}, Dropout{0.5}, Dense{10});
  model.compile({.loss = CategoricalCrossEntropy{.from_logits = true},
                 .optimizer = Adam{.learning_rate = 1e-3},
                 .metrics = {metrics::Accuracy{}},
                 .seed = 2024});
  model.summary();

  // ---- 3. Training --------------------------------------------------------------------------
  const auto t0 = std::chrono::steady_clock::now();
  const History history =
      model.fit(train, {.epochs = epochs,
                        .batch_size = 128,
                        .validation = validation,
                        .callbacks = {CSVLogger{.filename = (out_dir / "training_log.csv").string()}},
                        .verbose = 2});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("trained %d epochs in %.1f s (%.0f samples/s with %d threads)\n", int(history.epochs.size()),
              seconds, double(train.size()) * double(history.epochs.size()) / seconds, num_threads());

  // ---- 4. The test images -------------------------------------------------------------------
  const Logs test = model.evaluate(fm.test);
  std::printf("test loss %.4f, test accuracy %.2f%%\n", test.at("loss"), 100 * test.at("accuracy"));

  // Which classes does the network confuse? Shirts with T-shirts, pullovers and coats, as
  // every Fashion-MNIST classifier does.
  const std::array<const char*, 10> names = {"T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                                             "Sandal",  "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  const Tensor<float> scores = model.predict(fm.test.features());
  std::array<std::array<int, 10>, 10> confusion{};
  for (std::int64_t i = 0; i < fm.test.size(); ++i) {
    const float* s = scores.data() + i * 10;
    const int guess = int(std::max_element(s, s + 10) - s), truth = int(fm.test.targets().data()[i]);
    ++confusion[std::size_t(truth)][std::size_t(guess)];
  }
  std::printf("\n%-11s %8s   most often mistaken for\n", "class", "accuracy");
  for (int c = 0; c < 10; ++c) {
    int total = 0, worst = -1;
    for (int g = 0; g < 10; ++g) {
      total += confusion[std::size_t(c)][std::size_t(g)];
      if (g != c && (worst < 0 || confusion[std::size_t(c)][std::size_t(g)] > confusion[std::size_t(c)][std::size_t(worst)]))
        worst = g;
    }
    std::printf("%-11s %7.1f%%   %s (%d)\n", names[std::size_t(c)],
                100.0 * confusion[std::size_t(c)][std::size_t(c)] / total, names[std::size_t(worst)],
                confusion[std::size_t(c)][std::size_t(worst)]);
  }
  // ---- 5. Plots (SVG, open them in a browser) ------------------------------------------------
  // The loss and the accuracy per epoch, training and validation; the confusion matrix of the
  // test images: row = true class, column = predicted class, each row normalised to 1.
  const auto history_svg = out_dir / "history.svg", confusion_svg = out_dir / "confusion.svg";
  plot::history(history, history_svg.string(), {.title = "Tutorial 03: Fashion-MNIST MLP, training history"});
  plot::confusion_matrix(plot::predicted_classes(scores, 10), fm.test.targets(), {},
                         std::vector<std::string>(names.begin(), names.end()), confusion_svg.string());
  std::printf("\nwrote %s\n      %s (loss and accuracy per epoch)\n      %s (confusion matrix of the test images)\n",
              (out_dir / "training_log.csv").string().c_str(), history_svg.string().c_str(),
              confusion_svg.string().c_str());
}
