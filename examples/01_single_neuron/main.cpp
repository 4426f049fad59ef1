// Tutorial 01: one neuron, trained by hand and then by hepnn.
//
// A neuron takes a point x = (x0, x1), computes a weighted sum z = w0*x0 + w1*x1 + b and squashes
// it with the sigmoid function into p = 1 / (1 + e^-z), a number between 0 and 1 that we read as
// "the probability that this point is signal". Training means choosing w0, w1 and b so that p is
// close to 1 for signal points and close to 0 for background points. (Statisticians call this
// logistic regression.) See docs/tutorial-01-single-neuron.md.
#include <cmath>
#include <cstdio>

#include "hepnn/hepnn.hpp"

using namespace hepnn;

int main() {
  // ---- 1. A tiny data set: two overlapping clouds of points in the plane ----
  // Background (label 0) is centred at (-1, -0.5), signal (label 1) at (+1, +0.5); both have a
  // spread of 1, so the clouds overlap and no straight line can separate them perfectly.
  // philox_normal(seed, stream, i) returns the i-th Gaussian number of a stream: the same numbers
  // on every machine and every run, so everyone reading this tutorial sees the same output.
  constexpr std::int64_t n = 200;  // 100 points of each class
  constexpr std::uint64_t seed = 2024;
  Tensor<double> x(Shape{n, 2});  // one row per point: (x0, x1)
  Tensor<double> y(Shape{n, 1});  // one row per point: the true label, 0 or 1
  for (std::int64_t i = 0; i < n; ++i) {
    const double label = i % 2;  // alternate background / signal
    const auto k = static_cast<std::uint64_t>(i);
    x(i, 0) = (label == 1 ? 1.0 : -1.0) + philox_normal(seed, 0, k);
    x(i, 1) = (label == 1 ? 0.5 : -0.5) + philox_normal(seed, 1, k);
    y(i, 0) = label;
  }

  // ---- 2. The neuron's parameters and their starting values ----
  // Any starting point works for a single neuron; we pick one by hand so that the library model
  // below can start from exactly the same place.
  const double w_start[2] = {0.3, -0.2}, b_start = 0.0;
  Tensor<double> w(Shape{2, 1}, {w_start[0], w_start[1]});  // a column: z = x * w is a matrix product
  double b = b_start;

  // ---- 3. Gradient descent, written out ----
  // The loss measures how wrong the neuron is, averaged over all points (binary cross-entropy):
  //   L = mean over points of  -[ y log p + (1 - y) log(1 - p) ]
  // It is small when p is near y. Its slope with respect to each parameter has a simple form:
  //   dL/dw_j = mean((p - y) * x_j),   dL/db = mean(p - y)
  // Gradient descent repeats one idea: move every parameter a small step against its slope,
  // downhill, and the loss goes down. The step size is the learning rate.
  constexpr double learning_rate = 0.5;
  constexpr int steps = 100;
  Tensor<double> z(Shape{n, 1}), p(Shape{n, 1});
  std::printf("Gradient descent by hand (%d steps, learning rate %g)\n", steps, learning_rate);
  for (int step = 0; step <= steps; ++step) {
    // Forward: z = x * w for all points at once (a matrix product, (n x 2) times (2 x 1)),
    // then add b and squash with the sigmoid.
    ops::gemm<cpu>(false, false, n, 1, 2, 1.0, x.data(), w.data(), 0.0, z.data());
    double loss = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      p(i, 0) = 1.0 / (1.0 + std::exp(-(z(i, 0) + b)));
      loss += -(y(i, 0) * std::log(p(i, 0)) + (1 - y(i, 0)) * std::log(1 - p(i, 0))) / n;
    }
    if (step % 20 == 0) std::printf("  step %3d  loss %.6f\n", step, loss);
    if (step == steps) break;  // the last pass only measured the loss

    // Backward: the slopes (gradients) from the formulas above.
    double grad_w0 = 0, grad_w1 = 0, grad_b = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const double error = p(i, 0) - y(i, 0);  // how far off this point is, and in which direction
      grad_w0 += error * x(i, 0) / n;
      grad_w1 += error * x(i, 1) / n;
      grad_b += error / n;
    }
    // Update: one step downhill.
    w(0, 0) -= learning_rate * grad_w0;
    w(1, 0) -= learning_rate * grad_w1;
    b -= learning_rate * grad_b;
  }
  // Accuracy: call a point signal when p >= 0.5 and count how often that is right.
  int correct = 0;
  for (std::int64_t i = 0; i < n; ++i) correct += (p(i, 0) >= 0.5) == (y(i, 0) == 1);
  std::printf("  learned w = (%.6f, %.6f), b = %.6f, accuracy %.1f%%\n\n", w(0, 0), w(1, 0), b,
              100.0 * correct / n);

  // ---- 4. The same neuron with the library ----
  // Dense{1} is one neuron: z = x * kernel + bias. The model outputs z itself (a "logit"), and
  // from_logits tells the loss to apply the sigmoid inside, which is numerically safer.
  // SGD is plain gradient descent. One epoch with batch_size = n and no shuffling is exactly one
  // step of the loop above, computed over all points at once.
  Sequential<double, cpu> model{Input{2}, Dense{1}};
  model.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = SGD{.learning_rate = learning_rate}});
  Tensor<double>& params = model.parameters();  // all parameters in one list: kernel (w0, w1), then bias
  params(0) = w_start[0];
  params(1) = w_start[1];
  params(2) = b_start;
  const History history = model.fit(x, y, {.epochs = steps, .batch_size = n, .shuffle = false, .verbose = 0});

  std::printf("The same neuron with hepnn: Sequential{Input{2}, Dense{1}}, SGD, %d epochs\n", steps);
  std::printf("  loss after the last step %.6f (logged: mean loss during the epoch %.6f)\n",
              model.evaluate({x.clone(), y.clone()})["loss"], history["loss"].back());
  std::printf("  learned w = (%.6f, %.6f), b = %.6f\n", params(0), params(1), params(2));
  const double diff = std::max({std::abs(params(0) - w(0, 0)), std::abs(params(1) - w(1, 0)), std::abs(params(2) - b)});
  std::printf("  largest difference to the hand-written loop: %.1e %s\n", diff,
              diff < 1e-9 ? "(the same up to rounding)" : "(MISMATCH)");
  return diff < 1e-9 ? 0 : 1;
}
