/// @file ops/permute_geometry.hpp
/// @brief PermuteGeometry: how a Permute layer reorders the axes of each sample, shared by the
/// CPU and CUDA backends (plain data, passed to kernels by value).
#pragma once
#include <cstdint>

namespace hepnn {

/// Per sample, y has extents out[0..rank) and y[i_0, ..., i_{rank-1}] = x at the offset
/// sum_k i_k * stride[k]: stride[k] is the input's row-major stride of the input axis that
/// becomes output axis k. `size` is the number of values per sample (in and out).
struct PermuteGeometry {
  static constexpr int max_rank = 5;            ///< as Shape::max_rank
  int rank = 1;                                 ///< axes per sample
  std::int64_t out[max_rank] = {1, 1, 1, 1, 1};  ///< the output's extents
  std::int64_t stride[max_rank] = {1, 1, 1, 1, 1};  ///< input stride of each output axis
  std::int64_t size = 1;                        ///< values per sample
};

/// The geometry of y = x with its axes reordered: output axis k is input axis perm[k] (0-based,
/// per sample). `in` holds the input's extents. perm must be a permutation of 0..rank-1 (the
/// layer checks it).
inline PermuteGeometry permute_geometry(int rank, const std::int64_t* in, const int* perm) {
  PermuteGeometry g;
  g.rank = rank;
  std::int64_t in_stride[PermuteGeometry::max_rank] = {1, 1, 1, 1, 1};
  for (int k = rank - 2; k >= 0; --k) in_stride[k] = in_stride[k + 1] * in[k + 1];
  g.size = 1;
  for (int k = 0; k < rank; ++k) {
    g.out[k] = in[perm[k]];
    g.stride[k] = in_stride[perm[k]];
    g.size *= in[k];
  }
  return g;
}

}  // namespace hepnn
