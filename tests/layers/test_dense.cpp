/// @file tests/layers/test_dense.cpp
/// @brief Dense: forward against a hand-written loop, backward (dx, kernel and bias gradients)
/// against finite differences of that loop, for every fused activation, with and without bias.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "hepnn/layers/dense.hpp"
#include "support/gradcheck.hpp"
#include "support/reference.hpp"

using hepnn::Activation;
using hepnn::cpu;
using hepnn::Dense;
using hepnn::Pass;
using hepnn::Shape;
using hepnn::test::random_vector;
using Catch::Contains;

namespace {

struct DenseCase {
  std::int64_t batch, in, out;
};

/// y = act(x W + b) by loops, W (in, out) row-major followed by b (out) in `p`.
std::vector<double> dense_reference(const std::vector<double>& x, const std::vector<double>& p, const DenseCase& d,
                                    bool bias, Activation a, double alpha) {
  std::vector<double> y(static_cast<std::size_t>(d.batch * d.out));
  for (std::int64_t b = 0; b < d.batch; ++b)
    for (std::int64_t j = 0; j < d.out; ++j) {
      double z = bias ? p[static_cast<std::size_t>(d.in * d.out + j)] : 0.0;
      for (std::int64_t i = 0; i < d.in; ++i)
        z += x[static_cast<std::size_t>(b * d.in + i)] * p[static_cast<std::size_t>(i * d.out + j)];
      y[static_cast<std::size_t>(b * d.out + j)] = hepnn::test::ref_forward(a, alpha, z);
    }
  return y;
}

double alpha_for(Activation a) { return a == Activation::leaky_relu ? 0.2 : a == Activation::elu ? 0.7 : 0.0; }

}  // namespace

TEST_CASE("dense: forward against a loop and backward against finite differences", "[layers]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::mt19937 rng(2024);
  const DenseCase cases[] = {{1, 1, 1}, {4, 3, 5}, {7, 6, 2}, {3, 40, 33}};
  for (Activation a : hepnn::test::all_activations)
    for (bool use_bias : {true, false})
      for (const DenseCase& d : cases) {
        INFO("activation " << hepnn::to_string(a) << ", bias " << use_bias << ", batch " << d.batch << ", in "
                           << d.in << ", out " << d.out);
        Dense spec{d.out, a};
        spec.use_bias = use_bias;
        if (a == Activation::leaky_relu || a == Activation::elu) spec.alpha = alpha_for(a);
        const double alpha = a == Activation::leaky_relu || a == Activation::elu ? alpha_for(a) : 0.0;
        auto layer = spec.build<double, cpu>(Shape{d.in}, "dense_1");
        REQUIRE(layer->name() == "dense_1");
        REQUIRE(layer->output_shape() == Shape{d.out});
        const std::int64_t n_kernel = d.in * d.out, np = n_kernel + (use_bias ? d.out : 0);
        REQUIRE(layer->num_params() == np);

        std::vector<double> params(static_cast<std::size_t>(np)), grads(static_cast<std::size_t>(np), nan);
        layer->bind(params.data(), grads.data());
        layer->initialize(params.data(), 5, 9);
        const auto random_params = random_vector<double>(rng, params.size());  // a non-zero bias too
        std::copy(random_params.begin(), random_params.end(), params.begin());  // the layer keeps the pointer
        const auto x = random_vector<double>(rng, static_cast<std::size_t>(d.batch * d.in));
        const auto r = random_vector<double>(rng, static_cast<std::size_t>(d.batch * d.out));
        const auto y_ref = dense_reference(x, params, d, use_bias, a, alpha);

        // inference: no workspace
        std::vector<double> y(static_cast<std::size_t>(d.batch * d.out), nan);
        layer->forward(d.batch, x.data(), y.data(), nullptr, Pass{});
        bool forward_ok = true;
        for (std::size_t i = 0; i < y.size(); ++i)
          forward_ok = forward_ok && std::abs(y[i] - y_ref[i]) <= 1e-12 * (1 + std::abs(y_ref[i]));
        CHECK(forward_ok);

        // training: the workspace keeps the pre-activations; same output
        std::vector<double> ws(static_cast<std::size_t>(d.batch * layer->workspace_per_sample()), nan);
        std::vector<double> y_train(y.size(), nan);
        Pass train;
        train.training = true;
        layer->forward(d.batch, x.data(), y_train.data(), ws.data(), train);
        CHECK(y_train == y);

        // backward with dy = r: dL/dx and dL/dparams of L = sum r y; outputs are overwritten (NaN before)
        std::vector<double> dx(x.size(), nan);
        layer->backward(d.batch, x.data(), y_train.data(), r.data(), dx.data(), ws.data(), train);
        std::vector<double> analytic = dx;
        analytic.insert(analytic.end(), grads.begin(), grads.end());

        std::vector<double> v = x;
        v.insert(v.end(), params.begin(), params.end());
        auto L = [&](const std::vector<double>& w) {
          const std::vector<double> xs(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(x.size()));
          const std::vector<double> ps(w.begin() + static_cast<std::ptrdiff_t>(x.size()), w.end());
          const auto yy = dense_reference(xs, ps, d, use_bias, a, alpha);
          double s = 0;
          for (std::size_t i = 0; i < yy.size(); ++i) s += r[i] * yy[i];
          return s;
        };
        hepnn::test::check_gradient(L, v, analytic, "d(sum r y)/d(x, kernel, bias)");

        // a workspace without training (gradients at inference, e.g. for input saliency): same gradients
        std::vector<double> dx_inference(x.size(), nan), grads_training = grads;
        std::fill(grads.begin(), grads.end(), nan);
        std::fill(ws.begin(), ws.end(), nan);
        layer->forward(d.batch, x.data(), y_train.data(), ws.data(), Pass{});
        CHECK(y_train == y);
        layer->backward(d.batch, x.data(), y_train.data(), r.data(), dx_inference.data(), ws.data(), Pass{});
        CHECK(dx_inference == dx);
        CHECK(grads == grads_training);

        // without dx, the parameter gradients are the same
        std::vector<double> grads_again = grads;
        std::fill(grads.begin(), grads.end(), nan);
        std::fill(ws.begin(), ws.end(), nan);
        layer->forward(d.batch, x.data(), y_train.data(), ws.data(), train);
        layer->backward(d.batch, x.data(), y_train.data(), r.data(), nullptr, ws.data(), train);
        CHECK(grads == grads_again);
      }
}

