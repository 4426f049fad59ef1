/// @file layers/merge.hpp
/// @brief Merge layers of the functional API: Concatenate (any axis), Add, Subtract, Multiply,
/// Average. Each takes several symbolic tensors: `Concatenate{}({a, b})`, `Add{}({a, b, c})`.
///
/// Shapes are per sample: Concatenate's axis counts the sample's axes from 0 (-1, the default,
/// is the last), so Keras' `axis=1` on (batch, features) inputs is our axis 0 or -1. The
/// element-wise merges need equal shapes (no broadcasting).
#pragma once
#include "hepnn/core/config.hpp"
#include <memory>
#include <string>
#include <vector>

#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/ops/elementwise.hpp"

namespace hepnn::inline HEPNN_ABI {

/// Base of the layers with several inputs. forward() and backward() of one input are not
/// theirs: models call forward_many() and backward_many().
template <class T, class Device>
class MergeLayer : public Layer<T, Device> {
 public:
  MergeLayer(std::string name, const std::vector<Shape>& in, const char* type, std::size_t min_inputs,
             std::size_t max_inputs)
      : Layer<T, Device>(std::move(name), in.empty() ? Shape{} : in[0]), m_inputs(in) {
    HEPNN_CHECK(in.size() >= min_inputs && in.size() <= max_inputs, type, " '", this->m_name, "': takes ",
                min_inputs == max_inputs ? std::to_string(min_inputs) : "at least " + std::to_string(min_inputs),
                " inputs, got ", in.size());
  }
  std::int64_t num_inputs() const override { return std::int64_t(m_inputs.size()); }
  const Shape& input_shape_at(std::int64_t k) const override { return m_inputs.at(std::size_t(k)); }
  void forward(std::int64_t, const T*, T*, T*, const Pass&) const override {
    throw Error(detail::concat(this->type(), " '", this->m_name, "': takes ", m_inputs.size(),
                               " inputs; call it through a Model (forward_many)"));
  }
  void backward(std::int64_t, const T*, const T*, const T*, T*, T*, const Pass&) override {
    throw Error(detail::concat(this->type(), " '", this->m_name, "': takes ", m_inputs.size(),
                               " inputs; call it through a Model (backward_many)"));
  }

 protected:
  /// Checks that every input has the shape of the first, naming the layer and the input.
  void require_equal_shapes() const {
    for (std::size_t k = 1; k < m_inputs.size(); ++k)
      HEPNN_CHECK(m_inputs[k] == m_inputs[0], this->type(), " '", this->m_name, "': input ", k, " has shape ",
                  m_inputs[k].str(), ", input 0 has ", m_inputs[0].str(), "; the shapes must be equal");
  }
  std::vector<Shape> m_inputs;
};

/// Add, Subtract, Multiply and Average: element-wise over inputs of one shape.
template <class T, class Device>
class ElementwiseMergeLayer final : public MergeLayer<T, Device> {
 public:
  enum class Op { add, subtract, multiply, average };
  ElementwiseMergeLayer(std::string name, const std::vector<Shape>& in, Op op)
      : MergeLayer<T, Device>(std::move(name), in, type_of(op), 2, op == Op::subtract ? 2 : 64), m_op(op) {
    this->require_equal_shapes();
    this->m_output_shape = in[0];
  }
  std::string type() const override { return type_of(m_op); }

  void forward_many(std::int64_t B, const T* const* xs, T* y, T*, const Pass&) const override {
    const std::int64_t n = B * this->m_output_shape.size();
    const std::size_t k = this->m_inputs.size();
    if (m_op == Op::multiply) {
      ops::multiply<Device>(n, xs[0], xs[1], T(0), y);
      for (std::size_t j = 2; j < k; ++j) ops::multiply<Device>(n, y, xs[j], T(0), y);
      return;
    }
    const T first = m_op == Op::average ? T(1) / T(k) : T(1);
    ops::axpby<Device>(n, first, xs[0], T(0), y);
    for (std::size_t j = 1; j < k; ++j) ops::axpby<Device>(n, m_op == Op::subtract ? T(-1) : first, xs[j], T(1), y);
  }

  // add: dx_k = dy; subtract: dx_0 = dy, dx_1 = -dy; average: dy / k; multiply: dy * prod_{j != k} x_j
  void backward_many(std::int64_t B, const T* const* xs, const T*, const T* dy, T* const* dxs, T*,
                     const Pass&) override {
    const std::int64_t n = B * this->m_output_shape.size();
    const std::size_t k = this->m_inputs.size();
    for (std::size_t i = 0; i < k; ++i) {
      if (!dxs[i]) continue;
      if (m_op == Op::multiply) {
        bool first = true;
        for (std::size_t j = 0; j < k; ++j) {
          if (j == i) continue;
          ops::multiply<Device>(n, first ? dy : dxs[i], xs[j], T(0), dxs[i]);
          first = false;
        }
        continue;
      }
      const T s = m_op == Op::average ? T(1) / T(k) : (m_op == Op::subtract && i == 1 ? T(-1) : T(1));
      ops::axpby<Device>(n, s, dy, T(0), dxs[i]);
    }
  }

