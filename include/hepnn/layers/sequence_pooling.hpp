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
#include "hepnn/ops/sequence.hpp"

namespace hepnn::inline HEPNN_ABI {

/// The layer the three pooling specs build: input sequences (L, F), optionally a mask (L,).
template <class T, class Device>
class SequencePoolingLayer final : public Layer<T, Device> {
 public:
  SequencePoolingLayer(std::string name, const std::vector<Shape>& in, SequencePool kind)
      : Layer<T, Device>(std::move(name), in.empty() ? Shape{} : in[0]), m_kind(kind), m_inputs(in) {
    HEPNN_CHECK(in.size() == 1 || in.size() == 2, type(), " '", this->m_name,
                "': takes sequences and optionally their mask, got ", in.size(), " inputs");
    HEPNN_CHECK(in[0].rank() == 2, type(), " '", this->m_name,
                "': expects sequences of per-sample shape (elements, features), got ", in[0].str());
    if (in.size() == 2)
      HEPNN_CHECK(in[1] == Shape{in[0][0]}, type(), " '", this->m_name, "': the mask has per-sample shape ",
                  in[1].str(), ", the sequences ", in[0].str(), "; it must be (", in[0][0], ",)");
    this->m_output_shape = Shape{in[0][1]};
  }
  std::string type() const override {
    return m_kind == SequencePool::sum ? "GlobalSumPooling1D"
           : m_kind == SequencePool::mean ? "GlobalAveragePooling1D"
                                          : "GlobalMaxPooling1D";
  }
  std::string describe() const override { return m_inputs.size() == 2 ? "masked" : ""; }
  std::int64_t num_inputs() const override { return std::int64_t(m_inputs.size()); }
  const Shape& input_shape_at(std::int64_t k) const override { return m_inputs.at(std::size_t(k)); }

  void forward(std::int64_t B, const T* x, T* y, T*, const Pass&) const override {
    HEPNN_CHECK(m_inputs.size() == 1, type(), " '", this->m_name, "': takes a mask; call it through a Model");
    ops::sequence_pool_forward<Device>(m_kind, B, L(), F(), x, static_cast<const T*>(nullptr), y);
  }
  void backward(std::int64_t B, const T* x, const T* y, const T* dy, T* dx, T*, const Pass&) override {
    if (dx) ops::sequence_pool_backward<Device>(m_kind, B, L(), F(), x, static_cast<const T*>(nullptr), y, dy, dx);
  }
  void forward_many(std::int64_t B, const T* const* xs, T* y, T*, const Pass&) const override {
    ops::sequence_pool_forward<Device>(m_kind, B, L(), F(), xs[0], mask(xs), y);
  }
  void backward_many(std::int64_t B, const T* const* xs, const T* y, const T* dy, T* const* dxs, T*,
                     const Pass&) override {
    if (dxs[0]) ops::sequence_pool_backward<Device>(m_kind, B, L(), F(), xs[0], mask(xs), y, dy, dxs[0]);
    if (m_inputs.size() == 2 && dxs[1]) ops::zero_fill<Device>(B * L(), dxs[1]);
  }

 private:
  std::int64_t L() const { return m_inputs[0][0]; }
  std::int64_t F() const { return m_inputs[0][1]; }
  const T* mask(const T* const* xs) const { return m_inputs.size() == 2 ? xs[1] : nullptr; }
  SequencePool m_kind;
  std::vector<Shape> m_inputs;
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