TEST_CASE("dense: initialisation, parameters and workspace", "[layers]") {
  auto layer = Dense{4, Activation::tanh}.build<double, cpu>(Shape{6}, "dense_3");
  CHECK(layer->type() == "Dense");
  CHECK(layer->describe() == "activation=tanh");
  CHECK(layer->input_shape() == Shape{6});
  const auto info = layer->params();
  REQUIRE(info.size() == 2);
  CHECK(info[0].name == "kernel");
  CHECK(info[0].shape == Shape{6, 4});
  CHECK(info[1].name == "bias");
  CHECK(info[1].shape == Shape{4});
  CHECK(layer->num_params() == 28);
  CHECK(layer->workspace_per_sample() == 4);

  // Default initialisers: Glorot uniform kernel within sqrt(6 / (6 + 4)), zero bias.
  std::vector<double> p(28, std::numeric_limits<double>::quiet_NaN()), p2(28);
  layer->initialize(p.data(), 123, hepnn::rng_stream::init + 1);
  const double limit = std::sqrt(6.0 / 10.0);
  for (int i = 0; i < 24; ++i) {
    CHECK(std::abs(p[static_cast<std::size_t>(i)]) <= limit);
    CHECK(p[static_cast<std::size_t>(i)] != 0.0);
  }
  for (int i = 24; i < 28; ++i) CHECK(p[static_cast<std::size_t>(i)] == 0.0);
  // The kernel is the glorot_uniform draw of that stream; the same seed gives the same values.
  std::vector<double> kernel(24);
  hepnn::initialize(hepnn::Init::glorot_uniform, kernel.data(), 24, 6, 4, 123, hepnn::rng_stream::init + 1);
  CHECK(std::vector<double>(p.begin(), p.begin() + 24) == kernel);
  layer->initialize(p2.data(), 123, hepnn::rng_stream::init + 1);
  CHECK(p2 == p);
  layer->initialize(p2.data(), 124, hepnn::rng_stream::init + 1);
  CHECK(p2 != p);

  // Other initialisers and no bias.
  Dense spec{3};
  spec.use_bias = false;
  spec.kernel_initializer = hepnn::Init::ones;
  spec.name = "named";
  auto plain = spec.build<float, cpu>(Shape{2}, "dense_4");
  CHECK(plain->name() == "named");
  CHECK(plain->describe().empty());
  CHECK(plain->num_params() == 6);
  CHECK(plain->params().size() == 1);
  CHECK(plain->workspace_per_sample() == 0);  // linear: nothing to keep
  std::vector<float> q(6, 0.0f);
  plain->initialize(q.data(), 1, 2);
  CHECK(q == std::vector<float>(6, 1.0f));

  Dense with_bias_init{2};
  with_bias_init.bias_initializer = hepnn::Init::ones;
  auto b = with_bias_init.build<double, cpu>(Shape{3}, "dense_5");
  std::vector<double> pb(8);
  b->initialize(pb.data(), 1, 2);
  CHECK(pb[6] == 1.0);
  CHECK(pb[7] == 1.0);

  // PyTorch's Linear default: weights and biases from U(+-1/sqrt(fan_in)), the bias with its
  // layer's fan_in (here 400 inputs: limit 0.05), not the bias vector's length.
  Dense torch_like{.units = 300, .kernel_initializer = hepnn::Init::pytorch_uniform,
                   .bias_initializer = hepnn::Init::pytorch_uniform};
  auto t = torch_like.build<double, cpu>(Shape{400}, "dense_6");
  std::vector<double> pt(static_cast<std::size_t>(t->num_params()));
  t->initialize(pt.data(), 3, 4);
  const std::pair<std::size_t, std::size_t> parts[] = {{0, 400 * 300}, {400 * 300, pt.size()}};  // kernel, bias
  for (const auto& [first, last] : parts) {
    double max_abs = 0;
    for (std::size_t i = first; i < last; ++i) max_abs = std::max(max_abs, std::abs(pt[i]));
    CHECK(max_abs <= 0.05);
    CHECK(max_abs > 0.049);  // 300 biases: the largest is within 2% of the limit with probability 1 - 0.98^300
  }
  CHECK(hepnn::init_from_string("pytorch_uniform") == hepnn::Init::pytorch_uniform);
}

