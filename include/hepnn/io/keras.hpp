/// @file io/keras.hpp
/// @brief io::load_keras: a Keras model file as a trainable hepnn Model.
///
/// Reads Keras 2 HDF5 files (`model.save("m.h5")`: the `model_config` attribute and the
/// `model_weights` group; Keras 3 writes the same layout for ".h5") and Keras 3 `.keras`
/// archives (a ZIP of `config.json` and `model.weights.h5`). Sequential and functional models,
/// models used as layers, shared layers. What each layer becomes: io/keras_layers.hpp;
/// the supported classes and options: docs/keras-onnx.md.
///
/// The model takes its inputs as Keras does (images channels-last) and names its inputs, outputs
/// and layers as Keras named them. It comes back uncompiled: compile it to fine-tune.
#pragma once
#include "hepnn/core/config.hpp"
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "hepnn/io/graph_file.hpp"
#include "hepnn/io/hdf5_text.hpp"
#include "hepnn/io/keras_layers.hpp"
#include "hepnn/io/zip.hpp"

namespace hepnn::inline HEPNN_ABI::io {

namespace keras_detail {

inline bool is_model_class(const std::string& c) { return c == "Sequential" || c == "Functional" || c == "Model"; }

/// The number of weight arrays Keras stores for a layer entry, from its config.
inline std::size_t weight_count(const json& entry, const std::string& where) {
  const std::string cls = detail::field<std::string>(entry, "class_name", where);
  const json& c = entry.contains("config") ? entry["config"] : json::object();
  auto flag = [&](const char* k, bool fallback) { return c.contains(k) && c[k].is_boolean() ? c[k].get<bool>() : fallback; };
  if (cls == "Dense" || cls == "Conv1D" || cls == "Conv2D") return 1 + flag("use_bias", true);
  if (cls == "BatchNormalization") return std::size_t(2 + flag("scale", true) + flag("center", true));
  if (cls == "Normalization") return c.contains("mean") && !c["mean"].is_null() ? 0 : 3;  // mean, variance, count
  if (is_model_class(cls)) {
    std::size_t n = 0;
    if (c.contains("layers") && c["layers"].is_array())
      for (const json& l : c["layers"]) n += weight_count(l, where);
    return n;
  }
  return 0;  // layers without weights; an unsupported class is refused when it is translated
}

/// Keras 3's name for a layer in model.weights.h5: its class in snake case, numbered per class.
inline std::string snake_case(const std::string& cls) {
  std::string s;
  for (char ch : cls)
    if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_') s += ch;
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {  // "(.)([A-Z][a-z]+)" -> "\1_\2", then "([a-z])([A-Z])" -> "\1_\2"
    const bool upper = std::isupper(static_cast<unsigned char>(s[i]));
    const bool next_lower = i + 1 < s.size() && std::islower(static_cast<unsigned char>(s[i + 1]));
    if (i > 0 && upper && next_lower && out.back() != '_') out += '_';
    else if (i > 0 && upper && std::islower(static_cast<unsigned char>(s[i - 1]))) out += '_';
    out += char(std::tolower(static_cast<unsigned char>(s[i])));
  }
  return out;
}

/// Where the weights of one model (or of a model inside it) are.
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  /// The arrays of layer entry k of this model, in Keras' order.
  virtual std::vector<Array> arrays(std::size_t k, const json& entry, const std::string& where) = 0;
  /// The source of the model used as layer entry k.
  virtual std::unique_ptr<WeightSource> nested(std::size_t k, const json& entry, const std::string& where) = 0;
};

inline Array read_array(const h5::File& f, const std::string& path) {
  Array a;
  HEPNN_CHECK(f.exists(path), f.where(path), "the weight array is missing");
  a.values = f.read<double>(path, &a.dims);
  for (std::size_t i = 0; i < a.values.size(); ++i)
    HEPNN_CHECK(std::isfinite(a.values[i]), f.where(path), "holds a non-finite value at element ", i);
  return a;
}

/// A list of arrays handed out in order, as many as each layer entry has (a model used as a
/// layer in a Keras 2 file: its layers' weights are listed together, in order).
class ListSource final : public WeightSource {
 public:
  explicit ListSource(std::vector<Array> a) : m_arrays(std::move(a)) {}
  std::vector<Array> arrays(std::size_t, const json& entry, const std::string& where) override {
    const std::size_t n = weight_count(entry, where);
    HEPNN_CHECK(m_next + n <= m_arrays.size(), where, ": the file holds too few weight arrays for it (",
                m_arrays.size() - m_next, " left, it needs ", n, ")");
    std::vector<Array> out(m_arrays.begin() + std::ptrdiff_t(m_next), m_arrays.begin() + std::ptrdiff_t(m_next + n));
    m_next += n;
    return out;
  }
  std::unique_ptr<WeightSource> nested(std::size_t k, const json& entry, const std::string& where) override {
    return std::make_unique<ListSource>(arrays(k, entry, where));
  }

