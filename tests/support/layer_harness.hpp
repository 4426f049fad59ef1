/// @file tests/support/layer_harness.hpp
/// @brief BoundLayer: a double CPU layer over sequences with its own parameter and gradient
/// vectors, run on raw buffers (inputs: the sequences, then optionally their mask), for the
/// golden and finite-difference tests of the sequence layers.
#pragma once
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "hepnn/layers/layer.hpp"

namespace hepnn::test {

struct BoundLayer {
  std::unique_ptr<Layer<double, cpu>> layer;
  std::vector<double> p, g;
  explicit BoundLayer(std::unique_ptr<Layer<double, cpu>> l) : layer(std::move(l)) {
    p.assign(std::size_t(layer->num_params()), 0.0);
    g.assign(p.size(), 0.0);
    layer->bind(p.data(), g.data());
  }
  /// Replaces the parameters (same count) and binds the layer to them.
  void set_params(std::vector<double> values) {
    REQUIRE(values.size() == p.size());
    p = std::move(values);
    layer->bind(p.data(), g.data());
  }
  /// y for a batch of B (an inference pass, with the inference workspace where the layer has one
  /// of its own); mask null without one.
  std::vector<double> forward(std::int64_t B, const double* x, const double* mask) const {
    std::vector<double> y(std::size_t(B * layer->output_shape().size()));
    const std::int64_t per = layer->inference_workspace_per_sample();
    std::vector<double> ws(std::size_t(B * (per > 0 ? per : layer->workspace_per_sample())));
    const double* xs[2] = {x, mask};
    layer->forward_many(B, xs, y.data(), ws.data(), Pass{});
    return y;
  }
  /// dx for the scalar sum(c * y), with the parameter gradients left in g; checks that the mask
  /// gets exactly zero gradient.
  std::vector<double> backward(std::int64_t B, const double* x, const double* mask, const std::vector<double>& c) {
    std::vector<double> y(std::size_t(B * layer->output_shape().size()));
    std::vector<double> ws(std::size_t(B * layer->workspace_per_sample()));
    std::vector<double> dx(std::size_t(B * layer->input_shape().size()), -9.0);
    std::vector<double> dmask(std::size_t(B * layer->input_shape()[0]), -9.0);
    const double* xs[2] = {x, mask};
    double* dxs[2] = {dx.data(), dmask.data()};
    layer->forward_many(B, xs, y.data(), ws.data(), Pass{.backward = true});
    layer->backward_many(B, xs, y.data(), c.data(), dxs, ws.data(), Pass{.backward = true});
    if (mask)
      for (double v : dmask) CHECK(v == 0.0);
    return dx;
  }
};

}  // namespace hepnn::test
