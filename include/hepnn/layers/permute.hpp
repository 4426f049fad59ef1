/// @file layers/permute.hpp
/// @brief Permute: reorders the axes of each sample, e.g. images from channels-last (H, W, C) to
/// hepnn's channels-first (C, H, W) with Permute{{2, 0, 1}}.
///
/// Axes count the sample's axes from 0 (Keras' Permute counts from 1: Keras `Permute((3, 1, 2))`
/// is `Permute{{2, 0, 1}}` here). Output axis k is input axis dims[k].
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/ops/elementwise.hpp"
#include "hepnn/ops/permute_geometry.hpp"

namespace hepnn::inline HEPNN_ABI {

/// The layer a Permute spec builds (ops::permute forward, the inverse permutation backward).
template <class T, class Device>
class PermuteLayer final : public Layer<T, Device> {
 public:
  PermuteLayer(std::string name, const Shape& in, const std::vector<std::int64_t>& dims)
      : Layer<T, Device>(std::move(name), in) {
    std::string listed = "(";
    for (std::size_t i = 0; i < dims.size(); ++i) listed += (i ? ", " : "") + std::to_string(dims[i]);
    listed += ")";
    HEPNN_CHECK(std::int64_t(dims.size()) == in.rank(), "Permute '", this->m_name, "': dims ", listed, " name ",
                dims.size(), " axes, the per-sample input ", in.str(), " has ", in.rank());
    std::vector<std::int64_t> sorted = dims;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i)
      HEPNN_CHECK(sorted[i] == std::int64_t(i), "Permute '", this->m_name, "': dims ", listed,
                  " must hold each axis 0..", in.rank() - 1, " once (axes count from 0 within a sample)");
    std::int64_t ext[PermuteGeometry::max_rank] = {1, 1, 1, 1, 1};
    int perm[PermuteGeometry::max_rank] = {0, 1, 2, 3, 4}, inverse[PermuteGeometry::max_rank] = {0, 1, 2, 3, 4};
    for (int k = 0; k < in.rank(); ++k) {
      ext[k] = in[k];
      perm[k] = int(dims[std::size_t(k)]);
      inverse[perm[k]] = k;
    }
    const PermuteGeometry fwd = permute_geometry(int(in.rank()), ext, perm);
    Shape out;
    for (int k = 0; k < in.rank(); ++k) out.push_back(fwd.out[k]);
    this->m_output_shape = out;
    m_geometry = std::make_shared<const Geometries>(Geometries{fwd, permute_geometry(int(in.rank()), fwd.out, inverse)});
    m_dims = dims;
  }
  std::string type() const override { return "Permute"; }
  std::string describe() const override {
    std::string s = "dims=(";
    for (std::size_t i = 0; i < m_dims.size(); ++i) s += (i ? ", " : "") + std::to_string(m_dims[i]);
    return s + ")";
  }
  void forward(std::int64_t B, const T* x, T* y, T*, const Pass&) const override {
    ops::permute<Device>(m_geometry->forward, B, x, y);
  }
  void backward(std::int64_t B, const T*, const T*, const T* dy, T* dx, T*, const Pass&) override {
    if (dx) ops::permute<Device>(m_geometry->backward, B, dy, dx);
  }

 private:
  // On the heap, behind one pointer: GCC 12 at -O3 speculatively devirtualises other layers'
  // forward() to this one and, with the geometry inline (96 bytes past the base), reported reads
  // beyond a smaller layer's allocation (-Warray-bounds; CI, gcc -march=x86-64-v4, test_dense).
  struct Geometries {
    PermuteGeometry forward, backward;
  };
  std::shared_ptr<const Geometries> m_geometry;
  std::vector<std::int64_t> m_dims;
};

/// Spec: reorders each sample's axes; output axis k is input axis dims[k] (from 0).
struct Permute {
  /// A permutation of the per-sample axes 0..rank-1.
  std::vector<std::int64_t> dims = {};
  /// The layer's name; empty: "permute_1", "permute_2", ... in the order of the model.
  std::string name = {};
  static constexpr const char* type_name = "permute";
  HEPNN_FUNCTIONAL_SPEC()
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<PermuteLayer<T, Device>>(name.empty() ? auto_name : name, in, dims);
  }
  /// The options as stored in model files (config()), and back (from_config).
  std::map<std::string, ConfigValue> options() const { return {{"dims", dims}}; }
  static Permute from_config(const LayerConfig& c) { return Permute{c.get<std::vector<std::int64_t>>("dims"), c.name}; }
};

}  // namespace hepnn
