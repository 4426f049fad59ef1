/// @file layers/masking.hpp
/// @brief Padded sequences in the functional API: where masks come from.
///
/// A batch of tracks per jet is stored padded, (events, L, features) with L the most tracks any
/// event keeps, and says which elements are real in one of two ways:
///   - `Masking{.mask_value = 0}(tracks)`: an element whose features all equal mask_value is
///     padding (as Keras' Masking);
///   - `with_lengths(tracks, n_tracks)`: the first n_tracks[i] elements of event i are real (a
///     length input of per-sample shape (1,)).
/// Both return the sequences with their padded elements set to 0 and carrying the mask (L,);
/// padding values must be finite, as every input of a model (NaN padding is refused on input);
/// `with_mask(x, mask)` does the same for a mask of one's own. Setting padding to 0 at the
/// entry makes everything after it independent of the padding values, and layers that combine
/// elements (GlobalAveragePooling1D, ...) read the mask, so padding never changes an output or
/// a gradient. The layers here are ordinary layers of the model (summary(), model files).
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/layers/merge.hpp"
#include "hepnn/ops/sequence.hpp"

namespace hepnn::inline HEPNN_ABI {

namespace detail {
/// Checks that `in` is a per-sample shape of sequences (L, features...), naming the layer.
inline void require_sequences(const std::string& type, const std::string& name, const Shape& in) {
  HEPNN_CHECK(in.rank() >= 2 && in.size() > 0, type, " '", name,
              "': expects sequences of per-sample shape (elements, features...), got ", in.str());
}
}  // namespace detail

/// The layer a MaskFromValue spec builds: mask (L,) = 1 where an element has a feature other than
/// mask_value. Its input gets no gradient (the mask is piecewise constant).
template <class T, class Device>
class MaskFromValueLayer final : public Layer<T, Device> {
 public:
  MaskFromValueLayer(std::string name, const Shape& in, double value) : Layer<T, Device>(std::move(name), in), m_value(value) {
    detail::require_sequences("MaskFromValue", this->m_name, in);
    HEPNN_CHECK(std::isfinite(value), "MaskFromValue '", this->m_name, "': mask_value must be finite, got ", value,
                " (hepnn refuses non-finite inputs: fill padding with a finite value, or give lengths)");
    this->m_output_shape = Shape{in[0]};
  }
  std::string type() const override { return "MaskFromValue"; }
  std::string describe() const override { return "mask_value=" + detail::concat(m_value); }
  void forward(std::int64_t B, const T* x, T* y, T*, const Pass&) const override {
    const std::int64_t L = this->m_input_shape[0];
    ops::mask_from_value<Device>(B * L, this->m_input_shape.size() / L, T(m_value), x, y);
  }
  void backward(std::int64_t B, const T*, const T*, const T*, T* dx, T*, const Pass&) override {
    if (dx) ops::zero_fill<Device>(B * this->m_input_shape.size(), dx);
  }

 private:
  double m_value;
};

/// Spec: the mask of sequences padded with `mask_value` (an element is padding when all its
/// features equal it). Masking{} uses it; it is rarely called directly.
struct MaskFromValue {
  /// The fill value of padded elements (finite).
  double mask_value = 0.0;
  /// The layer's name; empty: "mask_from_value_1", ...
  std::string name = {};
  static constexpr const char* type_name = "mask_from_value";
  HEPNN_FUNCTIONAL_SPEC()
  std::map<std::string, ConfigValue> options() const { return {{"mask_value", mask_value}}; }
  static MaskFromValue from_config(const LayerConfig& c) { return MaskFromValue{c.get<double>("mask_value"), c.name}; }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<MaskFromValueLayer<T, Device>>(name.empty() ? auto_name : name, in, mask_value);
  }
};

/// The layer a MaskFromLengths spec builds: mask (L,) = 1 for the first n elements, n the
/// sample's length (per-sample shape (1,)). On the CPU a length that is not a whole number in
/// [0, L] is an error naming the sample; on the GPU it is clamped to [0, L] and rounded down.
template <class T, class Device>
class MaskFromLengthsLayer final : public Layer<T, Device> {
 public:
  MaskFromLengthsLayer(std::string name, const Shape& in, std::int64_t max_length)
      : Layer<T, Device>(std::move(name), in), m_max(max_length) {
    HEPNN_CHECK(in == Shape{1}, "MaskFromLengths '", this->m_name,
                "': expects one length per sample (per-sample shape (1,)), got ", in.str());
    HEPNN_CHECK(max_length > 0, "MaskFromLengths '", this->m_name, "': max_length must be positive, got ", max_length);
    this->m_output_shape = Shape{max_length};
  }
  std::string type() const override { return "MaskFromLengths"; }
  std::string describe() const override { return "max_length=" + std::to_string(m_max); }
  void forward(std::int64_t B, const T* x, T* y, T*, const Pass&) const override {
    const std::int64_t bad = ops::mask_from_lengths<Device>(B, m_max, x, y);
    if (bad >= 0)
      throw Error(detail::concat("MaskFromLengths '", this->m_name, "': sample ", bad, " of the batch has length ",
                                 x[bad], "; a length must be a whole number from 0 to ", m_max,
                                 " (the padded sequence length)"));
  }
  void backward(std::int64_t B, const T*, const T*, const T*, T* dx, T*, const Pass&) override {
    if (dx) ops::zero_fill<Device>(B, dx);
  }

 private:
  std::int64_t m_max;
};

