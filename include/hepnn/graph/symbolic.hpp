/// @file graph/symbolic.hpp
/// @brief The functional API's symbolic tensors: `Dense{64}(x)` records a layer call and returns
/// the symbolic output, and `Model<T, Device>{inputs, outputs}` (graph/model.hpp) builds the graph.
///
/// Everything here is device-free. A layer call builds a probe of the layer (double, CPU, no
/// parameter memory) to infer and check the output shape at once, so that a shape error names
/// the layer where it is written. The probe's LayerConfig is kept: it is how a GPU model and a
/// model file rebuild the layer (layers/registry.hpp).
///
/// Identity: a spec object is one layer. Calling the same object (or a copy of it) twice shares
/// that layer's weights, as reusing a Keras layer object does; a temporary (`Dense{64}(x)`) is
/// a layer of its own.
///
/// Masks: a symbolic tensor of padded sequences (per-sample shape (L, features...)) may carry a
/// mask, itself a symbolic tensor of shape (L,) holding 1 for a real element and 0 for padding
/// (layers/masking.hpp makes them: Masking, with_lengths). A layer call handles it by the spec's
/// `mask_mode` (MaskMode below; or `mask_mode_of_call()` where it depends on the options):
/// element-wise layers pass it on, layers that need it get it as their last input, and any other
/// layer refuses a masked input, naming itself.
#pragma once
#include "hepnn/core/config.hpp"
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

#include "hepnn/core/device.hpp"
#include "hepnn/core/error.hpp"
#include "hepnn/core/shape.hpp"
#include "hepnn/layers/layer.hpp"

namespace hepnn::inline HEPNN_ABI {

namespace graph {
struct Node;
struct LayerDef;
}  // namespace graph

/// How a layer treats the mask of padded sequence elements that its input carries.
enum class MaskMode {
  none,       ///< does not handle masks: calling it on a masked tensor is an error
  propagate,  ///< acts on each sequence element alone: its output carries the input's mask
  consume,    ///< needs the mask: it is given as the layer's last input, and the output carries none
  consume_propagate,  ///< needs the mask (last input) and outputs a sequence of the same elements, masked alike
};

/// The output of an Input or of a layer call in the functional API: a per-sample shape and the
/// call that makes it. Cheap to copy (a shared handle).
class SymbolicTensor {
 public:
  SymbolicTensor() = default;
  explicit SymbolicTensor(std::shared_ptr<const graph::Node> node) : m_node(std::move(node)) {}
  /// Per-sample shape (no batch axis).
  const Shape& shape() const;
  /// The Input's name, or the name of the layer that makes it ("" while the layer is unnamed:
  /// models name such layers when they are built).
  std::string name() const;
  const std::shared_ptr<const graph::Node>& node() const { return m_node; }
  bool valid() const { return m_node != nullptr; }

  /// The mask of padded elements this tensor carries: per-sample shape (L,), 1 for a real element
  /// and 0 for padding; an empty SymbolicTensor when it carries none.
  SymbolicTensor mask() const { return m_mask ? SymbolicTensor(m_mask) : SymbolicTensor(); }
  /// True when this tensor carries a mask (see mask()).
  bool has_mask() const { return m_mask != nullptr; }
  /// This tensor carrying `mask` (shape (L,) for samples of shape (L, ...); nonzero: a real
  /// element). It does not zero the padded elements: layers/masking.hpp's with_mask does.
  SymbolicTensor with_mask_attached(const SymbolicTensor& mask) const;
  /// This tensor without a mask: the layers after it treat every element as real.
  SymbolicTensor without_mask() const { return SymbolicTensor(m_node); }