 private:
  static const char* type_of(Op op) {
    switch (op) {
      case Op::add: return "Add";
      case Op::subtract: return "Subtract";
      case Op::multiply: return "Multiply";
      case Op::average: return "Average";
    }
    return "";
  }
  Op m_op;
};

/// Concatenate along one per-sample axis; the other extents must agree.
template <class T, class Device>
class ConcatenateLayer final : public MergeLayer<T, Device> {
 public:
  ConcatenateLayer(std::string name, const std::vector<Shape>& in, std::int64_t axis)
      : MergeLayer<T, Device>(std::move(name), in, "Concatenate", 1, 1024), m_axis_option(axis) {
    const int rank = in[0].rank();
    const std::int64_t a = axis < 0 ? axis + rank : axis;
    HEPNN_CHECK(a >= 0 && a < rank, "Concatenate '", this->m_name, "': axis ", axis, " does not exist in samples of shape ",
                in[0].str(), " (axes count the sample's extents, from 0; -1 is the last)");
    Shape out = in[0];
    out[int(a)] = 0;
    for (std::size_t k = 0; k < in.size(); ++k) {
      bool ok = in[k].rank() == rank;
      for (int d = 0; ok && d < rank; ++d) ok = d == a || in[k][d] == in[0][d];
      HEPNN_CHECK(ok, "Concatenate '", this->m_name, "': input ", k, " has shape ", in[k].str(), ", input 0 has ",
                  in[0].str(), "; all extents but axis ", a, " must agree");
      out[int(a)] += in[k][int(a)];
    }
    m_outer = 1;
    for (int d = 0; d < a; ++d) m_outer *= in[0][d];
    for (const Shape& s : in) m_inner.push_back(s.size() / m_outer);
    m_inner_total = out.size() / m_outer;
    this->m_output_shape = out;
  }
  std::string type() const override { return "Concatenate"; }
  std::string describe() const override { return "axis=" + std::to_string(m_axis_option); }

  void forward_many(std::int64_t B, const T* const* xs, T* y, T*, const Pass&) const override {
    std::int64_t off = 0;
    for (std::size_t k = 0; k < m_inner.size(); ++k) {
      ops::copy_2d<Device>(B * m_outer, m_inner[k], xs[k], m_inner[k], y + off, m_inner_total);
      off += m_inner[k];
    }
  }
  void backward_many(std::int64_t B, const T* const*, const T*, const T* dy, T* const* dxs, T*, const Pass&) override {
    std::int64_t off = 0;
    for (std::size_t k = 0; k < m_inner.size(); ++k) {
      if (dxs[k]) ops::copy_2d<Device>(B * m_outer, m_inner[k], dy + off, m_inner_total, dxs[k], m_inner[k]);
      off += m_inner[k];
    }
  }

 private:
  std::int64_t m_axis_option, m_outer = 1, m_inner_total = 0;
  std::vector<std::int64_t> m_inner;
};

/// Spec: concatenates its inputs along `axis` of the samples (-1: the last).
struct Concatenate {
  std::int64_t axis = -1;
  std::string name = {};
  static constexpr const char* type_name = "concatenate";
  static constexpr MaskMode mask_mode = MaskMode::propagate;  // sequences of one mask, on a feature axis
  HEPNN_FUNCTIONAL_MERGE_SPEC()
  /// The options as stored in model files (config()), and back (from_config).
  std::map<std::string, ConfigValue> options() const { return {{"axis", axis}}; }
  static Concatenate from_config(const LayerConfig& c) { return Concatenate{c.get<std::int64_t>("axis"), c.name}; }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const std::vector<Shape>& in, const std::string& auto_name) const {
    return std::make_unique<ConcatenateLayer<T, Device>>(name.empty() ? auto_name : name, in, axis);
  }
};

#define HEPNN_ELEMENTWISE_MERGE_SPEC(Spec, op, lower)                                                  \
  struct Spec {                                                                                         \
    std::string name = {};                                                                              \
    static constexpr const char* type_name = lower;                                                     \
    static constexpr MaskMode mask_mode = MaskMode::propagate;                                          \
    HEPNN_FUNCTIONAL_MERGE_SPEC()                                                                       \
    static Spec from_config(const LayerConfig& c) { return Spec{c.name}; }                              \
    template <class T, class Device>                                                                    \
    std::unique_ptr<Layer<T, Device>> build(const std::vector<Shape>& in, const std::string& auto_name) const { \
      using L = ElementwiseMergeLayer<T, Device>;                                                       \
      return std::make_unique<L>(name.empty() ? auto_name : name, in, L::Op::op);                      \
    }                                                                                                   \
  };
/// Spec: the element-wise sum of its inputs (two or more, of one shape).
HEPNN_ELEMENTWISE_MERGE_SPEC(Add, add, "add")
/// Spec: the first input minus the second (exactly two, of one shape).
HEPNN_ELEMENTWISE_MERGE_SPEC(Subtract, subtract, "subtract")
/// Spec: the element-wise product of its inputs (two or more, of one shape).
HEPNN_ELEMENTWISE_MERGE_SPEC(Multiply, multiply, "multiply")
/// Spec: the element-wise mean of its inputs (two or more, of one shape).
HEPNN_ELEMENTWISE_MERGE_SPEC(Average, average, "average")
#undef HEPNN_ELEMENTWISE_MERGE_SPEC

}  // namespace hepnn
