/// @file tests/io/onnx_test_models.hpp
/// Models with every layer ONNX export writes, random weights and state, and helpers to run
/// them; shared by the export tests without protobuf (tests/io) and with files (tests/onnx).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "hepnn/hepnn.hpp"

namespace onnx_test {

using namespace hepnn;

/// A value in [lo, hi) on a grid of 1e-6, made by one division of integers: the same bits with
/// any compiler flags (std::uniform_real_distribution's a + u (b - a) may be contracted into an
/// FMA at -march=native, and the committed files of tests/onnx must match byte for byte).
inline double grid_value(std::mt19937& rng, std::int64_t lo_micro, std::int64_t hi_micro) {
  return double(lo_micro + std::int64_t(rng() % std::uint32_t(hi_micro - lo_micro))) / 1e6;
}

/// Values in [-0.8, 0.8) for every parameter, and in [0.5, 1.5) for every state value
/// (BatchNormalization's moving variance must be positive).
template <class T>
void randomize(Model<T, cpu>& m, std::uint32_t seed) {
  std::mt19937 rng(seed);
  for (std::int64_t k = 0; k < m.parameters().size(); ++k) m.parameters().data()[k] = T(grid_value(rng, -800000, 800000));
  for (std::int64_t k = 0; k < m.state().size(); ++k) m.state().data()[k] = T(grid_value(rng, 500000, 1500000));
}

/// Two inputs (jet features standardised, a track sequence), Dense on the last axis, a shared
/// Dense, a model used as a layer, BatchNormalization, every merge layer, Dropout, activations as
/// layers and inside Dense, and two outputs (a sigmoid score and softmax probabilities).
template <class T>
Model<T, cpu> tagger(bool gelu = false) {
  auto e = Input{"e", {6}};
  Model<T, cpu> encoder{{e}, {Dense{4, Activation::tanh}(Dense{6, Activation::selu}(e))}, "encoder"};
  randomize(encoder, 7);
  auto jet = Input{"jet", {6}};
  auto trk = Input{"tracks", {5, 3}};
  Dense shared{6, Activation::leaky_relu, 0.2};
  auto j = shared(jet);
  auto j2 = shared(ELU{0.7}(Dense{6}(jet)));
  auto merged = Average{}({Add{}({j, j2, Multiply{}({j, j2})}), Subtract{}({j, j2})});
  auto t = Flatten{}(Dense{4, Activation::relu}(trk));  // Dense per track
  auto h = Concatenate{}({encoder(merged), BatchNormalization{}(t), Sigmoid{}(merged)});
  h = Dropout{0.25}(Dense{12, gelu ? Activation::gelu : Activation::softplus}(h));
  h = Tanh{}(LeakyReLU{0.1}(ReLU{}(SELU{}(h))));
  Model<T, cpu> m{{jet, trk}, {Dense{.units = 1, .activation = Activation::sigmoid, .name = "score"}(h),
                               Softmax{"probs"}(Dense{3}(h))}, "tagger"};
  randomize(m, 11);
  data::InputTransform<T> tr;
  tr.kind = "standardize";
  for (int k = 0; k < 6; ++k) tr.shift.push_back(T(double(3 * k - 10) / 10)), tr.scale.push_back(T(2.0 / (2 + k)));
  m.set_input_transform("jet", tr);
  return m;
}

/// Images (C, H, W): Conv2D with same, explicit and valid padding, strides and dilation, both
/// poolings, BatchNormalization, Permute, Reshape, GlobalAveragePooling2D, LogSoftmax.
template <class T>
Model<T, cpu> convnet() {
  auto img = Input{"image", {2, 9, 8}};
  auto x = Conv2D{.filters = 4, .kernel_size = {3, 3}, .strides = {2, 1}, .padding = Padding::same,
                  .activation = Activation::relu}(img);
  x = MaxPool2D{.pool_size = {2, 2}, .strides = Size2{1, 2}, .padding = Padding::same}(x);
  x = Conv2D{.filters = 3, .kernel_size = {2, 3}, .padding = Padding::pads(1, 0, 2, 1), .dilation = {1, 2}}(x);
  x = BatchNormalization{}(AvgPool2D{.pool_size = {2, 2}, .strides = Size2{1, 1}, .padding = Padding::same}(x));
  auto g = GlobalAveragePooling2D{}(x);
  auto p = Flatten{}(Permute{{1, 2, 0}}(Reshape{{3, 5, -1}}(x)));
  auto y = LogSoftmax{"logp"}(Dense{5}(Concatenate{}({g, Dense{4, Activation::elu}(p)})));
  Model<T, cpu> m{{img}, {y}, "convnet"};
  randomize(m, 13);
  return m;
}

/// Inputs for model m: uniform values in [-2, 2), batch rows per input.
template <class T>
std::vector<std::vector<T>> inputs(const Model<T, cpu>& m, std::int64_t batch, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<T>> xs;
  for (std::size_t k = 0; k < m.input_names().size(); ++k) {
    xs.emplace_back(std::size_t(batch * m.input_shape(k).size()));
    for (T& v : xs.back()) v = T(grid_value(rng, -2000000, 2000000));
  }
  return xs;
}

/// Every output of m for the inputs xs (matched by position).
template <class T>
std::vector<std::vector<T>> outputs(const Model<T, cpu>& m, const std::vector<std::vector<T>>& xs, std::int64_t batch) {
  std::vector<std::vector<T>> ys;
  std::vector<std::span<const T>> in;
  std::vector<std::span<T>> out;
  for (const auto& x : xs) in.emplace_back(x);
  for (std::size_t k = 0; k < m.output_names().size(); ++k) ys.emplace_back(std::size_t(batch * m.output_shape(k).size()));
  for (auto& y : ys) out.emplace_back(y);
  typename Model<T, cpu>::Workspace ws;
  m.predict(std::span<const std::span<const T>>(in), std::span<const std::span<T>>(out), ws);
  return ys;
}

/// The distinct parameter and state values, sorted: two models hold the same weights, possibly in
/// another layer order, when these are equal (a shared layer's weights are in an ONNX file once and
/// in the imported model once per node, hence distinct values).
template <class T>
void collect_weights(const graph::GraphCore<T, cpu>& c, std::vector<T>& v) {
  const std::vector<T> p = c.params.to_vector(), s = c.state.to_vector();  // slices 64-byte aligned: gaps between
  for (std::size_t i = 0; i < c.layers.size(); ++i) {
    if (!c.owned[i]) {
      collect_weights(static_cast<const graph::SubmodelLayer<T, cpu>&>(*c.layers[i]).core(), v);
      continue;
    }
    v.insert(v.end(), p.begin() + c.param_offset[i], p.begin() + c.param_offset[i] + c.layers[i]->num_params());
    if (c.layers[i]->num_state() > 0)
      v.insert(v.end(), s.begin() + c.state_offset[i], s.begin() + c.state_offset[i] + c.layers[i]->num_state());
  }
}

template <class T>
std::vector<T> sorted_weights(const Model<T, cpu>& m) {
  std::vector<T> v;
  collect_weights(m.core(), v);
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

/// max |a - b| / max(1, |b|) over all outputs.
template <class T>
double max_relative(const std::vector<std::vector<T>>& a, const std::vector<std::vector<T>>& b) {
  double worst = 0;
  for (std::size_t k = 0; k < a.size(); ++k)
    for (std::size_t i = 0; i < a[k].size(); ++i)
      worst = std::max(worst, std::abs(double(a[k][i]) - double(b[k][i])) / std::max(1.0, std::abs(double(b[k][i]))));
  return worst;
}

}  // namespace onnx_test
