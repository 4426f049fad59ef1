/// @file layers/registry.hpp
/// @brief The registry from a layer's type name (Layer::type()) to the function that rebuilds
/// its spec from a LayerConfig and appends it to a model. Model files use it to load.
///
/// Adding a layer type to the file format (docs/file-format.md):
///   1. its spec gets `std::map<std::string, ConfigValue> options() const` (recorded on the layer
///      it builds: Layer::config()) and its inverse `static Spec from_config(const LayerConfig&)`;
///   2. one line `reg.add<Spec>("TypeName");` in builtin_layers() below (or, for a user's own
///      layer, `io::register_layer<MySpec>("MyLayer")` before loading).
#pragma once
#include "hepnn/core/config.hpp"
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/attention.hpp"
#include "hepnn/layers/batchnorm.hpp"
#include "hepnn/layers/conv2d.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/dropout.hpp"
#include "hepnn/layers/flatten.hpp"
#include "hepnn/layers/layer_config.hpp"
#include "hepnn/layers/layer_norm.hpp"
#include "hepnn/layers/masking.hpp"
#include "hepnn/layers/merge.hpp"
#include "hepnn/layers/pooling.hpp"
#include "hepnn/layers/permute.hpp"
#include "hepnn/layers/recurrent.hpp"
#include "hepnn/layers/reshape.hpp"
#include "hepnn/layers/sampling.hpp"
#include "hepnn/layers/sequence_pooling.hpp"
#include "hepnn/train/sequential.hpp"

namespace hepnn::inline HEPNN_ABI::io {

/// Type name -> a function appending the rebuilt spec to a model, for float and double models on
/// one device. There is one registry per device (layer_registry<cpu>(), layer_registry<cuda>()),
/// so that a CPU-only program never instantiates, and never links, the GPU layers.
template <class Device>
class BasicLayerRegistry {
 public:
  template <class Spec>
  void add(const std::string& type) {
    std::lock_guard<std::mutex> lock(m_mutex);
    Entry e;
    if constexpr (requires(const Spec& s, const std::vector<Shape>& in) { s.template build<float, Device>(in, ""); }) {
      // a layer of several inputs (merge layers): models only
      e.build_f = [](const LayerConfig& c, const std::vector<Shape>& in) { return build_spec<Spec, float>(c, in); };
      e.build_d = [](const LayerConfig& c, const std::vector<Shape>& in) { return build_spec<Spec, double>(c, in); };
    } else {
      e.f = [](Sequential<float, Device>& m, const LayerConfig& c, std::int64_t max) { append_spec<Spec>(m, c, max); };
      e.d = [](Sequential<double, Device>& m, const LayerConfig& c, std::int64_t max) { append_spec<Spec>(m, c, max); };
      e.build_f = [](const LayerConfig& c, const std::vector<Shape>& in) { return build_spec<Spec, float>(c, in); };
      e.build_d = [](const LayerConfig& c, const std::vector<Shape>& in) { return build_spec<Spec, double>(c, in); };
    }
    m_entries[type] = std::move(e);
  }
  bool contains(const std::string& type) const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_entries.count(type) != 0;
  }
  /// Appends the layer described by c to m; throws for an unknown type, and before allocating
  /// when the layer would have more than max_values parameters and state values (a damaged
  /// file must not make the loader allocate terabytes).
  template <class T>
  void append(Sequential<T, Device>& m, const LayerConfig& c, std::int64_t max_values) const {
    Entry e;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      auto it = m_entries.find(c.type);
      HEPNN_CHECK(it != m_entries.end(), "layer '", c.name, "': unknown layer type '", c.type,
                  "' (register it with io::register_layer)");
      e = it->second;
    }
    HEPNN_CHECK(e.f, "layer '", c.name, "': ", c.type, " takes several inputs; it can only be part of a Model");
    if constexpr (std::is_same_v<T, float>) e.f(m, c, max_values);
    else e.d(m, c, max_values);
  }

  /// The layer described by c for inputs of shapes `in` (functional models on this device).
  template <class T>
  std::unique_ptr<Layer<T, Device>> build(const LayerConfig& c, const std::vector<Shape>& in) const {
    Entry e;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      auto it = m_entries.find(c.type);
      HEPNN_CHECK(it != m_entries.end(), "layer '", c.name, "': unknown layer type '", c.type, "' on ", Device::name,
                  " (register it with io::register_layer<Spec, ", Device::name, ">)");
      e = it->second;
    }
    if constexpr (std::is_same_v<T, float>) return e.build_f(c, in);
    else return e.build_d(c, in);
  }

 private:
  template <class Spec, class T>
  static std::unique_ptr<Layer<T, Device>> build_spec(const LayerConfig& c, const std::vector<Shape>& in) {
    return hepnn::detail::build_layer<T, Device>(Spec::from_config(c), in, c.name);
  }
  template <class Spec, class T>
  static void append_spec(Sequential<T, Device>& m, const LayerConfig& c, std::int64_t max_values) {
    const Spec spec = Spec::from_config(c);
    const auto probe = hepnn::detail::build_layer<T, Device>(spec, {m.output_shape()}, c.name);  // no parameter memory yet
    HEPNN_CHECK(probe->num_params() + probe->num_state() <= max_values, c.type, " '", c.name, "': ",
                probe->num_params() + probe->num_state(), " parameters cannot fit in the file");
    m.add(spec);
  }
  struct Entry {
    std::function<void(Sequential<float, Device>&, const LayerConfig&, std::int64_t)> f;
    std::function<void(Sequential<double, Device>&, const LayerConfig&, std::int64_t)> d;
    std::function<std::unique_ptr<Layer<float, Device>>(const LayerConfig&, const std::vector<Shape>&)> build_f;
    std::function<std::unique_ptr<Layer<double, Device>>(const LayerConfig&, const std::vector<Shape>&)> build_d;
  };
  mutable std::mutex m_mutex;
  std::map<std::string, Entry> m_entries;
};

