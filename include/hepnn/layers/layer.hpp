/// @file layers/layer.hpp
/// @brief Layer<T, Device>: the interface every layer implementation follows.
///
/// A user writes device-free specs (`Dense{64}`); a model turns each spec into a
/// Layer<T, Device> with detail::build_layer (below): `spec.build<T, Device>(input_shape, name)`
/// makes the layer and the spec's `options()` are recorded on it, which is what config() and
/// model files report; `Spec::from_config` is their inverse. Layers hold no per-batch
/// state: forward is const (so one model serves many threads), activations live in buffers the
/// model owns, and the parameters are views into the model's one flat buffer.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hepnn/core/device.hpp"
#include "hepnn/core/error.hpp"
#include "hepnn/core/shape.hpp"
#include "hepnn/layers/layer_config.hpp"
#include "hepnn/train/communicator.hpp"

namespace hepnn::inline HEPNN_ABI {

/// What a forward or backward pass needs to know besides the data.
struct Pass {
  bool training = false;      ///< dropout active, batch statistics used
  std::uint64_t seed = 0;     ///< the model's seed
  std::uint64_t step = 0;     ///< optimizer step, keys the dropout masks
  std::int64_t layer_index = 0;  ///< position of the layer in the model, from 0
  bool backward = false;      ///< a backward pass follows (ws is the training workspace)
  /// The ranks of the data-parallel fit this training pass is part of (null: this process
  /// alone). Layers that pool batch statistics over the ranks (BatchNormalization with
  /// `synchronized`) call its collectives; every rank's pass calls them in the same order.
  Communicator* comm = nullptr;
  /// The index of this pass's first sample in the step's whole batch over the ranks (0 alone):
  /// random masks (Dropout, GaussianSample) are drawn for the whole batch and each rank uses its
  /// part, so that the ranks together draw what one process would.
  std::int64_t first_sample = 0;
};

/// One named parameter array of a layer, in the layer's own order.
struct ParamInfo {
  std::string name;  ///< "kernel", "bias"
  Shape shape;       ///< its extents
};

/// Base class of the layer implementations, for element type T on Device (see the top of this
/// file). A user's layer derives from it and sets m_output_shape in its constructor.
template <class T, class Device>
class Layer {
 public:
  /// A layer named `name` for samples of shape `input_shape`.
  Layer(std::string name, const Shape& input_shape) : m_name(std::move(name)), m_input_shape(input_shape) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  /// Type as in summary() and model files: "Dense", "ReLU", ...
  virtual std::string type() const = 0;
  /// Keras-like one-line description of the options, for summary().
  virtual std::string describe() const { return ""; }
  /// Type, name and the options that rebuild the layer's spec (model files; layers/registry.hpp):
  /// the spec's `options()`, recorded when the layer was built (detail::build_layer).
  LayerConfig config() const { return {type(), m_name, m_options}; }
  /// Sets the options config() reports (detail::build_layer does, from the spec's options()).
  void set_options(std::map<std::string, ConfigValue> options) { m_options = std::move(options); }
  /// The layer's name, unique within its model ("dense_1" unless the spec named it).
  const std::string& name() const { return m_name; }
  /// Per-sample shapes (no batch extent).
  const Shape& input_shape() const { return m_input_shape; }
  /// Per-sample output shape.
  const Shape& output_shape() const { return m_output_shape; }

  /// Parameters, in the order they are laid out in the flat buffer.
  virtual std::vector<ParamInfo> params() const { return {}; }
  /// Number of parameters: the elements of all params().
  std::int64_t num_params() const {
    std::int64_t n = 0;
    for (const auto& p : params()) n += p.shape.size();
    return n;
  }
  /// Points the layer at its slice of the model's flat parameter and gradient buffers.
  void bind(T* params, T* grads) {
    m_params = params;
    m_grads = grads;
  }
  /// Fills the parameters (host memory) from the seeded initialisers.
  virtual void initialize(T* /*host_params*/, std::uint64_t /*seed*/, std::uint64_t /*stream*/) const {}

  /// Non-trainable state (BatchNormalization's moving mean and variance), in the order it is laid
  /// out in the model's flat state buffer. It is saved with the model, restored by
  /// EarlyStopping(restore_best) and changed only by update_state(), never by the optimizer.
  virtual std::vector<ParamInfo> state_params() const { return {}; }
  /// Number of state values: the elements of all state_params().
  std::int64_t num_state() const {
    std::int64_t n = 0;
    for (const auto& p : state_params()) n += p.shape.size();
    return n;
  }
  /// Points the layer at its slice of the model's flat state buffer.
  void bind_state(T* state) { m_state = state; }
  /// Fills the state (host memory) with its initial values.
  virtual void initialize_state(T* /*host_state*/) const {}
  /// Called once per training step, after backward, with the x and ws of that step's forward
  /// pass: the place to update running statistics (forward stays const).
  virtual void update_state(std::int64_t /*batch*/, const T* /*x*/, const T* /*ws*/, const Pass& /*pass*/) {}
  /// A rank of a data-parallel fit with no event in this step calls this instead of forward
  /// (backward = false: in the forward order of the layers, then update_state's work) and of
  /// backward (backward = true: in the reverse order), so that a layer whose passes call
  /// collectives over pass.comm takes part in them with nothing. Other layers do nothing.
  virtual void take_part_without_events(bool /*backward*/, const Pass& /*pass*/) {}

