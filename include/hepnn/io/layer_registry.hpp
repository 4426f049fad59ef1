/// @file io/layer_registry.hpp
/// @brief The registry from a layer's type name (Layer::type()) to the function that rebuilds
/// its spec from a LayerConfig and appends it to a model. Model files use it to load.
///
/// Adding a layer type to the file format (docs/file-format.md):
///   1. the layer overrides `LayerConfig config() const` and adds its options;
///   2. its spec gets `static Spec from_config(const LayerConfig&)`;
///   3. one line `reg.add<Spec>("TypeName");` in builtin_layers() below (or, for a user's own
///      layer, `io::register_layer<MySpec>("MyLayer")` before loading).
#pragma once
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/batchnorm.hpp"
#include "hepnn/layers/conv2d.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/dropout.hpp"
#include "hepnn/layers/flatten.hpp"
#include "hepnn/layers/layer_config.hpp"
#include "hepnn/layers/pooling.hpp"
#include "hepnn/layers/reshape.hpp"
#include "hepnn/train/sequential.hpp"

namespace hepnn::io {

/// Type name -> a function appending the rebuilt spec to a model, for float and double CPU models.
class LayerRegistry {
 public:
  template <class Spec>
  void add(const std::string& type) {
    std::lock_guard<std::mutex> lock(m_mutex);
    Entry e;
    e.f = [](Sequential<float, cpu>& m, const LayerConfig& c, std::int64_t max) { append_spec<Spec>(m, c, max); };
    e.d = [](Sequential<double, cpu>& m, const LayerConfig& c, std::int64_t max) { append_spec<Spec>(m, c, max); };
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
  void append(Sequential<T, cpu>& m, const LayerConfig& c, std::int64_t max_values) const {
    Entry e;
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      auto it = m_entries.find(c.type);
      HEPNN_CHECK(it != m_entries.end(), "layer '", c.name, "': unknown layer type '", c.type,
                  "' (register it with io::register_layer)");
      e = it->second;
    }
    if constexpr (std::is_same_v<T, float>) e.f(m, c, max_values);
    else e.d(m, c, max_values);
  }

 private:
  template <class Spec, class T>
  static void append_spec(Sequential<T, cpu>& m, const LayerConfig& c, std::int64_t max_values) {
    const Spec spec = Spec::from_config(c);
    const auto probe = spec.template build<T, cpu>(m.output_shape(), c.name);  // no parameter memory yet
    HEPNN_CHECK(probe->num_params() + probe->num_state() <= max_values, c.type, " '", c.name, "': ",
                probe->num_params() + probe->num_state(), " parameters cannot fit in the file");
    m.add(spec);
  }
  struct Entry {
    std::function<void(Sequential<float, cpu>&, const LayerConfig&, std::int64_t)> f;
    std::function<void(Sequential<double, cpu>&, const LayerConfig&, std::int64_t)> d;
  };
  mutable std::mutex m_mutex;
  std::map<std::string, Entry> m_entries;
};

/// The process-wide registry, filled with hepnn's own layers on first use.
inline LayerRegistry& layer_registry() {
  static LayerRegistry reg;
  static const bool filled = [] {
    LayerRegistry& r = reg;
    r.add<Dense>("Dense");
    r.add<ReLU>("ReLU");
    r.add<SELU>("SELU");
    r.add<Tanh>("Tanh");
    r.add<Sigmoid>("Sigmoid");
    r.add<Softplus>("Softplus");
    r.add<GELU>("GELU");
    r.add<LeakyReLU>("LeakyReLU");
    r.add<ELU>("ELU");
    r.add<Softmax>("Softmax");
    r.add<LogSoftmax>("LogSoftmax");
    r.add<Dropout>("Dropout");
    r.add<Flatten>("Flatten");
    r.add<Conv2D>("Conv2D");
    r.add<MaxPool2D>("MaxPool2D");
    r.add<AvgPool2D>("AvgPool2D");
    r.add<GlobalAveragePooling2D>("GlobalAveragePooling2D");
    r.add<BatchNormalization>("BatchNormalization");
    r.add<Reshape>("Reshape");
    return true;
  }();
  (void)filled;
  return reg;
}

/// Registers a user's layer spec (with `static Spec from_config(const LayerConfig&)`) under the
/// type name its layer reports.
template <class Spec>
void register_layer(const std::string& type) {
  layer_registry().add<Spec>(type);
}

}  // namespace hepnn::io