 private:
  std::shared_ptr<const graph::Node> m_node;
  std::shared_ptr<const graph::Node> m_mask;
};

namespace graph {

/// One layer of the functional API, shared by all its calls. Built from a spec (SpecDef below).
struct LayerDef {
  virtual ~LayerDef() = default;
  /// The spec's type name ("dense"): the stem of automatic names.
  virtual std::string stem() const = 0;
  /// The name the spec gives (empty: automatic).
  virtual std::string given_name() const = 0;
  /// The layer for input shapes `in`, named `name`, on the CPU (no parameter memory yet).
  virtual std::unique_ptr<Layer<float, cpu>> build_float(const std::vector<Shape>& in, const std::string& name) const = 0;
  virtual std::unique_ptr<Layer<double, cpu>> build_double(const std::vector<Shape>& in,
                                                            const std::string& name) const = 0;
  /// The spec's C++ type, to tell two different layers given the same name apart.
  virtual const std::type_info& spec_type() const = 0;
  /// How the layer treats masks: the spec's `static constexpr MaskMode mask_mode` (none if absent).
  virtual MaskMode mask_mode() const { return MaskMode::none; }
};

/// A model used as a layer (graph/model.hpp fills it): the model itself, type-erased, and the
/// element type and device it was built for.
struct SubmodelRef {
  std::shared_ptr<void> core;          // the model's shared core
  const std::type_info* type = nullptr;  // typeid of the core, to check T and Device
  std::string name;                    // the model's name
  std::vector<Shape> input_shapes;
};

/// A node of the symbolic graph: an Input, or one call of a layer or of a model on inputs.
struct Node {
  enum class Kind { input, layer, submodel } kind = Kind::input;
  std::uint64_t id = 0;                 // creation order: a topological order of every graph
  Shape shape;                          // per-sample output shape
  std::string input_name;               // Kind::input
  std::shared_ptr<LayerDef> layer;      // Kind::layer
  std::shared_ptr<SubmodelRef> submodel;  // Kind::submodel
  std::vector<SymbolicTensor> inputs;   // what the call takes
  std::string probe_name;               // the layer's name at the call (given or "<stem>")

  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> counter{0};
    return ++counter;
  }
};

/// What a spec object carries to be one layer across its calls and copies.
class LayerIdentity {
 public:
  LayerIdentity() : m_slot(std::make_shared<std::shared_ptr<LayerDef>>()) {}
  /// The layer of this spec object, made from `spec` at the first call.
  template <class Spec>
  std::shared_ptr<LayerDef> def(const Spec& spec) const;

 private:
  std::shared_ptr<std::shared_ptr<LayerDef>> m_slot;
};

/// The LayerDef of a spec of type Spec: a copy of the spec, made at its first call.
template <class Spec>
struct SpecDef final : LayerDef {
  // the copy gets an identity of its own: the spec's would point back here (a cycle)
  explicit SpecDef(const Spec& s) : spec(s) { spec.identity = LayerIdentity{}; }
  std::string stem() const override { return Spec::type_name; }
  std::string given_name() const override { return spec.name; }
  std::unique_ptr<Layer<float, cpu>> build_float(const std::vector<Shape>& in, const std::string& n) const override {
    return build<float>(in, n);
  }
  std::unique_ptr<Layer<double, cpu>> build_double(const std::vector<Shape>& in, const std::string& n) const override {
    return build<double>(in, n);
  }
  const std::type_info& spec_type() const override { return typeid(Spec); }
  MaskMode mask_mode() const override {
    if constexpr (requires { spec.mask_mode_of_call(); }) return spec.mask_mode_of_call();  // by the options
    else if constexpr (requires { Spec::mask_mode; }) return Spec::mask_mode;
    else return MaskMode::none;
  }
  template <class T>
  std::unique_ptr<Layer<T, cpu>> build(const std::vector<Shape>& in, const std::string& n) const {
    return detail::build_layer<T, cpu>(spec, in, n);
  }
  Spec spec;
};

template <class Spec>
std::shared_ptr<LayerDef> LayerIdentity::def(const Spec& spec) const {
  if (!*m_slot) *m_slot = std::make_shared<SpecDef<Spec>>(spec);
  return *m_slot;
}

/// The mask the inputs of a call carry (null: none), checked against the layer's MaskMode:
/// `what` names the layer in errors.
inline std::shared_ptr<const Node> mask_of_inputs(MaskMode mode, const std::vector<SymbolicTensor>& inputs,
                                                  const std::string& what) {
  std::shared_ptr<const Node> mask;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].valid() || !inputs[k].has_mask()) continue;
    const std::string name = inputs[k].name().empty() ? inputs[k].node()->probe_name : inputs[k].name();
    HEPNN_CHECK(mode != MaskMode::none, what, ": does not handle masks, and its input ", k, " ('", name, "', ",
                inputs[k].shape().str(),
                ") carries the mask of padded sequence elements; pool over the elements first "
                "(GlobalAveragePooling1D, GlobalSumPooling1D, GlobalMaxPooling1D), or call it on x.without_mask() "
                "to treat padding as data");
    HEPNN_CHECK(mask == nullptr || mask == inputs[k].mask().node(), what, ": its inputs carry different masks (input ",
                k, " has another mask than the inputs before it); combine sequences of one mask only");
    mask = inputs[k].mask().node();
  }
  return mask;
}