  /// Extra scratch elements per sample this layer needs in training (pre-activations, ...).
  virtual std::int64_t workspace_per_sample() const { return 0; }
  /// Scratch elements per sample forward needs when no backward follows (0 for hepnn's layers
  /// but a model used as a layer): given as ws then, with pass.backward false.
  virtual std::int64_t inference_workspace_per_sample() const { return 0; }

  /// x is (batch, input_shape...), y is (batch, output_shape...); ws has
  /// batch * workspace_per_sample() elements when a backward pass follows (null otherwise).
  virtual void forward(std::int64_t batch, const T* x, T* y, T* ws, const Pass& pass) const = 0;
  /// Given dy, writes dx (skipped when dx is null) and this layer's parameter gradients
  /// (overwritten, not accumulated). x, y and ws are those of the matching forward.
  virtual void backward(std::int64_t batch, const T* x, const T* y, const T* dy, T* dx, T* ws,
                        const Pass& pass) = 0;

  // ---- several inputs (merge layers: Concatenate, Add, ...; models used as layers) ----
  /// Number of inputs the layer takes (1 for every layer but the merge layers).
  virtual std::int64_t num_inputs() const { return 1; }
  /// Per-sample shape of input k (input_shape() is input 0).
  virtual const Shape& input_shape_at(std::int64_t k) const { return k == 0 ? m_input_shape : invalid_input(k); }
  /// forward() with xs[k] the k-th input (num_inputs() pointers).
  virtual void forward_many(std::int64_t batch, const T* const* xs, T* y, T* ws, const Pass& pass) const {
    forward(batch, xs[0], y, ws, pass);
  }
  /// backward() with xs[k] the k-th input and dxs[k] its gradient (a null dxs[k] is skipped).
  virtual void backward_many(std::int64_t batch, const T* const* xs, const T* y, const T* dy, T* const* dxs, T* ws,
                             const Pass& pass) {
    backward(batch, xs[0], y, dy, dxs[0], ws, pass);
  }

  // ---- trainable flag ----
  /// False: the optimizer leaves the layer's parameters alone. A Model reads the flags when it
  /// is compiled (as Keras does), so set them before compile().
  bool trainable() const { return m_trainable; }
  void set_trainable(bool t) { m_trainable = t; }

 protected:
  std::string m_name;                              ///< see name()
  Shape m_input_shape;                             ///< see input_shape()
  Shape m_output_shape;                            ///< see output_shape(); set by the derived constructor
  T* m_params = nullptr;                           ///< this layer's parameters (see bind())
  T* m_grads = nullptr;                            ///< their gradients (see bind())
  T* m_state = nullptr;                            ///< this layer's state (see bind_state())
  std::map<std::string, ConfigValue> m_options;    ///< what config() reports (see set_options())
  bool m_trainable = true;                         ///< see trainable()

 private:
  const Shape& invalid_input(std::int64_t k) const {
    throw Error(detail::concat(type(), " '", m_name, "': has no input ", k));
  }
};

namespace detail {
/// The one way from a spec to a layer: builds spec's layer for per-sample input shapes `in`
/// (one, or several for the merge layers) named `name` (when the spec names none), and records
/// the spec's options() on it, the inverse of Spec::from_config. A spec whose layer keeps a real
/// option in T (Dense's alpha) has `options<T>()` instead, which reports it as the layer holds it,
/// so that files keep the values they always had.
template <class T, class Device, class Spec>
std::unique_ptr<Layer<T, Device>> build_layer(const Spec& spec, const std::vector<Shape>& in, const std::string& name) {
  std::unique_ptr<Layer<T, Device>> layer;
  if constexpr (requires { spec.template build<T, Device>(in, name); }) {
    layer = spec.template build<T, Device>(in, name);  // several inputs (merge layers)
  } else {
    HEPNN_CHECK(in.size() == 1, Spec::type_name, " '", name, "': takes one input, got ", in.size());
    layer = spec.template build<T, Device>(in[0], name);
  }
  if constexpr (requires { spec.template options<T>(); }) layer->set_options(spec.template options<T>());
  else if constexpr (requires { spec.options(); }) layer->set_options(spec.options());
  return layer;
}

/// Checks that a layer receives per-sample vectors (rank 1), naming the layer.
inline void require_flat(const std::string& type, const std::string& name, const Shape& in) {
  HEPNN_CHECK(in.rank() == 1, type, " '", name, "': expects flat inputs (features,), got per-sample shape ", in.str(),
              "; add Flatten{} before it");
}
}  // namespace detail

}  // namespace hepnn
