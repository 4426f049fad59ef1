/// @file tests/train/test_cnn.cpp
/// @brief Convolutional models in Sequential: they learn a task a dense-free linear model cannot
/// see (bar orientation), the parameter and state layout, summary(), bitwise reproducibility
/// across thread counts, and errors for inputs of the wrong shape.
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/batchnorm.hpp"
#include "hepnn/layers/conv2d.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/dropout.hpp"
#include "hepnn/layers/flatten.hpp"
#include "hepnn/layers/pooling.hpp"
#include "hepnn/layers/reshape.hpp"
#include "hepnn/metrics/metrics.hpp"
#include "hepnn/train/sequential.hpp"

using namespace hepnn;
using Catch::Contains;

namespace {

/// 8x8 images holding one bright bar, horizontal (label 0) or vertical (label 1), at a random
/// row or column, over uniform noise.
data::Dataset<float> bars(std::int64_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Tensor<float, cpu> x(Shape{n, 1, 8, 8}), y(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    const bool vertical = rng() % 2 == 1;
    const std::int64_t pos = std::int64_t(rng() % 8);
    for (std::int64_t r = 0; r < 8; ++r)
      for (std::int64_t c = 0; c < 8; ++c) {
        const float noise = float(rng() % 1000) / 2000.0f;
        x.data()[i * 64 + r * 8 + c] = noise + (((vertical ? c : r) == pos) ? 1.0f : 0.0f);
      }
    y.data()[i] = vertical ? 1.0f : 0.0f;
  }
  return data::Dataset<float>(std::move(x), std::move(y));
}

Sequential<float> small_cnn() {
  return Sequential<float>(Input{Shape{1, 8, 8}},
                           Conv2D{.filters = 4, .kernel_size = 3, .padding = Padding::same, .activation = Activation::relu},
                           MaxPool2D{}, BatchNormalization{}, Conv2D{.filters = 8, .kernel_size = 3},
                           ReLU{}, GlobalAveragePooling2D{}, Dense{2});
}

}  // namespace

TEST_CASE("cnn: a small convolutional network learns bar orientation", "[train][conv]") {
  const auto train = bars(512, 1), test = bars(256, 2);
  Sequential<float> m = small_cnn();
  m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 0.01},
             .metrics = {metrics::Accuracy{}}, .seed = 3});
  m.fit(train, {.epochs = 8, .batch_size = 32, .verbose = 0});
  const Logs logs = m.evaluate(test);
  CHECK(logs.at("accuracy") >= 0.95);
}

TEST_CASE("cnn: parameter and state layout, summary", "[train][conv]") {
  Sequential<float> m = small_cnn();
  // conv 4*1*9 + 4, pool 0, bn gamma/beta 2*4 (+ 8 state), conv 8*4*9 + 8, relu, gap, dense 8*2 + 2
  CHECK(m.num_params() == 40 + 8 + 296 + 18);
  CHECK(m.num_state() == 8);
  CHECK(m.layer(2).state_params().size() == 2);
  CHECK(m.state_offset(2) == 0);
  CHECK(m.output_shape() == Shape{2});
  CHECK(m.layer(1).output_shape() == Shape{4, 4, 4});
  std::ostringstream os;
  m.summary(os);
  const std::string s = os.str();
  CHECK_THAT(s, Contains("conv2d_1 (Conv2D)") && Contains("(None, 4, 8, 8)") &&
                    Contains("filters=4, kernel=3x3, strides=1x1, padding=same, activation=relu") &&
                    Contains("max_pooling2d_1 (MaxPool2D)") && Contains("(None, 4, 4, 4)") &&
                    Contains("global_average_pooling2d_1 (GlobalAveragePooling2D)") &&
                    Contains("Trainable params: 362") && Contains("Non-trainable params: 8"));
}

TEST_CASE("cnn: training is bitwise reproducible with 1 and 2 threads", "[train][conv][threads]") {
  const auto train = bars(256, 5);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Sequential<float> m(Input{Shape{64}}, Reshape{{1, 8, 8}}, Conv2D{.filters = 16, .kernel_size = 3},
                        BatchNormalization{}, ReLU{}, MaxPool2D{}, Conv2D{.filters = 16, .kernel_size = 3},
                        Flatten{}, Dropout{0.25}, Dense{2});
    m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .seed = 11});
    Tensor<float, cpu> flat = train.features().clone();
    flat.reshape(Shape{256, 64});
    m.fit(data::Dataset<float>(std::move(flat), train.targets().clone()), {.epochs = 2, .batch_size = 64, .verbose = 0});
    std::vector<float> all = m.parameters().to_vector(), st = m.state().to_vector();
    all.insert(all.end(), st.begin(), st.end());
    return all;
  };
  const int before = num_threads();
  const auto one = run(1), two = run(2);
  set_num_threads(before);
  CHECK(one == two);
}

TEST_CASE("cnn: inputs of the wrong shape raise errors naming the layer", "[train][conv][errors]") {
  Sequential<float> m = small_cnn();
  m.compile({.loss = CategoricalCrossEntropy{.from_logits = true}});
  Tensor<float, cpu> x3(Shape{4, 3, 8, 8}, 0.5f), y(Shape{4, 1}, 0.0f);
  CHECK_THROWS_WITH(m.fit(x3, y, {.verbose = 0}),
                    Contains("(4, 3, 8, 8)") && Contains("'conv2d_1' (Conv2D)") && Contains("(1, 8, 8)"));
  CHECK_THROWS_WITH(m.predict(Tensor<float, cpu>(Shape{2, 64}, 0.0f)), Contains("(64,)") && Contains("conv2d_1"));
  // A convolution after a dense layer, a kernel larger than the image, a zero stride: at construction
  CHECK_THROWS_WITH((Sequential<float>(Input{Shape{1, 8, 8}}, Flatten{}, Dense{10}, Conv2D{.filters = 2})),
                    Contains("Conv2D 'conv2d_1'") && Contains("(10,)"));
  CHECK_THROWS_WITH((Sequential<float>(Input{Shape{1, 8, 8}}, MaxPool2D{.pool_size = 4}, Conv2D{.filters = 2, .kernel_size = 3})),
                    Contains("Conv2D 'conv2d_1'") && Contains("(1, 2, 2)") && Contains("smaller than the kernel 3x3"));
  CHECK_THROWS_WITH((Sequential<float>(Input{Shape{1, 8, 8}}, Conv2D{.filters = 2, .strides = 0})),
                    Contains("Conv2D 'conv2d_1'") && Contains("strides must be positive, got 0x0") &&
                        Contains("(1, 8, 8)"));
}
