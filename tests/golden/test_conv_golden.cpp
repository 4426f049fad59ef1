/// @file tests/golden/test_conv_golden.cpp
/// @brief Conv2D, pooling, BatchNormalization and a tiny CNN against PyTorch: outputs and all
/// gradients read from the reference files that tests/golden/make_conv_refs.py writes (float64).
/// Doubles must agree to 1e-10, floats to 1e-5 (relative to max(1, |reference|)).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "support/golden.hpp"
#include "hepnn/layers/batchnorm.hpp"
#include "hepnn/layers/conv2d.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/flatten.hpp"
#include "hepnn/layers/pooling.hpp"
#include "hepnn/train/sequential.hpp"

#ifndef HEPNN_GOLDEN_DIR
#error "HEPNN_GOLDEN_DIR must name tests/golden/data"
#endif

using hepnn::cpu;
using hepnn::Padding;
using hepnn::Pass;
using hepnn::Shape;

namespace {

std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

using Array = hepnn::test::GoldenArray;

std::map<std::string, Array> read_golden(const std::string& file) {
  return hepnn::test::read_golden(file, "tests/golden/make_conv_refs.py");
}

template <class T>
std::vector<T> as(const Array& a) {
  return std::vector<T>(a.values.begin(), a.values.end());
}

template <class T>
double tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-10;
}

/// Largest |got - want| / max(1, |want|) over the elements.
template <class T>
double worst_error(const T* got, const std::vector<double>& want) {
  double w = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    w = std::max(w, std::abs(double(got[i]) - want[i]) / std::max(1.0, std::abs(want[i])));
  return w;
}

#define CHECK_CLOSE(got, ref) \
  do {                                                       \
    INFO("comparing " #got " with the reference " #ref);      \
    CHECK(worst_error(got, ref) <= tolerance<T>());           \
  } while (0)

}  // namespace

TEMPLATE_TEST_CASE("golden: Conv2D against PyTorch", "[golden][conv]", float, double) {
  using T = TestType;
  const std::pair<const char*, hepnn::Activation> cases[] = {{"conv_explicit", hepnn::Activation::linear},
                                                              {"conv_asymmetric_pads", hepnn::Activation::relu},
                                                              {"conv_same_stride2", hepnn::Activation::tanh}};
  for (const auto& [file, act] : cases) {
    INFO(file);
    auto ref = read_golden(file);
    const std::vector<double>& c = ref["config"].values;
    auto i = [&](int k) { return std::int64_t(c[at(k)]); };
    const std::int64_t B = i(0);
    const bool same = std::string(file).find("same") != std::string::npos;
    hepnn::Conv2D spec{.filters = i(4), .kernel_size = {i(5), i(6)}, .strides = {i(7), i(8)},
                       .padding = same ? Padding::same : Padding::pads(i(11), i(12), i(13), i(14)),
                       .dilation = {i(9), i(10)}, .activation = act};
    auto layer = spec.build<T, cpu>(Shape{i(1), i(2), i(3)}, "conv2d_1");
    const auto& g = dynamic_cast<const hepnn::Conv2DLayer<T, cpu>&>(*layer).geometry();
    CHECK(g.PT == i(11));  // hepnn's "same" split is the one the script computed
    CHECK(g.PB == i(12));
    CHECK(g.PL == i(13));
    CHECK(g.PR == i(14));
    std::vector<T> params = as<T>(ref["kernel"]), grads(at(layer->num_params()));
    const auto bias = as<T>(ref["bias"]);
    params.insert(params.end(), bias.begin(), bias.end());
    REQUIRE(params.size() == grads.size());
    layer->bind(params.data(), grads.data());
    const auto x = as<T>(ref["x"]), r = as<T>(ref["r"]);
    REQUIRE(std::int64_t(ref["y"].values.size()) == B * layer->output_shape().size());
    std::vector<T> y(r.size()), dx(x.size()), ws(at(B * layer->workspace_per_sample()));
    Pass train;
    train.training = true;
    layer->forward(B, x.data(), y.data(), ws.data(), train);
    layer->backward(B, x.data(), y.data(), r.data(), dx.data(), ws.data(), train);
    CHECK_CLOSE(y.data(), ref["y"].values);
    CHECK_CLOSE(dx.data(), ref["dx"].values);
    CHECK_CLOSE(grads.data(), ref["dkernel"].values);
    CHECK_CLOSE(grads.data() + ref["dkernel"].values.size(), ref["dbias"].values);
  }
}

