/// @file tests/cuda/test_cuda_layers.cpp
/// @brief Every layer on both devices: backward (input and parameter gradients) against central
/// finite differences of the same device's forward pass, in double precision. The CPU half runs
/// everywhere (it also proves the harness), the GPU half where there is a GPU.
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "cuda/cuda_support.hpp"
#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/batchnorm.hpp"
#include "hepnn/layers/conv2d.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/dropout.hpp"
#include "hepnn/layers/flatten.hpp"
#include "hepnn/layers/padding.hpp"
#include "hepnn/layers/permute.hpp"
#include "hepnn/layers/pooling.hpp"
#include "hepnn/layers/reshape.hpp"

using namespace hepnn;
using hepnn::test::check_gradient;
using hepnn::test::on_device;
using hepnn::test::random_vector;

namespace {

/// Checks one layer built from `spec` on Device: f(x, p) = sum(r * forward(x; p)), its gradients
/// from backward(dy = r) against finite differences of f.
template <class Device, class Spec>
void check_layer(const Spec& spec, const Shape& in, std::int64_t B, bool training, const std::string& what) {
  INFO(what << " on " << Device::name);
  using T = double;
  std::mt19937 rng(42);
  auto layer = spec.template build<T, Device>(in, "layer_under_test");
  const Shape out = layer->output_shape();
  const std::int64_t nx = B * in.size(), ny = B * out.size(), np = layer->num_params(), ns = layer->num_state();
  std::vector<T> p0 = random_vector<T>(rng, static_cast<std::size_t>(np), -0.8, 0.8);
  Tensor<T, Device> P = on_device<T, Device>(p0.empty() ? std::vector<T>{0} : p0);
  Tensor<T, Device> G = on_device<T, Device>(std::vector<T>(static_cast<std::size_t>(std::max<std::int64_t>(np, 1)), T(0)));
  std::vector<T> s0(static_cast<std::size_t>(std::max<std::int64_t>(ns, 1)), T(0));
  layer->initialize_state(s0.data());
  Tensor<T, Device> S = on_device<T, Device>(s0);
  layer->bind(P.data(), G.data());
  layer->bind_state(S.data());
  Tensor<T, Device> X(Shape{std::max<std::int64_t>(nx, 1)}), Y(Shape{std::max<std::int64_t>(ny, 1)});
  Tensor<T, Device> DY(Shape{std::max<std::int64_t>(ny, 1)}), DX(Shape{std::max<std::int64_t>(nx, 1)});
  Tensor<T, Device> WS(Shape{std::max<std::int64_t>(1, B * layer->workspace_per_sample())});
  const Pass pass{training, 7, 3, 2};
  const std::vector<T> x0 = random_vector<T>(rng, static_cast<std::size_t>(nx), -2, 2), r = random_vector<T>(rng, static_cast<std::size_t>(ny));
  auto put = [](Tensor<T, Device>& t, const std::vector<T>& v) {
    hepnn::detail::copy_bytes<Device, cpu>(t.data(), v.data(), sizeof(T) * v.size());
  };
  auto f = [&](const std::vector<T>& x, const std::vector<T>& p) {
    put(X, x);
    if (np) put(P, p);
    layer->forward(B, X.data(), Y.data(), WS.data(), pass);
    const std::vector<T> y = Y.to_vector();
    double s = 0;
    for (std::int64_t i = 0; i < ny; ++i) s += r[static_cast<std::size_t>(i)] * y[static_cast<std::size_t>(i)];
    return s;
  };
  f(x0, p0);
  put(DY, r);
  layer->backward(B, X.data(), Y.data(), DY.data(), DX.data(), WS.data(), pass);
  std::vector<T> dx = DX.to_vector(), dp = G.to_vector();
  dx.resize(static_cast<std::size_t>(nx));
  dp.resize(static_cast<std::size_t>(np));
  const test::GradTolerance tol{1e-5, 1e-7, 1e-6};
  check_gradient([&](const std::vector<double>& x) { return f(x, p0); }, x0, dx, what + " d/dx", tol);
  if (np) check_gradient([&](const std::vector<double>& p) { return f(x0, p); }, p0, dp, what + " d/dparams", tol);
}

}  // namespace

