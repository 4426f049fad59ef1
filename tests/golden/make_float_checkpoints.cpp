// Writes float_checkpoint_sequential.h5 and float_checkpoint_graph.h5: float models with Dense
// and LeakyReLU layers (whose alpha a float layer holds rounded to float), trained one epoch and
// saved as checkpoints. tests/io/test_graph_file.cpp resumes both with the models built in code,
// which proves that checkpoints written before the spec-options change (issue 13) still resume.
// Made at commit 569cf40, the last before that change:
//   git worktree add /tmp/old 569cf40 && cp tests/golden/make_float_checkpoints.cpp /tmp/old/
//   g++ -std=c++20 -O1 -I /tmp/old/include -isystem /usr/include/eigen3 -isystem /usr/include/hdf5/serial
//       -DHEPNN_GCC12_AVX512_CHECKED -mtune-ctrl=^inter_unit_moves_to_vec
//       /tmp/old/make_float_checkpoints.cpp -o /tmp/make_float_checkpoints -lhdf5_serial   (one line)
//   /tmp/make_float_checkpoints tests/golden/data
#include <cmath>
#include <cstdio>
#include <string>

#include "hepnn/hepnn.hpp"
#include "hepnn/io.hpp"

using namespace hepnn;

namespace golden_float_checkpoints {
// the data: x[i][j] = sin(0.37 i + 1.3 j) (j + 1), label x0 + 0.5 x2 > 0
inline data::Dataset<float> data_set() {
  const std::int64_t n = 64;
  Tensor<float, cpu> x(Shape{n, 4}), y(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) x(i, j) = float(std::sin(0.37 * double(i) + 1.3 * double(j)) * double(j + 1));
    y(i, 0) = x(i, 0) + 0.5f * x(i, 2) > 0 ? 1.0f : 0.0f;
  }
  return data::Dataset<float>(std::move(x), std::move(y));
}
inline Sequential<float> sequential() {
  Sequential<float> m(Input{4}, Dense{8, Activation::leaky_relu}, LeakyReLU{0.3}, Dense{1, Activation::sigmoid});
  m.compile({.loss = BinaryCrossEntropy{}, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 5});
  return m;
}
inline Model<float> graph() {
  auto x = Input{"x", {4}};
  auto h = LeakyReLU{0.3}(Dense{8, Activation::elu}(x));
  Model<float> m{{x}, {Dense{.units = 1, .activation = Activation::sigmoid, .name = "p"}(h)}};
  m.compile({.loss = BinaryCrossEntropy{}, .optimizer = Adam{.learning_rate = 1e-2}, .seed = 5});
  return m;
}
inline data::NamedDataset<float> named(const data::Dataset<float>& d) {
  std::map<std::string, Tensor<float, cpu>> x, y;
  x.emplace("x", d.features().clone());
  y.emplace("p", d.targets().clone());
  return data::NamedDataset<float>(std::move(x), std::move(y));
}
}  // namespace golden_float_checkpoints

#ifndef GOLDEN_FLOAT_CHECKPOINTS_NO_MAIN
int main(int argc, char** argv) {
  namespace g = golden_float_checkpoints;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const data::Dataset<float> d = g::data_set();
  Sequential<float> s = g::sequential();
  s.fit(d, {.epochs = 1, .batch_size = 16, .verbose = 0});
  io::save_model(s, dir + "/float_checkpoint_sequential.h5", {.epoch = 0});
  Model<float> m = g::graph();
  m.fit(g::named(d), {.epochs = 1, .batch_size = 16, .verbose = 0});
  io::save_model(m, dir + "/float_checkpoint_graph.h5", {.epoch = 0});
  return 0;
}
#endif