TEMPLATE_TEST_CASE("golden: MaxPool2D and AvgPool2D against PyTorch", "[golden][pool]", float, double) {
  using T = TestType;
  for (const char* file : {"maxpool_valid", "maxpool_same", "avgpool_same", "avgpool_valid"}) {
    INFO(file);
    auto ref = read_golden(file);
    const std::vector<double>& c = ref["config"].values;
    auto i = [&](int k) { return std::int64_t(c[at(k)]); };
    const std::int64_t B = i(0);
    const std::string name = file;
    const Padding pad = name.find("same") != std::string::npos ? Padding::same : Padding::valid;
    const hepnn::Size2 k{i(4), i(5)}, s{i(6), i(7)};
    const Shape in{i(1), i(2), i(3)};
    std::unique_ptr<hepnn::Layer<T, cpu>> layer;
    if (name.rfind("max", 0) == 0)
      layer = hepnn::MaxPool2D{.pool_size = k, .strides = s, .padding = pad}.build<T, cpu>(in, "p");
    else
      layer = hepnn::AvgPool2D{.pool_size = k, .strides = s, .padding = pad}.build<T, cpu>(in, "p");
    const auto& g = dynamic_cast<const hepnn::Pool2DLayer<T, cpu>&>(*layer).geometry();
    CHECK((g.PT == i(8) && g.PB == i(9) && g.PL == i(10) && g.PR == i(11)));
    const auto x = as<T>(ref["x"]), r = as<T>(ref["r"]);
    REQUIRE(std::int64_t(r.size()) == B * layer->output_shape().size());
    std::vector<T> y(r.size()), dx(x.size()), ws(at(B * layer->workspace_per_sample()));
    layer->forward(B, x.data(), y.data(), ws.data(), Pass{});
    layer->backward(B, x.data(), y.data(), r.data(), dx.data(), ws.data(), Pass{});
    CHECK_CLOSE(y.data(), ref["y"].values);
    CHECK_CLOSE(dx.data(), ref["dx"].values);
  }
}