/// Records the call of `def` on `inputs`: builds the probe to check the shapes and name the
/// output shape. Masks are handled by the layer's MaskMode (top of this file).
inline SymbolicTensor call(std::shared_ptr<LayerDef> def, std::vector<SymbolicTensor> inputs) {
  auto node = std::make_shared<Node>();
  node->kind = Node::Kind::layer;
  node->id = Node::next_id();
  const std::string given = def->given_name();
  node->probe_name = given.empty() ? def->stem() : given;
  HEPNN_CHECK(!inputs.empty(), "layer '", node->probe_name, "': called on no inputs");
  for (std::size_t k = 0; k < inputs.size(); ++k)
    HEPNN_CHECK(inputs[k].valid(), "layer '", node->probe_name, "': input ", k,
                " is an empty SymbolicTensor (use an Input or a layer's output)");
  const MaskMode mode = def->mask_mode();
  const std::shared_ptr<const Node> mask = mask_of_inputs(mode, inputs, "layer '" + node->probe_name + "'");
  if (mask && (mode == MaskMode::consume || mode == MaskMode::consume_propagate)) inputs.push_back(SymbolicTensor(mask));
  std::vector<Shape> shapes;
  for (const SymbolicTensor& x : inputs) shapes.push_back(x.shape());
  node->shape = def->build_double(shapes, node->probe_name)->output_shape();
  node->layer = std::move(def);
  node->inputs = std::move(inputs);
  SymbolicTensor out(std::move(node));
  if (!mask || mode == MaskMode::consume) return out;
  const Shape& s = out.shape();
  HEPNN_CHECK(s.rank() >= 2 && s[0] == mask->shape[0], "layer '", out.node()->probe_name, "': its input carries a mask of ",
              mask->shape[0], " sequence elements, but its output ", s.str(),
              " is no longer a sequence of them; pool over the elements first or call it on x.without_mask()");
  return out.with_mask_attached(SymbolicTensor(mask));
}

/// A new Input node.
inline std::shared_ptr<const Node> make_input(std::string name, const Shape& shape) {
  auto node = std::make_shared<Node>();
  node->kind = Node::Kind::input;
  node->id = Node::next_id();
  node->input_name = std::move(name);
  node->shape = shape;
  return node;
}

}  // namespace graph

inline const Shape& SymbolicTensor::shape() const {
  HEPNN_CHECK(m_node != nullptr, "SymbolicTensor: empty (use an Input or a layer's output)");
  return m_node->shape;
}

inline SymbolicTensor SymbolicTensor::with_mask_attached(const SymbolicTensor& mask) const {
  HEPNN_CHECK(valid() && mask.valid(), "SymbolicTensor::with_mask_attached: empty tensor or mask");
  const Shape& s = shape();
  HEPNN_CHECK(s.rank() >= 2 && mask.shape() == Shape{s[0]}, "mask '", mask.name(), "' of per-sample shape ",
              mask.shape().str(), " does not fit the sequences '", name(), "' of per-sample shape ", s.str(),
              ": a mask of sequences (L, features...) has shape (L,)");
  SymbolicTensor out(m_node);
  out.m_mask = mask.node();
  return out;
}

inline std::string SymbolicTensor::name() const {
  if (!m_node) return "";
  if (m_node->kind == graph::Node::Kind::input) return m_node->input_name;
  if (m_node->kind == graph::Node::Kind::submodel) return m_node->submodel->name;
  return m_node->layer->given_name();
}

}  // namespace hepnn

/// Inside a layer spec (as its last member): makes the spec callable on symbolic tensors,
/// `Spec{...}(x)`, and gives it the identity that shares its layer between calls.
#define HEPNN_FUNCTIONAL_SPEC()                                                                     \
  ::hepnn::graph::LayerIdentity identity = {};                                                     \
  /** Calls the layer on x (functional API): the symbolic output. */                                \
  ::hepnn::SymbolicTensor operator()(const ::hepnn::SymbolicTensor& x) const {                      \
    return ::hepnn::graph::call(identity.def(*this), {x});                                          \
  }

/// As HEPNN_FUNCTIONAL_SPEC, for layers of several inputs (merge layers): `Spec{}({a, b})`.
#define HEPNN_FUNCTIONAL_MERGE_SPEC()                                                               \
  ::hepnn::graph::LayerIdentity identity = {};                                                     \
  /** Calls the layer on the inputs xs (functional API): the symbolic output. */                    \
  ::hepnn::SymbolicTensor operator()(std::vector<::hepnn::SymbolicTensor> xs) const {               \
    return ::hepnn::graph::call(identity.def(*this), std::move(xs));                                \
  }