TEMPLATE_TEST_CASE("cuda layers: dense and activation layers, gradients against finite differences", "[cuda][layers]",
                   cpu, cuda) {
  HEPNN_REQUIRE_DEVICE(TestType);
  using D = TestType;
  for (Activation a : {Activation::linear, Activation::relu, Activation::tanh, Activation::gelu, Activation::elu})
    check_layer<D>(Dense{5, a}, Shape{7}, 4, true, "Dense " + to_string(a));
  Dense nobias{3, Activation::sigmoid};
  nobias.use_bias = false;
  check_layer<D>(nobias, Shape{6}, 3, true, "Dense without bias");
  check_layer<D>(ReLU{}, Shape{9}, 3, true, "ReLU");
  check_layer<D>(SELU{}, Shape{9}, 3, true, "SELU");
  check_layer<D>(Softplus{}, Shape{9}, 3, true, "Softplus");
  check_layer<D>(LeakyReLU{}, Shape{9}, 3, true, "LeakyReLU");
  check_layer<D>(Softmax{}, Shape{6}, 4, true, "Softmax");
  check_layer<D>(LogSoftmax{}, Shape{6}, 4, true, "LogSoftmax");
  check_layer<D>(Dropout{0.4}, Shape{50}, 3, true, "Dropout (training)");
  check_layer<D>(Dropout{0.4}, Shape{10}, 3, false, "Dropout (inference)");
  check_layer<D>(Flatten{}, Shape{2, 3, 2}, 2, true, "Flatten");
  check_layer<D>(Reshape{{3, 4}}, Shape{12}, 2, true, "Reshape");
  check_layer<D>(Permute{{2, 0, 1}}, Shape{3, 4, 2}, 3, true, "Permute channels-last to first");
  check_layer<D>(Permute{{3, 1, 0, 2}}, Shape{2, 3, 2, 4}, 2, true, "Permute rank 4");
}

TEMPLATE_TEST_CASE("cuda layers: convolution, pooling and batch normalisation, gradients against finite differences",
                   "[cuda][layers][conv]", cpu, cuda) {
  HEPNN_REQUIRE_DEVICE(TestType);
  using D = TestType;
  check_layer<D>(Conv2D{.filters = 3, .kernel_size = 3, .padding = Padding::same, .activation = Activation::tanh},
                 Shape{2, 5, 5}, 2, true, "Conv2D same tanh");
  check_layer<D>(Conv2D{.filters = 2, .kernel_size = {2, 3}, .strides = {2, 1}, .dilation = {1, 2}}, Shape{2, 6, 7}, 3,
                 true, "Conv2D strided dilated");
  check_layer<D>(MaxPool2D{}, Shape{2, 6, 6}, 2, true, "MaxPool2D");
  check_layer<D>(MaxPool2D{.pool_size = 3, .strides = Size2{2, 2}, .padding = Padding::same}, Shape{1, 7, 7}, 2, true,
                 "MaxPool2D overlapping same");
  check_layer<D>(AvgPool2D{.pool_size = 3, .strides = Size2{2, 2}, .padding = Padding::same}, Shape{2, 5, 6}, 2, true,
                 "AvgPool2D same");
  check_layer<D>(GlobalAveragePooling2D{}, Shape{3, 4, 4}, 2, true, "GlobalAveragePooling2D");
  check_layer<D>(BatchNormalization{}, Shape{3, 4, 4}, 4, true, "BatchNormalization (training, images)");
  check_layer<D>(BatchNormalization{}, Shape{5}, 6, true, "BatchNormalization (training, features)");
  check_layer<D>(BatchNormalization{}, Shape{5}, 6, false, "BatchNormalization (inference)");
}
