// libtorch peer of benchmarks/train_mlp.cpp: the 784-500-300-10 MLP with dropout, Adam 1e-3,
// softmax cross-entropy, batch 128, on Fashion-MNIST, written the way the libtorch C++ docs teach.
// Data loading uses hepnn's idx reader so that both programs see the same bytes.
//   usage: torch_train_mlp [--epochs N] [--threads T] [--data DIR] [--batch B] [--seed S]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "hepnn/data/idx.hpp"

namespace {

struct Mlp : torch::nn::Module {
  torch::nn::Dropout d0{0.2}, d1{0.5}, d2{0.5};
  torch::nn::Linear l1{784, 500}, l2{500, 300}, l3{300, 10};
  Mlp() {
    register_module("d0", d0);
    register_module("l1", l1);
    register_module("d1", d1);
    register_module("l2", l2);
    register_module("d2", d2);
    register_module("l3", l3);
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(l1(d0(x)));
    x = torch::relu(l2(d1(x)));
    return l3(d2(x));
  }
};

torch::Tensor to_torch(const hepnn::Tensor<float, hepnn::cpu>& t, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(t.data()), shape, torch::kFloat32).clone();
}

}  // namespace

int main(int argc, char** argv) {
  int epochs = 10, threads = 1;
  std::int64_t batch = 128;
  std::uint64_t seed = 1;
  std::string dir = hepnn::data::fashion_mnist_default_dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--epochs") epochs = std::atoi(argv[i + 1]);
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--batch") batch = std::atoll(argv[i + 1]);
    else if (a == "--data") dir = argv[i + 1];
    else if (a == "--seed") seed = std::strtoull(argv[i + 1], nullptr, 10);
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  torch::set_num_threads(threads);
  torch::manual_seed(seed);
  hepnn::data::FashionMnist<float> fm;
  try {
    fm = hepnn::data::load_fashion_mnist<float>(dir);
  } catch (const hepnn::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 3;
  }
  const std::int64_t n = fm.train.size(), nt = fm.test.size();
  torch::Tensor x = to_torch(fm.train.features(), {n, 784});
  torch::Tensor y = to_torch(fm.train.targets(), {n}).to(torch::kLong);
  torch::Tensor xt = to_torch(fm.test.features(), {nt, 784});
  torch::Tensor yt = to_torch(fm.test.targets(), {nt}).to(torch::kLong);

  auto model = std::make_shared<Mlp>();
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
      torch::Tensor xb = x.index_select(0, idx), yb = y.index_select(0, idx);
      opt.zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(xb), yb);
      loss.backward();
      opt.step();
      loss_sum += loss.item<double>() * double(B);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(double(n) / s);
    std::printf("epoch %2d  loss %.4f  %8.0f samples/s\n", epoch + 1, loss_sum / double(n), double(n) / s);
    std::fflush(stdout);
  }
  model->eval();
  torch::NoGradGuard ng;
  const double acc = model->forward(xt).argmax(1).eq(yt).to(torch::kDouble).mean().item<double>();
  std::vector<double> sorted = rates;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t m = sorted.size();
  const double median = m == 0 ? 0 : (m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]));
  std::printf("RESULT peer=libtorch threads=%d epochs=%d median_samples_per_s=%.0f test_accuracy=%.4f\n", threads,
              epochs, median, acc);
}