 private:
  std::vector<Array> m_arrays;
  std::size_t m_next = 0;
};

/// Keras 2 layout: model_weights/LAYER with the attribute weight_names.
class H5Source final : public WeightSource {
 public:
  H5Source(const h5::File& f, std::string root) : m_file(f), m_root(std::move(root)) {}
  std::vector<Array> arrays(std::size_t, const json& entry, const std::string& where) override {
    const std::string name = detail::field<std::string>(entry["config"], "name", where);
    const std::string group = m_root + "/" + name;
    std::vector<Array> out;
    if (!m_file.exists(group)) return out;
    for (const std::string& w : h5::read_string_list_attribute(m_file, group, "weight_names"))
      out.push_back(read_array(m_file, group + "/" + w));
    return out;
  }
  std::unique_ptr<WeightSource> nested(std::size_t k, const json& entry, const std::string& where) override {
    return std::make_unique<ListSource>(arrays(k, entry, where));
  }

 private:
  const h5::File& m_file;
  std::string m_root;
};

/// Keras 3 layout (model.weights.h5 of a .keras archive): PREFIX/layers/KEY/vars/I, where
/// key is the class in snake case, numbered per class in the order of the model's layers.
class KerasV3Source final : public WeightSource {
 public:
  KerasV3Source(const h5::File& f, std::string prefix, const json& layers) : m_file(f), m_prefix(std::move(prefix)) {
    std::map<std::string, int> used;
    for (const json& e : layers) {
      const std::string base = snake_case(e.value("class_name", std::string("layer")));
      const int n = used.count(base) ? ++used[base] : (used[base] = 0);
      m_keys.push_back(n == 0 ? base : base + "_" + std::to_string(n));
    }
  }
  std::vector<Array> arrays(std::size_t k, const json& entry, const std::string& where) override {
    const std::string group = m_prefix + "layers/" + m_keys.at(k) + "/vars";
    std::vector<Array> out;
    if (!m_file.exists(group)) return out;
    if (m_file.has_attribute(group, "name")) {  // Keras >= 3.4 records the layer's name: check the mapping
      const std::string saved = h5::read_any_string_attribute(m_file, group, "name");
      const std::string name = entry["config"].value("name", std::string());
      HEPNN_CHECK(saved == name, m_file.where(group), "holds the weights of layer '", saved, "', expected '", name,
                  "' (", where, ")");
    }
    for (std::size_t i = 0; m_file.exists(group + "/" + std::to_string(i)); ++i)
      out.push_back(read_array(m_file, group + "/" + std::to_string(i)));
    return out;
  }
  std::unique_ptr<WeightSource> nested(std::size_t k, const json& entry, const std::string& where) override {
    const json& c = entry["config"];
    HEPNN_CHECK(c.contains("layers") && c["layers"].is_array(), where, ": a model without a list of layers");
    return std::make_unique<KerasV3Source>(m_file, m_prefix + "layers/" + m_keys.at(k) + "/", c["layers"]);
  }

 private:
  const h5::File& m_file;
  std::string m_prefix;
  std::vector<std::string> m_keys;
};

/// A per-sample shape from Keras' batch_input_shape / batch_shape (the batch extent first).
inline Shape input_shape(const json& c, const std::string& where) {
  const json* s = nullptr;
  for (const char* k : {"batch_shape", "batch_input_shape"})
    if (c.contains(k) && c[k].is_array()) s = &c[k];
  HEPNN_CHECK(s != nullptr && !s->empty(), where, ": the input has no batch_shape (build the Keras model with an "
              "explicit keras.Input(shape=...))");
  HEPNN_CHECK(s->size() >= 2 && s->size() <= std::size_t(Shape::max_rank) + 1, where, ": input shape ", s->dump(),
              " has an unsupported rank");
  Shape out;
  for (std::size_t i = 1; i < s->size(); ++i) {
    HEPNN_CHECK((*s)[i].is_number_integer() && (*s)[i].get<std::int64_t>() > 0, where, ": input shape ", s->dump(),
                " has an unknown or invalid extent; hepnn needs fixed per-sample shapes");
    out.push_back(detail::bounded((*s)[i], where, "batch_shape"));
  }
  for (const char* k : {"sparse", "ragged"})
    HEPNN_CHECK(!(c.contains(k) && c[k] == true), where, ": ", k, " inputs are not supported");
  return out;
}

/// The channels-first extents of a channels-last shape, and back.
inline Shape to_channels_first(const Shape& s) {
  Shape o;
  o.push_back(s[s.rank() - 1]);
  for (int k = 0; k + 1 < s.rank(); ++k) o.push_back(s[k]);
  return o;
}
inline std::vector<std::int64_t> perm_to_first(int rank) {
  std::vector<std::int64_t> d{rank - 1};
  for (int k = 0; k + 1 < rank; ++k) d.push_back(k);
  return d;
}
inline std::vector<std::int64_t> perm_to_last(int rank) {
  std::vector<std::int64_t> d;
  for (int k = 1; k < rank; ++k) d.push_back(k);
  d.push_back(0);
  return d;
}

}  // namespace keras_detail
}  // namespace hepnn::io

#include "hepnn/io/keras_graph.hpp"
