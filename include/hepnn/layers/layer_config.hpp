/// @file layers/layer_config.hpp
/// @brief LayerConfig: a layer's type, name and options as a small key/value structure.
///
/// Every layer reports its options through Layer::config(); io/ turns the structure into JSON
/// for model files and turns it back into a spec through the layer registry (layers/registry.hpp).
/// No file format lives here, so layers stay free of JSON and HDF5.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "hepnn/core/error.hpp"

namespace hepnn::inline HEPNN_ABI {

/// One option value: a flag, an integer, a real, a word or a list of integers (kernel sizes).
using ConfigValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>>;

struct LayerConfig {
  std::string type;  // as Layer::type(): "Dense", "ReLU", ...
  std::string name;  // the layer's name in the model
  std::map<std::string, ConfigValue> options;

  bool has(const std::string& key) const { return options.count(key) != 0; }

  /// The option `key` as V (an integer is accepted where a real is asked for); throws naming
  /// the layer and the key when it is missing or of another kind.
  template <class V>
  V get(const std::string& key) const {
    auto it = options.find(key);
    HEPNN_CHECK(it != options.end(), type, " '", name, "': option '", key, "' is missing");
    if constexpr (std::is_same_v<V, double>)
      if (const auto* i = std::get_if<std::int64_t>(&it->second)) return double(*i);
    const V* v = std::get_if<V>(&it->second);
    HEPNN_CHECK(v != nullptr, type, " '", name, "': option '", key, "' has the wrong kind of value");
    return *v;
  }
  template <class V>
  V get(const std::string& key, const V& fallback) const {
    return has(key) ? get<V>(key) : fallback;
  }
};

namespace detail {
/// The LayerConfig of a layer spec (unnamed), for the importers that build layers through the
/// registry: its options() as a layer of double would record them.
template <class Spec>
LayerConfig config_of(const char* type, const Spec& s) {
  LayerConfig c{type, "", {}};
  if constexpr (requires { s.template options<double>(); }) c.options = s.template options<double>();
  else if constexpr (requires { s.options(); }) c.options = s.options();
  return c;
}
}  // namespace detail

}  // namespace hepnn