/// Spec: the mask (max_length,) of sequences whose real elements come first, from their number.
struct MaskFromLengths {
  /// L, the padded length of the sequences (required: positive).
  std::int64_t max_length = 0;
  /// The layer's name; empty: "mask_from_lengths_1", ...
  std::string name = {};
  static constexpr const char* type_name = "mask_from_lengths";
  HEPNN_FUNCTIONAL_SPEC()
  std::map<std::string, ConfigValue> options() const { return {{"max_length", max_length}}; }
  static MaskFromLengths from_config(const LayerConfig& c) {
    return MaskFromLengths{c.get<std::int64_t>("max_length"), c.name};
  }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<MaskFromLengthsLayer<T, Device>>(name.empty() ? auto_name : name, in, max_length);
  }
};

/// The layer an ApplyMask spec builds: inputs sequences x (L, features...) and a mask (L,);
/// y = x with the padded elements set to 0. The mask gets no gradient.
template <class T, class Device>
class ApplyMaskLayer final : public MergeLayer<T, Device> {
 public:
  ApplyMaskLayer(std::string name, const std::vector<Shape>& in) : MergeLayer<T, Device>(std::move(name), in, "ApplyMask", 2, 2) {
    detail::require_sequences("ApplyMask", this->m_name, in[0]);
    HEPNN_CHECK(in[1] == Shape{in[0][0]}, "ApplyMask '", this->m_name, "': the mask has per-sample shape ",
                in[1].str(), ", the sequences ", in[0].str(), "; it must be (", in[0][0], ",)");
    this->m_output_shape = in[0];
  }
  std::string type() const override { return "ApplyMask"; }
  void forward_many(std::int64_t B, const T* const* xs, T* y, T*, const Pass&) const override {
    const std::int64_t L = this->m_output_shape[0];
    ops::apply_mask<Device>(B * L, this->m_output_shape.size() / L, xs[0], xs[1], y);
  }
  void backward_many(std::int64_t B, const T* const* xs, const T*, const T* dy, T* const* dxs, T*,
                     const Pass&) override {
    const std::int64_t L = this->m_output_shape[0];
    if (dxs[0]) ops::apply_mask<Device>(B * L, this->m_output_shape.size() / L, dy, xs[1], dxs[0]);
    if (dxs[1]) ops::zero_fill<Device>(B * L, dxs[1]);
  }
};

/// Spec: sequences and their mask in, the sequences with padding set to 0 out (with_mask uses it).
struct ApplyMask {
  /// The layer's name; empty: "apply_mask_1", ...
  std::string name = {};
  static constexpr const char* type_name = "apply_mask";
  HEPNN_FUNCTIONAL_MERGE_SPEC()
  std::map<std::string, ConfigValue> options() const { return {}; }
  static ApplyMask from_config(const LayerConfig& c) { return ApplyMask{c.name}; }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const std::vector<Shape>& in, const std::string& auto_name) const {
    return std::make_unique<ApplyMaskLayer<T, Device>>(name.empty() ? auto_name : name, in);
  }
};

/// The sequences x (per-sample shape (L, features...)) with their padded elements set to 0 and
/// carrying `mask` (per-sample shape (L,), nonzero for a real element). A mask x already carries
/// is replaced. `name` names the ApplyMask layer.
inline SymbolicTensor with_mask(const SymbolicTensor& x, const SymbolicTensor& mask, std::string name = {}) {
  HEPNN_CHECK(x.valid() && mask.valid(), "with_mask: empty sequences or mask (use an Input or a layer's output)");
  detail::require_sequences("with_mask", x.name(), x.shape());
  HEPNN_CHECK(!mask.has_mask(), "with_mask: the mask '", mask.name(), "' itself carries a mask");
  const SymbolicTensor y = ApplyMask{std::move(name)}({x.without_mask(), mask});
  return y.with_mask_attached(mask);
}

/// Sequences x (per-sample shape (L, features...)) whose first lengths[i] elements are real
/// (lengths: per-sample shape (1,), e.g. the number of tracks), with padding set to 0 and
/// carrying the mask. Lengths must be whole numbers from 0 to L.
inline SymbolicTensor with_lengths(const SymbolicTensor& x, const SymbolicTensor& lengths, std::string name = {}) {
  HEPNN_CHECK(x.valid() && lengths.valid(), "with_lengths: empty sequences or lengths");
  detail::require_sequences("with_lengths", x.name(), x.shape());
  const SymbolicTensor mask = MaskFromLengths{x.shape()[0], name.empty() ? std::string() : name + "_mask"}(lengths);
  return with_mask(x, mask, std::move(name));
}

/// Spec-like: `Masking{.mask_value = 0}(tracks)` is tracks with the elements whose features all
/// equal mask_value set to 0 and masked (Keras' Masking). Makes two layers: MaskFromValue
/// ("<name>_mask") and ApplyMask ("<name>"). mask_value must be finite (inputs must be).
struct Masking {
  /// The fill value of padded elements: an element is padding when all its features equal it (finite).
  double mask_value = 0.0;
  /// Names the ApplyMask layer, and "<name>_mask" the MaskFromValue layer; empty: automatic names.
  std::string name = {};
  /// x with its padded elements set to 0, carrying their mask.
  SymbolicTensor operator()(const SymbolicTensor& x) const {
    HEPNN_CHECK(x.valid(), "Masking: called on an empty SymbolicTensor");
    detail::require_sequences("Masking", name.empty() ? std::string("masking") : name, x.shape());
    const SymbolicTensor mask = MaskFromValue{mask_value, name.empty() ? std::string() : name + "_mask"}(x.without_mask());
    return with_mask(x, mask, name);
  }
};

}  // namespace hepnn
