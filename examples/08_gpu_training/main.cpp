// Tutorial 08: the same network on the GPU, by changing one template argument.
//
// Tutorial 03's multilayer perceptron (784-500-300-10 with dropout, Adam) trained on
// Fashion-MNIST, written once as a function template over the device. On a machine with an
// NVIDIA GPU it trains on the GPU and then, for comparison, one epoch on the CPU; it checks that
// both start from the same weights and take the same first steps (the same seed gives the same
// initial weights and dropout masks on both devices). Without a GPU it says so, trains the same
// code on the CPU for the given number of epochs, prints "SKIP" (the comparison with the GPU did
// not run) and exits with 77, the tests' "skipped"; without the Fashion-MNIST files likewise.
//
// Usage: 08_gpu_training [data directory, default /usr/share/datasets/fashion-mnist] [epochs, default 5]
// With the environment variable HEPNN_TUTORIAL_SMALL=1 it trains 1 epoch (unless given) on the
// first 6,000 training images (a quick check, as the tests run it).
// Built when CMake finds nvcc (the program links hepnn::cuda); see docs/tutorial-08-gpu-training.md.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "hepnn/data/idx.hpp"
#include "hepnn/hepnn.hpp"
#include "hepnn/plot.hpp"

using namespace hepnn;

// The network is device-free code: Device is the only thing that changes.
template <class Device>
Sequential<float, Device> make_mlp() {
  Sequential<float, Device> model(Input{784}, Dropout{0.2}, Dense{500, Activation::relu}, Dropout{0.5},
                                  Dense{300, Activation::relu}, Dropout{0.5}, Dense{10});
  model.compile({.loss = CategoricalCrossEntropy{.from_logits = true},
                 .optimizer = Adam{.learning_rate = 1e-3},
                 .metrics = {metrics::Accuracy{}},
                 .seed = 2024});
  return model;
}

template <class Device>
double train(Sequential<float, Device>& model, const data::Dataset<float>& train_set,
             const data::Dataset<float>& validation, int epochs, const char* history_svg = nullptr) {
  const auto t0 = std::chrono::steady_clock::now();
  const History h = model.fit(train_set, {.epochs = epochs, .batch_size = 128, .validation = validation, .verbose = 2});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s: %d epochs in %.1f s, %.0f samples/s, validation accuracy %.2f%%\n", std::string(Device::name).c_str(),
              epochs, s, double(train_set.size()) * epochs / s, 100 * h["val_accuracy"].back());
  if (history_svg) {  // loss and accuracy per epoch (SVG, open it in a browser)
    plot::history(h, history_svg, {.title = "Tutorial 08: training on the " + std::string(Device::name)});
    std::printf("wrote %s\n", history_svg);
  }
  return s;
}

int main(int argc, char** argv) {
  const std::string data_dir = argc > 1 ? argv[1] : data::fashion_mnist_default_dir;
  const char* small_env = std::getenv("HEPNN_TUTORIAL_SMALL");
  const bool small = small_env && *small_env && std::string_view(small_env) != "0";
  const int epochs = argc > 2 ? std::atoi(argv[2]) : small ? 1 : 5;
  data::FashionMnist<float> fm;
  try {
    fm = data::load_fashion_mnist<float>(data_dir);
  } catch (const Error& e) {
    std::printf("%s\nSKIP: tutorial 08 needs the Fashion-MNIST files (Debian: sudo apt-get install "
                "dataset-fashion-mnist)\n", e.what());
    return 77;
  }
  if (small) {
    fm.train = fm.train.slice(0, 6000);
    fm.test = fm.test.slice(0, 2000);
    std::printf("HEPNN_TUTORIAL_SMALL: 6000 training and 2000 test images, %d epoch(s)\n", epochs);
  }
  auto [train_set, validation, unused] = fm.train.split({.validation = 0.1});

  if (!backend::cuda::available()) {
    std::printf("no CUDA GPU on this machine: the same code runs on the CPU (Sequential<float, cpu>)\n");
    auto model = make_mlp<cpu>();
    train(model, train_set, validation, epochs, "history_cpu.svg");
    std::printf("SKIP: no GPU, so the comparison of the two devices did not run\n");
    return 77;
  }
  std::printf("GPU: %s\n", backend::cuda::device_name().c_str());

  // 1. The same seed gives the same initial weights on both devices, bit for bit.
  auto gpu_model = make_mlp<cuda>();
  auto cpu_model = make_mlp<cpu>();
  const std::vector<float> wg = gpu_model.parameters().to_vector(), wc = cpu_model.parameters().to_vector();
  std::printf("initial weights identical on both devices: %s\n", wg == wc ? "yes" : "NO");

  // 2. One training step on the same batch: the same dropout masks, results within float rounding.
  const data::Dataset<float> batch = train_set.slice(0, 128);
  gpu_model.train_on_batch(batch);
  cpu_model.train_on_batch(batch);
  const std::vector<float> sg = gpu_model.parameters().to_vector(), sc = cpu_model.parameters().to_vector();
  double worst = 0;
  for (std::size_t i = 0; i < sg.size(); ++i) worst = std::max(worst, double(std::abs(sg[i] - sc[i])));
  std::printf("after one step the weights differ by at most %.2g\n", worst);

  // 3. Train on the GPU, then time one epoch on the CPU for comparison.
  gpu_model = make_mlp<cuda>();
  const double t_gpu = train(gpu_model, train_set, validation, epochs, "history_gpu.svg");
  const Logs test = gpu_model.evaluate(fm.test);
  std::printf("GPU model: test accuracy %.2f%%\n", 100 * test.at("accuracy"));
  cpu_model = make_mlp<cpu>();
  const double t_cpu = train(cpu_model, train_set, validation, 1);
  std::printf("one epoch: GPU %.2f s, CPU %.2f s (%d threads)\n", t_gpu / epochs, t_cpu, num_threads());
  return 0;
}
