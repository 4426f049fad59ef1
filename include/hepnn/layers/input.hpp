/// @file layers/input.hpp
/// @brief Input: the per-sample input shape of a model; always the first entry of a Sequential.
#pragma once
#include "hepnn/core/config.hpp"
#include <initializer_list>

#include "hepnn/core/shape.hpp"

namespace hepnn::inline HEPNN_ABI {

/// Spec: the per-sample input shape of a model; always the first entry of a Sequential.
struct Input {
  Shape shape;
  Input(std::initializer_list<index_t> dims) : shape(dims) {}
  explicit Input(const Shape& s) : shape(s) {}
};

}  // namespace hepnn
