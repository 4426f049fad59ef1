/// @file layers/input.hpp
/// @brief Input: the per-sample input shape of a model; the first entry of a Sequential, and a
/// named symbolic tensor of the functional API (graph/model.hpp).
#pragma once
#include "hepnn/core/config.hpp"
#include <initializer_list>
#include <memory>
#include <string>

#include "hepnn/core/shape.hpp"
#include "hepnn/graph/symbolic.hpp"

namespace hepnn::inline HEPNN_ABI {

/// Spec: the per-sample input shape of a model; the first entry of a Sequential. In the
/// functional API an Input is a symbolic tensor: `auto jet = Input{"jet", {12}};`, then
/// `Dense{64}(jet)`. Copies of an Input are the same input.
struct Input {
  /// The shape of one sample, without the batch axis: {5} for five features, {1, 28, 28} for a
  /// one-channel 28x28 image (samples are (C, H, W)).
  Shape shape;
  /// The input's name: the key of its data (and HDF5 data set) in a multi-input model. Empty:
  /// "input_1", "input_2", ... in the order of the model's inputs.
  std::string name;
  /// `Input{5}`, `Input{1, 28, 28}`: the extents of one sample.
  Input(std::initializer_list<index_t> dims) : shape(dims), m_node(graph::make_input("", shape)) {}
  /// The per-sample shape as a Shape.
  explicit Input(const Shape& s) : shape(s), m_node(graph::make_input("", shape)) {}
  /// A named input: `Input{"jet", {12}}`, `Input{"tracks", {15, 6}}`.
  Input(std::string input_name, std::initializer_list<index_t> dims)
      : shape(dims), name(std::move(input_name)), m_node(graph::make_input(name, shape)) {}
  Input(std::string input_name, const Shape& s)
      : shape(s), name(std::move(input_name)), m_node(graph::make_input(name, shape)) {}
  /// The input as a symbolic tensor of the functional API.
  operator SymbolicTensor() const { return SymbolicTensor(m_node); }  // NOLINT: implicit on purpose

 private:
  std::shared_ptr<const graph::Node> m_node;
};

}  // namespace hepnn