TEMPLATE_TEST_CASE("golden: BatchNormalization against PyTorch, training and inference", "[golden][batchnorm]", float,
                   double) {
  using T = TestType;
  for (const char* file : {"batchnorm_conv", "batchnorm_dense"}) {
    INFO(file);
    auto ref = read_golden(file);
    const auto& xs = ref["x"].shape;
    const std::int64_t B = xs[0];
    Shape in;
    for (std::size_t d = 1; d < xs.size(); ++d) in.push_back(xs[d]);
    const std::int64_t C = in[0], n = B * in.size();
    const double eps = ref["config"].values[0], momentum = ref["config"].values[1];
    auto layer = hepnn::BatchNormalization{.momentum = momentum, .epsilon = eps}.build<T, cpu>(in, "bn");
    std::vector<T> params = as<T>(ref["gamma"]), grads(at(2 * C));
    const auto beta = as<T>(ref["beta"]);
    params.insert(params.end(), beta.begin(), beta.end());
    std::vector<T> state = as<T>(ref["moving_mean_before"]);
    const auto mv = as<T>(ref["moving_var_before"]);
    state.insert(state.end(), mv.begin(), mv.end());
    layer->bind(params.data(), grads.data());
    layer->bind_state(state.data());
    const auto x = as<T>(ref["x"]), r = as<T>(ref["r"]);
    std::vector<T> y(at(n)), dx(at(n)), ws(at(B * layer->workspace_per_sample()));
    Pass pass;
    pass.training = true;
    layer->forward(B, x.data(), y.data(), ws.data(), pass);
    layer->backward(B, x.data(), y.data(), r.data(), dx.data(), ws.data(), pass);
    CHECK_CLOSE(y.data(), ref["y_train"].values);
    CHECK_CLOSE(dx.data(), ref["dx_train"].values);
    CHECK_CLOSE(grads.data(), ref["dgamma_train"].values);
    CHECK_CLOSE(grads.data() + C, ref["dbeta_train"].values);
    // Inference, with the moving statistics from before the update
    pass.training = false;
    layer->forward(B, x.data(), y.data(), ws.data(), pass);
    layer->backward(B, x.data(), y.data(), r.data(), dx.data(), ws.data(), pass);
    CHECK_CLOSE(y.data(), ref["y_eval"].values);
    CHECK_CLOSE(dx.data(), ref["dx_eval"].values);
    CHECK_CLOSE(grads.data(), ref["dgamma_eval"].values);
    CHECK_CLOSE(grads.data() + C, ref["dbeta_eval"].values);
    // The Keras update after the training pass (forward again to refill the batch statistics)
    pass.training = true;
    layer->forward(B, x.data(), y.data(), ws.data(), pass);
    layer->update_state(B, x.data(), ws.data(), pass);
    CHECK_CLOSE(state.data(), ref["moving_mean_after"].values);
    CHECK_CLOSE(state.data() + C, ref["moving_var_after"].values);
  }
}

TEMPLATE_TEST_CASE("golden: a tiny CNN's loss and every gradient against PyTorch", "[golden][conv][train]", float,
                   double) {
  using T = TestType;
  auto ref = read_golden("tiny_cnn");
  using hepnn::Activation;
  hepnn::Sequential<T> m(hepnn::Input{Shape{1, 8, 8}},
                         hepnn::Conv2D{.filters = 4, .kernel_size = 3, .padding = Padding::same,
                                       .activation = Activation::relu},
                         hepnn::MaxPool2D{},
                         hepnn::Conv2D{.filters = 6, .kernel_size = 3, .activation = Activation::tanh},
                         hepnn::BatchNormalization{}, hepnn::Flatten{}, hepnn::Dense{3});
  m.compile({.loss = hepnn::CategoricalCrossEntropy{.from_logits = true}});
  const char* names[][2] = {{"conv1_kernel", "conv1_bias"}, {nullptr, nullptr}, {"conv2_kernel", "conv2_bias"},
                            {"bn_gamma", "bn_beta"},         {nullptr, nullptr}, {"dense_kernel", "dense_bias"}};
  REQUIRE(m.num_layers() == 6);
  for (std::size_t l = 0; l < 6; ++l) {
    if (!names[l][0]) continue;
    T* p = m.parameters().data() + m.parameter_offset(l);
    for (const char* key : names[l]) {
      const auto v = as<T>(ref[key]);
      p = std::copy(v.begin(), v.end(), p);
    }
  }
  const auto& xr = ref["x"];
  hepnn::Tensor<T, cpu> x(Shape{xr.shape[0], 1, 8, 8}, as<T>(xr));
  hepnn::Tensor<T, cpu> y(Shape{xr.shape[0], 1}, as<T>(ref["labels"]));
  const double loss = m.loss_and_gradients(x, y, nullptr, /*training=*/true);
  CHECK(std::abs(loss - ref["loss"].values[0]) <= tolerance<T>());
  for (std::size_t l = 0; l < 6; ++l) {
    if (!names[l][0]) continue;
    const T* g = m.gradients().data() + m.parameter_offset(l);
    for (const char* key : names[l]) {
      INFO("gradient of " << key);
      const auto& want = ref[std::string("d_") + key].values;
      CHECK(worst_error(g, want) <= tolerance<T>());
      g += want.size();
    }
  }
}
