/// @file layers/input.hpp
/// @brief Input: the per-sample input shape of a model; always the first entry of a Sequential.
#pragma once
#include "hepnn/core/config.hpp"
#include <initializer_list>

#include "hepnn/core/shape.hpp"

namespace hepnn::inline HEPNN_ABI {

/// Spec: the per-sample input shape of a model; always the first entry of a Sequential.
struct Input {
  /// The shape of one sample, without the batch axis: {5} for five features, {1, 28, 28} for a
  /// one-channel 28x28 image (samples are (C, H, W)).
  Shape shape;
  /// `Input{5}`, `Input{1, 28, 28}`: the extents of one sample.
  Input(std::initializer_list<index_t> dims) : shape(dims) {}
  /// The per-sample shape as a Shape.
  explicit Input(const Shape& s) : shape(s) {}
};

}  // namespace hepnn
