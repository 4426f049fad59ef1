// libtorch peer of benchmarks/train_cnn.cpp: the same CNN, Adam 1e-3, batch 128, on the first
// --samples Fashion-MNIST training images (read with hepnn's idx reader).
//   usage: torch_train_cnn [--epochs N] [--threads T] [--samples S] [--data DIR]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "hepnn/data/idx.hpp"

namespace {
struct Cnn : torch::nn::Module {
  torch::nn::Conv2d c1{torch::nn::Conv2dOptions(1, 32, 5).padding(2)};
  torch::nn::Conv2d c2{torch::nn::Conv2dOptions(32, 64, 5).padding(2)};
  torch::nn::Linear f1{64 * 7 * 7, 128}, f2{128, 10};
  torch::nn::Dropout drop{0.5};
  Cnn() {
    register_module("c1", c1);
    register_module("c2", c2);
    register_module("f1", f1);
    register_module("f2", f2);
    register_module("drop", drop);
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::max_pool2d(torch::relu(c1(x)), 2);
    x = torch::max_pool2d(torch::relu(c2(x)), 2);
    x = drop(torch::relu(f1(x.flatten(1))));
    return f2(x);
  }
};
}  // namespace

int main(int argc, char** argv) {
  int epochs = 1, threads = 1;
  std::int64_t samples = 6400, batch = 128;
  std::string dir = hepnn::data::fashion_mnist_default_dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--epochs") epochs = std::atoi(argv[i + 1]);
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--samples") samples = std::atoll(argv[i + 1]);
    else if (a == "--data") dir = argv[i + 1];
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  torch::set_num_threads(threads);
  torch::manual_seed(1);
  hepnn::data::FashionMnist<float> fm;
  try {
    fm = hepnn::data::load_fashion_mnist<float>(dir, true);
  } catch (const hepnn::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 3;
  }
  const std::int64_t n = std::min(samples, fm.train.size());
  torch::Tensor x = torch::from_blob(const_cast<float*>(fm.train.features().data()), {n, 1, 28, 28}).clone();
  torch::Tensor y = torch::from_blob(const_cast<float*>(fm.train.targets().data()), {n}).to(torch::kLong);
  auto model = std::make_shared<Cnn>();
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
  std::vector<double> rates;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    model->train();
    const auto t0 = std::chrono::steady_clock::now();
    torch::Tensor perm = torch::randperm(n, torch::kLong);
    double loss_sum = 0;
    for (std::int64_t b0 = 0; b0 < n; b0 += batch) {
      const std::int64_t B = std::min(batch, n - b0);
      torch::Tensor idx = perm.slice(0, b0, b0 + B);
      opt.zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x.index_select(0, idx)), y.index_select(0, idx));
      loss.backward();
      opt.step();
      loss_sum += loss.item<double>() * double(B);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(double(n) / s);
    std::printf("epoch %2d  loss %.4f  %8.0f samples/s\n", epoch + 1, loss_sum / double(n), double(n) / s);
  }
  std::sort(rates.begin(), rates.end());
  const std::size_t m = rates.size();
  const double median = m == 0 ? 0 : (m % 2 ? rates[m / 2] : 0.5 * (rates[m / 2 - 1] + rates[m / 2]));
  std::printf("RESULT peer=libtorch threads=%d epochs=%d median_samples_per_s=%.0f\n", threads, epochs, median);
}