using LayerRegistry = BasicLayerRegistry<cpu>;

/// The process-wide registry of a device, filled with hepnn's own layers on first use.
template <class Device = cpu>
BasicLayerRegistry<Device>& layer_registry() {
  static BasicLayerRegistry<Device> reg;
  static const bool filled = [] {
    BasicLayerRegistry<Device>& r = reg;
    r.template add<Dense>("Dense");
    r.template add<ReLU>("ReLU");
    r.template add<SELU>("SELU");
    r.template add<Tanh>("Tanh");
    r.template add<Sigmoid>("Sigmoid");
    r.template add<Softplus>("Softplus");
    r.template add<GELU>("GELU");
    r.template add<LeakyReLU>("LeakyReLU");
    r.template add<ELU>("ELU");
    r.template add<Softmax>("Softmax");
    r.template add<LogSoftmax>("LogSoftmax");
    r.template add<Dropout>("Dropout");
    r.template add<Flatten>("Flatten");
    r.template add<Conv2D>("Conv2D");
    r.template add<MaxPool2D>("MaxPool2D");
    r.template add<AvgPool2D>("AvgPool2D");
    r.template add<GlobalAveragePooling2D>("GlobalAveragePooling2D");
    r.template add<BatchNormalization>("BatchNormalization");
    r.template add<Reshape>("Reshape");
    r.template add<Permute>("Permute");
    r.template add<Concatenate>("Concatenate");
    r.template add<Add>("Add");
    r.template add<Subtract>("Subtract");
    r.template add<Multiply>("Multiply");
    r.template add<Average>("Average");
    r.template add<GaussianSample>("GaussianSample");
    r.template add<LayerNormalization>("LayerNormalization");
    r.template add<LSTM>("LSTM");
    r.template add<GRU>("GRU");
    r.template add<MultiHeadAttention>("MultiHeadAttention");
    r.template add<MaskFromValue>("MaskFromValue");
    r.template add<MaskFromLengths>("MaskFromLengths");
    r.template add<ApplyMask>("ApplyMask");
    r.template add<GlobalSumPooling1D>("GlobalSumPooling1D");
    r.template add<GlobalAveragePooling1D>("GlobalAveragePooling1D");
    r.template add<GlobalMaxPooling1D>("GlobalMaxPooling1D");
    return true;
  }();
  (void)filled;
  return reg;
}

/// Registers a user's layer spec (with `static Spec from_config(const LayerConfig&)`) under the
/// type name its layer reports, for models on `Device` (call it once more with `cuda` to load
/// files with that layer into GPU models).
template <class Spec, class Device = cpu>
void register_layer(const std::string& type) {
  layer_registry<Device>().template add<Spec>(type);
}

}  // namespace hepnn::io