TEMPLATE_TEST_CASE("dense: float and double forward agree with the loop", "[layers]", float, double) {
  using T = TestType;
  std::mt19937 rng(8);
  const DenseCase d{70, 37, 9};  // several row chunks of the product
  for (Activation a : {Activation::linear, Activation::gelu, Activation::selu}) {
    auto layer = Dense{d.out, a}.build<T, cpu>(Shape{d.in}, "dense_1");
    std::vector<T> params = random_vector<T>(rng, static_cast<std::size_t>(layer->num_params()));
    std::vector<T> grads(params.size());
    layer->bind(params.data(), grads.data());
    const auto x = random_vector<T>(rng, static_cast<std::size_t>(d.batch * d.in));
    std::vector<T> y(static_cast<std::size_t>(d.batch * d.out));
    layer->forward(d.batch, x.data(), y.data(), nullptr, Pass{});
    const auto y_ref = dense_reference(std::vector<double>(x.begin(), x.end()),
                                       std::vector<double>(params.begin(), params.end()), d, true, a, 0.0);
    const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;
    bool ok = true;
    for (std::size_t i = 0; i < y.size(); ++i) ok = ok && std::abs(double(y[i]) - y_ref[i]) <= tol * (1 + std::abs(y_ref[i]));
    INFO(hepnn::to_string(a));
    CHECK(ok);
  }
}

TEST_CASE("dense: errors name the layer", "[layers]") {
  // samples of rank 1 (features) and 2 (a sequence of elements) are Dense's; images are not
  CHECK_THROWS_AS((Dense{5, Activation::tanh}.build<double, cpu>(Shape{2, 3, 4}, "dense_1")), hepnn::Error);
  CHECK_THROWS_WITH((Dense{5, Activation::tanh}.build<double, cpu>(Shape{2, 3, 4}, "dense_1")),
                    Contains("Dense 'dense_1'") && Contains("(2, 3, 4)") && Contains("Flatten"));
  CHECK_THROWS_WITH((Dense{5}.build<float, cpu>(Shape{}, "dense_7")), Contains("dense_7") && Contains("()"));
  CHECK_THROWS_WITH((Dense{0}.build<double, cpu>(Shape{3}, "dense_2")),
                    Contains("dense_2") && Contains("units must be positive"));
  Dense named{-1};
  named.name = "head";
  CHECK_THROWS_WITH((named.build<double, cpu>(Shape{3}, "dense_2")), Contains("'head'"));
}
