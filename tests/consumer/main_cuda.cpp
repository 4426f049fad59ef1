// Uses the installed hepnn with its CUDA component: the same one-neuron fit as main.cpp, with
// Sequential<float, cuda>. Without a GPU it checks the error a user gets and says it skipped.
#include <hepnn/hepnn.hpp>

#include <cstdio>
#include <string>

int main() {
  using namespace hepnn;
  if (!backend::cuda::available()) {
    try {
      Tensor<float, cuda> t(Shape{4});
      std::printf("consumer_cuda: a device tensor was created without a GPU\n");
      return 1;
    } catch (const Error& e) {
      const bool clear = std::string(e.what()).find("no usable GPU") != std::string::npos;
      std::printf("consumer_cuda: SKIPPED the GPU run (no GPU); the error says: %s\n", e.what());
      return clear ? 0 : 1;
    }
  }
  Tensor<float> x(Shape{64, 1}), y(Shape{64, 1});
  for (int i = 0; i < 64; ++i) {
    x(i, 0) = float(i) / 32.0f - 1.0f;
    y(i, 0) = 3.0f * x(i, 0) + 0.5f;
  }
  Sequential<float, cuda> model{Input{1}, Dense{1}};
  model.compile({.loss = MeanSquaredError{}, .optimizer = SGD{.learning_rate = 0.1}});
  History h = model.fit(x, y, {.epochs = 200, .batch_size = 64, .verbose = 0});
  const double loss = h["loss"].back();
  std::printf("consumer_cuda: %s, final loss %.3g\n", backend::cuda::device_name().c_str(), loss);
  return loss < 1e-4 ? 0 : 1;
}
