// Writes model_v1_sequential.h5 and model_v1_predictions.txt: a compiled, trained Sequential
// model (Dense, BatchNormalization, Dropout, LeakyReLU, Sigmoid; standardisation; Adam state;
// epoch and history) in model file format version 1, and its predictions on fixed inputs.
//
// Made once, at commit f1449aa (hepnn 0.1, the last release writing format version 1), and
// committed: tests/io/test_graph_file.cpp proves that every later hepnn still loads it
// and predicts the same. Do not regenerate it with a newer hepnn; that would prove nothing.
//
//   g++ -std=c++20 -O2 -I include -isystem /usr/include/eigen3 -I /usr/include/hdf5/serial \
//     tests/golden/make_model_v1.cpp -o /tmp/make_model_v1 -lhdf5_serial
//   /tmp/make_model_v1 tests/golden/data
#include <cmath>
#include <cstdio>
#include <string>

#include "hepnn/data/preprocessing.hpp"
#include "hepnn/io/model_file.hpp"
#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/batchnorm.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/dropout.hpp"

using namespace hepnn;

// The fixed inputs of the predictions: x[i][j] = sin(0.37 i + 1.3 j) * (j + 1).
Tensor<double, cpu> inputs(std::int64_t n) {
  Tensor<double, cpu> x(Shape{n, 5});
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < 5; ++j) x(i, j) = std::sin(0.37 * double(i) + 1.3 * double(j)) * double(j + 1);
  return x;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const std::int64_t n = 200;
  Tensor<double, cpu> x = inputs(n), y(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) y(i, 0) = x(i, 0) + 0.5 * x(i, 2) - 0.3 * x(i, 4) > 0 ? 1.0 : 0.0;
  data::Dataset<double> d(x.clone(), std::move(y));

  Sequential<double> m(Input{5}, Dense{12}, BatchNormalization{}, LeakyReLU{0.1}, Dropout{0.25}, Dense{6, Activation::tanh},
                       Dense{1}, Sigmoid{});
  m.compile({.loss = BinaryCrossEntropy{},
             .optimizer = Adam{.learning_rate = 5e-3},
             .metrics = {metrics::Accuracy{}},
             .seed = 11});
  m.set_input_transform(data::fit_standardization(d.features()));
  const History h = m.fit(d, {.epochs = 3, .batch_size = 20, .verbose = 0});
  io::save_model(m, dir + "/model_v1_sequential.h5", {.epoch = 2, .history = &h});

  const Tensor<double, cpu> p = m.predict(x);
  std::FILE* f = std::fopen((dir + "/model_v1_predictions.txt").c_str(), "w");
  if (!f) return 1;
  std::fprintf(f, "# predictions of model_v1_sequential.h5 on x[i][j] = sin(0.37 i + 1.3 j) * (j + 1), i < %lld\n",
               (long long)n);
  for (std::int64_t i = 0; i < n; ++i) std::fprintf(f, "%.17g\n", p(i, 0));
  std::fclose(f);
  std::printf("wrote %s/model_v1_sequential.h5 (format version %lld) and its %lld predictions\n", dir.c_str(),
              (long long)io::model_format_version, (long long)n);
}
