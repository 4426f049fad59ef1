/// @file layers/sequence_pooling.hpp
/// @brief Pooling over the elements of sequences (L, F) -> (F): GlobalSumPooling1D,
/// GlobalAveragePooling1D and GlobalMaxPooling1D, the permutation-invariant step of Deep Sets.
///
/// On masked sequences (layers/masking.hpp) they pool over the real elements only: the mask is
/// given to them as a second input by the functional API. A sequence without real elements
/// pools to 0 for every kind. Max pooling passes the gradient to the first maximal element.
#pragma once
#include "hepnn/core/config.hpp"
#include <memory>
#include <string>
#include <vector>

#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/layers/sequence_layer.hpp"
#include "hepnn/ops/sequence.hpp"

namespace hepnn::inline HEPNN_ABI {

/// The layer the three pooling specs build: input sequences (L, F), optionally a mask (L,).
template <class T, class Device>
class SequencePoolingLayer final : public SequenceLayer<T, Device> {
 public:
  SequencePoolingLayer(std::string name, const std::vector<Shape>& in, SequencePool kind)
      : SequenceLayer<T, Device>(std::move(name), in, type_of(kind)), m_kind(kind) {
    this->m_output_shape = Shape{this->m_F};
  }
  std::string type() const override { return type_of(m_kind); }
  std::string describe() const override { return this->masked() ? "masked" : ""; }
  void forward_many(std::int64_t B, const T* const* xs, T* y, T*, const Pass&) const override {
    ops::sequence_pool_forward<Device>(m_kind, B, this->m_L, this->m_F, xs[0], this->mask_of(xs), y);
  }
  void backward_many(std::int64_t B, const T* const* xs, const T* y, const T* dy, T* const* dxs, T*,
                     const Pass&) override {
    if (dxs[0]) ops::sequence_pool_backward<Device>(m_kind, B, this->m_L, this->m_F, xs[0], this->mask_of(xs), y, dy, dxs[0]);
    this->zero_mask_gradient(B, dxs);
  }

 private:
  static const char* type_of(SequencePool kind) {
    return kind == SequencePool::sum ? "GlobalSumPooling1D"
           : kind == SequencePool::mean ? "GlobalAveragePooling1D"
                                        : "GlobalMaxPooling1D";
  }
  SequencePool m_kind;
};

#define HEPNN_SEQUENCE_POOLING_SPEC(Spec, kind, lower)                                                 \
  struct Spec {                                                                                         \
    std::string name = {}; /* the layer's name; empty: automatic */                                     \
    static constexpr const char* type_name = lower;                                                     \
    static constexpr MaskMode mask_mode = MaskMode::consume;                                            \
    HEPNN_FUNCTIONAL_SPEC()                                                                             \
    std::map<std::string, ConfigValue> options() const { return {}; }                                   \
    static Spec from_config(const LayerConfig& c) { return Spec{c.name}; }                              \
    template <class T, class Device>                                                                    \
    std::unique_ptr<Layer<T, Device>> build(const std::vector<Shape>& in, const std::string& auto_name) const { \
      return std::make_unique<SequencePoolingLayer<T, Device>>(name.empty() ? auto_name : name, in,     \
                                                               SequencePool::kind);                     \
    }                                                                                                   \
  };
/// Spec: the sum over the (real) elements of sequences (L, F) -> (F), as in Deep Sets.
HEPNN_SEQUENCE_POOLING_SPEC(GlobalSumPooling1D, sum, "global_sum_pooling1d")
/// Spec: the mean over the (real) elements of sequences (L, F) -> (F); 0 for an empty sequence.
HEPNN_SEQUENCE_POOLING_SPEC(GlobalAveragePooling1D, mean, "global_average_pooling1d")
/// Spec: the maximum over the (real) elements of sequences (L, F) -> (F); 0 for an empty sequence.
HEPNN_SEQUENCE_POOLING_SPEC(GlobalMaxPooling1D, max, "global_max_pooling1d")
#undef HEPNN_SEQUENCE_POOLING_SPEC

}  // namespace hepnn
