/// @file layers/sequence_layer.hpp
/// @brief SequenceLayer: the base of the layers over sequences (L, F) that read an optional mask
/// (L,) as their second input (pooling over elements, LSTM, GRU, MultiHeadAttention). The
/// functional API passes the mask (graph/symbolic.hpp, MaskMode::consume); without one every
/// element is real.
#pragma once
#include "hepnn/core/config.hpp"
#include <string>
#include <vector>

#include "hepnn/layers/layer.hpp"
#include "hepnn/ops/sequence.hpp"

namespace hepnn::inline HEPNN_ABI {

/// Base of the layers over sequences (L, F) with an optional mask (L,) as their second input.
template <class T, class Device>
class SequenceLayer : public Layer<T, Device> {
 public:
  /// Checks the inputs: sequences (L, F), then optionally a mask (L,); `type` names the layer.
  SequenceLayer(std::string name, const std::vector<Shape>& in, const char* type)
      : Layer<T, Device>(std::move(name), in.empty() ? Shape{} : in[0]), m_inputs(in) {
    HEPNN_CHECK(in.size() == 1 || in.size() == 2, type, " '", this->m_name,
                "': takes sequences and optionally their mask, got ", in.size(), " inputs");
    HEPNN_CHECK(in[0].rank() == 2 && in[0].size() > 0, type, " '", this->m_name,
                "': expects sequences of per-sample shape (elements, features), got ", in[0].str());
    if (in.size() == 2)
      HEPNN_CHECK(in[1] == Shape{in[0][0]}, type, " '", this->m_name, "': the mask has per-sample shape ", in[1].str(),
                  ", the sequences ", in[0].str(), "; it must be (", in[0][0], ",)");
    m_L = in[0][0];
    m_F = in[0][1];
  }
  std::int64_t num_inputs() const override { return std::int64_t(m_inputs.size()); }
  const Shape& input_shape_at(std::int64_t k) const override { return m_inputs.at(std::size_t(k)); }

  /// Without a mask: forward_many on the one input.
  void forward(std::int64_t B, const T* x, T* y, T* ws, const Pass& pass) const override {
    HEPNN_CHECK(!masked(), this->type(), " '", this->m_name, "': takes a mask; call it through a Model");
    const T* xs[1] = {x};
    this->forward_many(B, xs, y, ws, pass);
  }
  void backward(std::int64_t B, const T* x, const T* y, const T* dy, T* dx, T* ws, const Pass& pass) override {
    const T* xs[1] = {x};
    T* dxs[1] = {dx};
    this->backward_many(B, xs, y, dy, dxs, ws, pass);
  }

 protected:
  /// True when the layer was built with a mask input.
  bool masked() const { return m_inputs.size() == 2; }
  /// The mask among the inputs, or null.
  const T* mask_of(const T* const* xs) const { return masked() ? xs[1] : nullptr; }
  /// The mask gets no gradient: 0 where one is asked for.
  void zero_mask_gradient(std::int64_t B, T* const* dxs) const {
    if (masked() && dxs[1]) ops::zero_fill<Device>(B * m_L, dxs[1]);
  }

  std::vector<Shape> m_inputs;  ///< the per-sample input shapes: sequences, then the mask if any
  std::int64_t m_L = 0;         ///< elements per sequence
  std::int64_t m_F = 0;         ///< features per element
};

}  // namespace hepnn
