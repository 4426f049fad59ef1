// Uses the installed hepnn: trains one neuron on a linear target and checks it learned.
#include <hepnn/hepnn.hpp>

#include <cstdio>

int main() {
  using namespace hepnn;
  Tensor<float> x(Shape{64, 1}), y(Shape{64, 1});
  for (int i = 0; i < 64; ++i) {
    x(i, 0) = float(i) / 32.0f - 1.0f;
    y(i, 0) = 3.0f * x(i, 0) + 0.5f;
  }
  Sequential<float, cpu> model{Input{1}, Dense{1}};
  model.compile({.loss = MeanSquaredError{}, .optimizer = SGD{.learning_rate = 0.1}});
  History h = model.fit(x, y, {.epochs = 200, .batch_size = 64, .verbose = 0});
  const double loss = h["loss"].back();
  std::printf("consumer: final loss %.3g\n", loss);
  return loss < 1e-4 ? 0 : 1;
}
