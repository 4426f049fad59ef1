/// @file data/input_transform.hpp
/// @brief InputTransform<T>: a per-element affine map x' = (x - shift) * scale that a model
/// applies to its inputs at the start of predict, evaluate and fit (standardisation, min-max).
///
/// It is fitted on the training part only (data/preprocessing.hpp) and stored inside the model
/// (and its file), so predictions on raw inputs use the same scaling as training did.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <string>
#include <vector>

#include "hepnn/core/error.hpp"

namespace hepnn::inline HEPNN_ABI::data {

template <class T>
struct InputTransform {
  std::string kind;        // "standardize", "minmax", or a user's word; empty: no transform
  std::vector<T> shift;    // one per element of a sample, or one for all
  std::vector<T> scale;

  bool empty() const { return shift.empty(); }
  /// requires: shift and scale have the same size, 1 or `row` (the per-sample element count).
  void check(std::int64_t row) const {
    if (empty()) return;
    HEPNN_CHECK(shift.size() == scale.size() && (std::int64_t(shift.size()) == row || shift.size() == 1),
                "InputTransform '", kind, "': ", shift.size(), " shifts and ", scale.size(),
                " scales for samples of ", row, " elements; expected ", row, " (or 1) of each");
  }
  /// Transforms `rows` samples of `row` elements in place.
  void apply(T* x, std::int64_t rows, std::int64_t row) const {
    if (empty()) return;
    const bool one = shift.size() == 1;
    for (std::int64_t i = 0; i < rows; ++i) {
      T* r = x + i * row;
      for (std::int64_t j = 0; j < row; ++j) {
        const std::size_t k = one ? 0 : std::size_t(j);
        r[j] = (r[j] - shift[k]) * scale[k];
      }
    }
  }
};

}  // namespace hepnn::data
