/// @file io/keras_graph.hpp
/// @brief The graph of a Keras model as a hepnn Model (part of io/keras.hpp; include that).
///
/// Layers are made in Keras' own order: each pass over the layer list makes every call whose
/// inputs exist, until all are made (shared layers can be called on tensors made later in the
/// list). Each Keras tensor is held in the Keras layout, the channels-first layout, or both;
/// a Permute is added where a layer needs the other one (io/keras_layers.hpp).
#pragma once
#include "hepnn/core/config.hpp"
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "hepnn/io/keras.hpp"

namespace hepnn::inline HEPNN_ABI::io {
namespace keras_detail {

/// A Keras tensor of the graph being built.
struct KTensor {
  Shape keras;            // per-sample shape as Keras has it
  SymbolicTensor kl, cf;  // held channels-last and/or channels-first (rank 1: both the same)
  std::string base;       // the Keras layer (or input) that made it: names the Permutes
};

/// A reference to a Keras tensor in a config: layer, node, tensor.
struct Ref {
  std::string layer;
  std::int64_t node = 0, tensor = 0;
};

inline Ref ref_from(const json& r, const std::string& where) {
  if (r.is_object() && r.contains("config") && r["config"].contains("keras_history"))  // Keras 3 __keras_tensor__
    return ref_from(r["config"]["keras_history"], where);
  HEPNN_CHECK(r.is_array() && r.size() >= 3 && r[0].is_string() && r[1].is_number_integer() && r[2].is_number_integer(),
              where, ": a tensor reference must be [layer, node, tensor], got ", r.dump().substr(0, 200));
  return {r[0].get<std::string>(), r[1].get<std::int64_t>(), r[2].get<std::int64_t>()};
}

/// The tensors one inbound node passes to its layer (Keras 2: a list of references with call
/// arguments; Keras 3: {"args": [...], "kwargs": {...}} with tensors anywhere in args).
inline std::vector<Ref> node_inputs(const json& node, const std::string& where) {
  std::vector<Ref> out;
  if (node.is_object()) {
    std::function<void(const json&)> collect = [&](const json& a) {
      if (a.is_object() && a.value("class_name", std::string()) == "__keras_tensor__") out.push_back(ref_from(a, where));
      else if (a.is_array())
        for (const json& x : a) collect(x);
    };
    HEPNN_CHECK(node.contains("args"), where, ": an inbound node without 'args'");
    collect(node["args"]);
    if (node.contains("kwargs") && node["kwargs"].is_object())
      for (const auto& [k, v] : node["kwargs"].items())
        HEPNN_CHECK(k == "training" || (k == "mask" && v.is_null()), where, ": call argument '", k,
                    "' is not supported");
    return out;
  }
  HEPNN_CHECK(node.is_array(), where, ": an inbound node must be a list");
  for (const json& r : node) {
    out.push_back(ref_from(r, where));
    if (r.size() > 3 && r[3].is_object())
      for (const auto& [k, v] : r[3].items())
        HEPNN_CHECK(k == "training", where, ": call argument '", k, "' is not supported");
  }
  return out;
}

/// Whether references to a layer's calls count one call before the model's own: a model used as a
/// layer starts with the call on its own Input (Keras 2: Sequential and functional models;
/// Keras 3: functional models only).
inline bool starts_with_own_call(const json& entry, bool keras3) {
  const std::string cls = entry.value("class_name", std::string());
  return keras3 ? cls == "Functional" || cls == "Model" : is_model_class(cls);
}

template <class T, class Device>
class GraphBuilder {
 public:
  GraphBuilder(std::string file, std::int64_t budget, KerasOptions o)
      : m_file(std::move(file)), m_budget(budget), m_options(o) {}

  /// The hepnn model of a Keras model entry ({"class_name", "config"}), weights set.
  Model<T, Device> build(const json& model, WeightSource& weights, int depth) {
    const std::string cls = detail::field<std::string>(model, "class_name", m_file);
    const json& c = model.contains("config") ? model["config"] : json();
    const std::string name = c.is_object() ? c.value("name", std::string("model")) : "model";
    const std::string where = "file '" + m_file + "': model '" + name + "' (" + cls + ")";
    HEPNN_CHECK(depth < 8, where, ": models nested more than 8 deep");
    HEPNN_CHECK(is_model_class(cls), where, ": the file's model is a ", cls,
                "; hepnn imports Sequential and functional Keras models");
    HEPNN_CHECK(c.is_object() && c.contains("layers") && c["layers"].is_array(), where, ": the config has no layer list");
    Level lv;
    lv.weights = &weights;
    lv.where = where;
    const json& layers = c["layers"];
    if (cls == "Sequential") sequential(lv, layers);
    else functional(lv, c, depth);
    std::vector<SymbolicTensor> ins, outs;
    for (auto& t : lv.inputs) ins.push_back(t.kl);
    for (const Ref& r : lv.outputs) outs.push_back(keras_layout(lv, tensor(lv, r, where)));
    Model<T, Device> m(ins, outs, name);
    assign_weights(m, lv);
    for (auto& [input, t] : lv.transforms) {
      HEPNN_CHECK(!lv.raw_used.count(input), where, ": input '", input, "' goes through a Normalization and also, ",
                  "raw, into another layer; hepnn makes the Normalization the input's stored standardisation, so ",
                  "every layer must take the normalised input");
      m.set_input_transform(input, std::move(t));
    }
    for (const std::string& n : lv.frozen) m.layer(n).set_trainable(false);
    if (c.contains("trainable") && c["trainable"] == false) m.set_trainable(false);
    return m;
  }

 private:
  struct Level {
    WeightSource* weights = nullptr;
    std::string where;
    std::vector<KTensor> inputs;
    std::vector<Ref> outputs;
    std::map<std::string, std::vector<KTensor>> made;        // Keras layer -> its calls' outputs
    std::map<std::string, std::vector<Array>> params, state;  // hepnn layer -> arrays
    std::map<std::string, Model<T, Device>> models;           // Keras models used as layers
    std::set<std::string> names, frozen;
    std::map<std::string, data::InputTransform<T>> transforms;  // input -> its Keras Normalization
    std::set<std::string> raw_used;                              // inputs other layers take as they are
  };

  std::string unique(Level& lv, const std::string& n) {
    std::string u = n;
    for (int k = 2; lv.names.count(u); ++k) u = n + "_" + std::to_string(k);
    lv.names.insert(u);
    return u;
  }
  SymbolicTensor call(const LayerConfig& c, std::vector<SymbolicTensor> xs) {
    return graph::call(std::make_shared<detail::ConfigDef>(c, m_budget), std::move(xs));
  }
  /// The tensor in the Keras layout (a Permute from channels-first when it is not held so).
  SymbolicTensor keras_layout(Level& lv, KTensor& t) {
    if (!t.kl.valid()) {
      LayerConfig p = config_of("Permute", Permute{perm_to_last(t.cf.shape().rank())});
      p.name = unique(lv, t.base + "_channels_last");
      t.kl = call(p, {t.cf});
    }
    return t.kl;
  }
  SymbolicTensor channels_first(Level& lv, KTensor& t) {
    if (!t.cf.valid()) {
      HEPNN_CHECK(t.kl.shape().rank() >= 2, lv.where, ": layer '", t.base, "' gives per-sample shape ",
                  t.kl.shape().str(), ", which has no channel axis");
      LayerConfig p = config_of("Permute", Permute{perm_to_first(t.kl.shape().rank())});
      p.name = unique(lv, t.base + "_channels_first");
      t.cf = call(p, {t.kl});
    }
    return t.cf;
  }
  KTensor& tensor(Level& lv, const Ref& r, const std::string& where) {
    auto it = lv.made.find(r.layer);
    HEPNN_CHECK(it != lv.made.end(), where, ": refers to layer '", r.layer, "', which is not made (yet)");
    HEPNN_CHECK(r.node >= 0 && r.node < std::int64_t(it->second.size()) && r.tensor == 0, where, ": refers to call ",
                r.node, " output ", r.tensor, " of layer '", r.layer, "', which has ", it->second.size(),
                " calls of one output");
    return it->second[std::size_t(r.node)];
  }

  KTensor add_input(Level& lv, const json& c, const std::string& where) {
    const std::string n = detail::field<std::string>(c, "name", where);
    KTensor t;
    t.keras = input_shape(c, where);
    t.kl = Input(n, t.keras);
    if (t.keras.rank() == 1) t.cf = t.kl;
    t.base = n;
    lv.names.insert(n);
    lv.inputs.push_back(t);
    return t;
  }

  /// Applies layer entry k of this level to `ins`: a model used as a layer, or a translation.
  KTensor apply(Level& lv, std::size_t k, const json& entry, std::vector<KTensor*> ins, bool is_output,
                int depth) {
    const std::string cls = detail::field<std::string>(entry, "class_name", lv.where);
    const json& c = entry.contains("config") ? entry["config"] : json();
    const std::string name = detail::field<std::string>(c, "name", lv.where + ": a layer");
    const std::string where = "file '" + m_file + "': layer '" + name + "' (" + cls + ")";
    if (cls == "Normalization") return normalization(lv, k, entry, name, ins, depth, where);
    for (KTensor* t : ins)
      if (is_input(lv, *t)) lv.raw_used.insert(t->base);
    if (is_model_class(cls)) {
      auto it = lv.models.find(name);
      if (it == lv.models.end()) {
        auto src = lv.weights->nested(k, entry, where);
        it = lv.models.emplace(name, build(entry, *src, depth + 1)).first;
        lv.names.insert(name);
      }
      std::vector<SymbolicTensor> xs;
      for (KTensor* t : ins) xs.push_back(keras_layout(lv, *t));
      KTensor out;
      out.kl = it->second(xs);
      out.keras = out.kl.shape();
      if (out.keras.rank() == 1) out.cf = out.kl;
      out.base = name;
      return out;
    }
    LayerIn in;
    in.cls = cls;
    in.name = name;
    in.where = where;
    in.config = &c;
    in.options = m_options;
    for (KTensor* t : ins) in.shapes.push_back(t->keras);
    HEPNN_CHECK(!ins.empty(), where, ": called without inputs");
    if (!lv.params.count(name) && !lv.state.count(name) && !lv.made.count(name)) in.weights = lv.weights->arrays(k, entry, where);
    else if (weight_count(entry, where) > 0) in.weights = m_shared.at(lv.where + "/" + name);  // a shared layer
    Translation t = translate(in);
    // the layout of the inputs
    Layout lay = t.needs;
    if (t.any_layout) {  // the layout every input is held in already, the Keras one when both are
      bool all_kl = true, all_cf = true;
      for (KTensor* x : ins) all_kl &= x->kl.valid(), all_cf &= x->cf.valid();
      lay = all_kl || !all_cf ? Layout::keras : Layout::channels_first;
    }
    std::vector<SymbolicTensor> xs;
    for (KTensor* x : ins) xs.push_back(lay == Layout::keras ? keras_layout(lv, *x) : channels_first(lv, *x));
    const Layout gives = t.any_layout ? lay : t.gives;
    // output shapes through the steps (probes), so that an output can end in the Keras layout
    std::vector<Shape> shapes;
    for (auto& x : xs) shapes.push_back(x.shape());
    for (Step& s : t.steps) {
      s.config.name = name;
      shapes = {layer_registry<cpu>().template build<double>(s.config, shapes)->output_shape()};
    }
    if (gives == Layout::channels_first && shapes[0].rank() >= 2 && is_output)
      t.steps.push_back({config_of("Permute", Permute{perm_to_last(shapes[0].rank())}), "", {}, {}});
    const bool ends_keras = gives == Layout::keras || (is_output && shapes[0].rank() >= 2);
    // make the layers; the last takes the Keras name
    const bool first_call = !lv.made.count(name);
    SymbolicTensor y;
    for (std::size_t i = 0; i < t.steps.size(); ++i) {
      Step& s = t.steps[i];
      const std::string n = i + 1 == t.steps.size() ? name : name + "_" + s.tag;
      const std::string key = lv.where + "/" + name + "/" + std::to_string(i);
      if (!m_defs.count(key)) {  // a shared layer's later calls reuse the layers of its first
        HEPNN_CHECK(!first_call || i + 1 != t.steps.size() || !lv.names.count(n), where, ": two layers are named '", n,
                    "'");
        s.config.name = first_call && i + 1 == t.steps.size() ? n : unique(lv, n);
        lv.names.insert(s.config.name);
        if (!s.params.empty()) lv.params[s.config.name] = s.params;
        if (!s.state.empty()) lv.state[s.config.name] = s.state;
        if (!s.params.empty() && c.contains("trainable") && c["trainable"] == false) lv.frozen.insert(s.config.name);
        m_defs[key] = std::make_shared<detail::ConfigDef>(s.config, m_budget);
      }
      auto def = m_defs.at(key);
      y = graph::call(def, i == 0 ? xs : std::vector<SymbolicTensor>{y});
    }
    if (first_call && weight_count(entry, where) > 0) m_shared[lv.where + "/" + name] = in.weights;
    KTensor out;
    out.base = name;
    if (ends_keras) {
      out.kl = y;
      out.keras = y.shape();
      if (y.shape().rank() == 1) out.cf = y;
    } else {
      out.cf = y;
      Shape s;
      for (int a = 1; a < y.shape().rank(); ++a) s.push_back(y.shape()[a]);
      s.push_back(y.shape()[0]);
      out.keras = s;
    }
    return out;
  }

  static bool is_input(const Level& lv, const KTensor& t) {
    for (const KTensor& i : lv.inputs)
      if (i.base == t.base) return true;
    return false;
  }

  /// Keras' Normalization, (x - mean) / max(sqrt(variance), 1e-7) per feature (the last axis) or
  /// over all elements (axis None), on a model input: it becomes that input's stored
  /// InputTransform, which predict, fit and the ONNX export apply. Anywhere else it is refused.
  KTensor normalization(Level& lv, std::size_t k, const json& entry, const std::string& name,
                        std::vector<KTensor*> ins, int depth, const std::string& where) {
    const json& c = entry["config"];
    HEPNN_CHECK(ins.size() == 1 && is_input(lv, *ins[0]) && depth == 0, where,
                ": a Normalization is imported only directly on an input of the outer model, where it becomes the "
                "input's stored standardisation; here it ",
                depth > 0 ? "is inside a model used as a layer" : "follows layer '" + ins[0]->base + "'");
    const std::string input = ins[0]->base;
    HEPNN_CHECK(!lv.transforms.count(input), where, ": input '", input, "' has a Normalization already");
    HEPNN_CHECK(!(c.contains("invert") && c["invert"] == true), where, ": option invert=True is not supported");
    const Shape& shape = ins[0]->keras;
    const json axis = c.contains("axis") ? c["axis"] : json(-1);
    std::vector<std::int64_t> axes;
    if (axis.is_number_integer()) axes.push_back(axis.get<std::int64_t>());
    else if (axis.is_array())
      for (const json& a : axis) {
        HEPNN_CHECK(a.is_number_integer(), where, ": option axis=", axis.dump(), " is not a list of integers");
        axes.push_back(a.get<std::int64_t>());
      }
    else HEPNN_CHECK(axis.is_null(), where, ": option axis=", axis.dump(), " is not understood");
    // Keras counts the batch axis: the last feature axis is -1 or the per-sample rank
    const bool per_feature = axes.size() == 1 && (axes[0] == -1 || axes[0] == shape.rank());
    HEPNN_CHECK(per_feature || axes.empty(), where, ": option axis=", axis.dump(), " is not supported (hepnn takes ",
                "the last axis, -1, or None)");
    auto values = [&](const json& v, const char* what) {  // mean/variance given in the config: numbers, nested lists
      std::vector<double> out;
      std::function<void(const json&)> collect = [&](const json& x) {
        if (x.is_array())
          for (const json& e : x) collect(e);
        else {
          HEPNN_CHECK(x.is_number(), where, ": option ", what, " holds ", x.dump().substr(0, 40), ", not a number");
          out.push_back(x.get<double>());
        }
      };
      collect(v);
      return out;
    };
    std::vector<double> mean, var;
    if (c.contains("mean") && !c["mean"].is_null()) {
      HEPNN_CHECK(c.contains("variance") && !c["variance"].is_null(), where, ": option mean without variance");
      mean = values(c["mean"], "mean");
      var = values(c["variance"], "variance");
    } else {
      const std::vector<Array> w = lv.weights->arrays(k, entry, where);
      HEPNN_CHECK(w.size() >= 2, where, ": the file has ", w.size(), " weight arrays for it (mean, variance, count); ",
                  "was the layer adapted before saving?");
      mean = w[0].values;
      var = w[1].values;
    }
    const std::int64_t features = per_feature ? shape[shape.rank() - 1] : 1;
    HEPNN_CHECK(std::int64_t(mean.size()) == features && std::int64_t(var.size()) == features, where, ": ",
                mean.size(), " means and ", var.size(), " variances for ", features,
                per_feature ? " features (the last axis of input shape " : " value (axis None, input shape ",
                shape.str(), ")");
    data::InputTransform<T> t;
    t.kind = "standardize";
    const std::int64_t row = shape.size();
    for (std::int64_t j = 0; j < (per_feature ? row : 1); ++j) {
      const std::size_t f = std::size_t(j % features);
      HEPNN_CHECK(std::isfinite(mean[f]) && std::isfinite(var[f]) && var[f] >= 0, where, ": feature ", f,
                  " has mean ", mean[f], " and variance ", var[f]);
      t.shift.push_back(T(mean[f]));
      t.scale.push_back(T(1.0 / std::max(std::sqrt(var[f]), 1e-7)));  // Keras: backend.epsilon()
    }
    lv.transforms[input] = std::move(t);
    KTensor out = *ins[0];  // the input itself, standardised by the model
    out.base = name;
    return out;
  }

  void sequential(Level& lv, const json& layers) {
    KTensor cur;
    bool have = false;
    for (std::size_t k = 0; k < layers.size(); ++k) {
      const json& e = layers[k];
      const std::string w = lv.where + ": layer " + std::to_string(k);
      const std::string cls = detail::field<std::string>(e, "class_name", w);
      HEPNN_CHECK(e.contains("config") && e["config"].is_object(), w, ": no config");
      if (cls == "InputLayer") {
        HEPNN_CHECK(!have, w, ": an InputLayer after the first layer");
        cur = add_input(lv, e["config"], w);
        have = true;
        continue;
      }
      if (!have) {  // Keras 2: the first layer carries batch_input_shape
        json ic = e["config"];
        ic["name"] = ic.value("name", std::string("input")) + "_input";
        cur = add_input(lv, ic, w);
        have = true;
      }
      const bool last = k + 1 == layers.size();
      KTensor out = apply(lv, k, e, {&cur}, last, 0);
      lv.made[out.base].push_back(out);
      cur = lv.made[out.base].back();
      if (last) lv.outputs.push_back({out.base, 0, 0});
    }
    HEPNN_CHECK(have && !lv.outputs.empty(), lv.where, ": the model has no layers");
  }

  void functional(Level& lv, const json& c, int depth) {
    const json& layers = c["layers"];
    auto refs = [&](const char* key) {
      std::vector<Ref> out;
      HEPNN_CHECK(c.contains(key) && c[key].is_array() && !c[key].empty(), lv.where, ": '", key, "' is missing");
      const json& v = c[key];
      if (v[0].is_string()) out.push_back(ref_from(v, lv.where));  // Keras 3: one tensor, not a list
      else
        for (const json& r : v) out.push_back(ref_from(r, lv.where));
      return out;
    };
    const std::vector<Ref> in_refs = refs("input_layers");
    lv.outputs = refs("output_layers");
    std::set<std::string> output_layers;
    for (const Ref& r : lv.outputs) output_layers.insert(r.layer);
    // inputs first, in the model's order
    std::map<std::string, const json*> by_name;
    for (const json& e : layers) {
      HEPNN_CHECK(e.contains("config") && e["config"].is_object(), lv.where, ": a layer without config");
      const std::string n = e.contains("name") ? e["name"].get<std::string>() : e["config"].value("name", std::string());
      HEPNN_CHECK(by_name.emplace(n, &e).second, lv.where, ": two layers are named '", n, "'");
    }
    for (const Ref& r : in_refs) {
      auto it = by_name.find(r.layer);
      HEPNN_CHECK(it != by_name.end() && it->second->value("class_name", std::string()) == "InputLayer", lv.where, ": input '", r.layer,
                  "' is not an InputLayer of the model");
      lv.made[r.layer] = {add_input(lv, (*it->second)["config"], lv.where)};
    }
    // Keras 3 writes inbound nodes as {"args": ..., "kwargs": ...}, Keras 2 as lists
    bool v3 = false;
    for (const json& e : layers)
      if (e.contains("inbound_nodes") && e["inbound_nodes"].is_array())
        for (const json& n : e["inbound_nodes"]) v3 |= n.is_object();
    std::vector<std::size_t> done(layers.size(), 0);
    for (bool progress = true; progress;) {
      progress = false;
      for (std::size_t k = 0; k < layers.size(); ++k) {
        const json& e = layers[k];
        const std::string cls = detail::field<std::string>(e, "class_name", lv.where);
        if (cls == "InputLayer") continue;
        const std::string n = e["config"].value("name", std::string());
        const std::string w = "file '" + m_file + "': layer '" + n + "' (" + cls + ")";
        const json& nodes = e.contains("inbound_nodes") ? e["inbound_nodes"] : json::array();
        HEPNN_CHECK(nodes.is_array(), w, ": 'inbound_nodes' must be a list");
        while (done[k] < nodes.size()) {
          std::vector<Ref> rs = node_inputs(nodes[done[k]], w);
          bool ready = true;
          for (Ref& r : rs) {
            auto src = by_name.find(r.layer);
            HEPNN_CHECK(src != by_name.end(), w, ": takes the output of layer '", r.layer, "', which is not in the model");
            if (starts_with_own_call(*src->second, v3) && r.node > 0) --r.node;
            ready &= lv.made.count(r.layer) && r.node < std::int64_t(lv.made[r.layer].size());
          }
          if (!ready) break;
          std::vector<KTensor*> ins;
          for (const Ref& r : rs) ins.push_back(&tensor(lv, r, w));
          const bool is_out = output_layers.count(n) != 0;
          KTensor out = apply(lv, k, e, ins, is_out, depth);
          lv.made[n].push_back(out);
          ++done[k];
          progress = true;
        }
      }
    }
    for (std::size_t k = 0; k < layers.size(); ++k) {
      const json& nodes = layers[k].contains("inbound_nodes") ? layers[k]["inbound_nodes"] : json::array();
      HEPNN_CHECK(layers[k].value("class_name", std::string()) == "InputLayer" || done[k] == nodes.size(), lv.where, ": layer '",
                  layers[k]["config"].value("name", std::string()),
                  "' takes tensors that are never made (a cycle, or a missing layer)");
    }
    for (Ref& r : lv.outputs) {
      auto src = by_name.find(r.layer);
      HEPNN_CHECK(src != by_name.end(), lv.where, ": output layer '", r.layer, "' is not in the model");
      if (starts_with_own_call(*src->second, v3) && r.node > 0) --r.node;
    }
  }

  void assign_weights(Model<T, Device>& m, Level& lv) {
    const auto& core = m.core();
    std::vector<T> params = core.params.to_vector(), state = core.state.to_vector();
    std::size_t used = 0;
    for (std::size_t i = 0; i < core.layers.size(); ++i) {
      if (!core.owned[i]) continue;
      const std::string& n = core.topo.layers[i].name;
      auto put = [&](const std::vector<ParamInfo>& infos, const std::vector<Array>& arrays, std::vector<T>& dst,
                     std::int64_t off) {
        HEPNN_CHECK(infos.size() == arrays.size(), "file '", m_file, "': layer '", n, "' has ", infos.size(),
                    " arrays, the file ", arrays.size());
        for (std::size_t a = 0; a < infos.size(); ++a) {
          HEPNN_CHECK(std::int64_t(arrays[a].values.size()) == infos[a].shape.size(), "file '", m_file, "': layer '",
                      n, "': ", infos[a].name, " has ", arrays[a].values.size(), " values, expected ",
                      infos[a].shape.size());
          for (std::size_t v = 0; v < arrays[a].values.size(); ++v) dst[std::size_t(off) + v] = T(arrays[a].values[v]);
          off += infos[a].shape.size();
        }
      };
      auto p = lv.params.find(n);
      auto s = lv.state.find(n);
      if (p != lv.params.end()) put(core.layers[i]->params(), p->second, params, core.param_offset[i]), ++used;
      if (s != lv.state.end()) put(core.layers[i]->state_params(), s->second, state, core.state_offset[i]), ++used;
    }
    HEPNN_CHECK(used == lv.params.size() + lv.state.size(), lv.where, ": ", lv.params.size() + lv.state.size() - used,
                " layers with weights are not on the way to the outputs");
    auto& mc = const_cast<graph::GraphCore<T, Device>&>(core);
    detail::copy_to_model(mc.params, params);
    detail::copy_to_model(mc.state, state);
  }

  std::string m_file;
  std::int64_t m_budget;
  KerasOptions m_options;
  std::map<std::string, std::shared_ptr<detail::ConfigDef>> m_defs;
  std::map<std::string, std::vector<Array>> m_shared;
};

/// Reads the whole file, or throws naming it.
inline std::string file_head(const std::string& path, std::size_t n) {
  std::ifstream f(path, std::ios::binary);
  HEPNN_CHECK(f.good(), "file '", path, "': cannot open it (missing or not readable)");
  std::string s(n, '\0');
  f.read(s.data(), std::streamsize(n));
  s.resize(std::size_t(f.gcount()));
  return s;
}

inline json parse_config(const std::string& text, const std::string& where) {
  json j = json::parse(text, nullptr, false);
  HEPNN_CHECK(!j.is_discarded() && j.is_object(), where, ": the model config is not a JSON object");
  return j;
}

/// load_keras without the translation of JSON type errors.
template <class T, class Device>
Model<T, Device> load_keras_file(const std::string& path, const KerasOptions& options) {
  const std::string head = file_head(path, 8);
  const std::int64_t budget = std::max<std::int64_t>(1024, detail::file_size(path));
  GraphBuilder<T, Device> builder(path, budget, options);
  if (head.rfind("PK", 0) == 0) {  // a .keras archive
    const ZipArchive zip(path);
    for (const char* m : {"config.json", "model.weights.h5"})
      HEPNN_CHECK(zip.contains(m), "file '", path, "': the archive has no ", m, " (not a Keras 3 .keras file?)");
    const std::vector<unsigned char> cfg = zip.read("config.json");
    const json model = parse_config(std::string(cfg.begin(), cfg.end()), "file '" + path + "': config.json");
    const std::vector<unsigned char> w = zip.read("model.weights.h5");
    // HDF5 opens files by name: the weights go to a private temporary file, removed at once
    static std::atomic<unsigned> counter{0};
    const auto tmp = std::filesystem::temp_directory_path() /
                     ("hepnn-keras-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".h5");
    struct Remove {
      std::filesystem::path p;
      ~Remove() {
        std::error_code ec;
        std::filesystem::remove(p, ec);
      }
    } remove{tmp};
    {
      std::ofstream out(tmp, std::ios::binary);
      out.write(reinterpret_cast<const char*>(w.data()), std::streamsize(w.size()));
      HEPNN_CHECK(out.good(), "cannot write the temporary file '", tmp.string(), "'");
    }
    const h5::File f(tmp.string(), h5::File::Mode::read);
    const json& c = model.contains("config") ? model["config"] : json();
    HEPNN_CHECK(c.is_object() && c.contains("layers") && c["layers"].is_array(), "file '", path,
                "': config.json has no layer list");
    KerasV3Source src(f, "", c["layers"]);
    return builder.build(model, src, 0);
  }
  HEPNN_CHECK(head.rfind("\x89HDF", 0) == 0, "file '", path,
              "': is neither an HDF5 file (Keras .h5) nor a ZIP archive (Keras .keras)");
  const h5::File f(path, h5::File::Mode::read);
  HEPNN_CHECK(f.has_attribute("/", "model_config"), f.where("/"),
              "has no 'model_config' attribute: a weights-only file (save_weights)? hepnn needs the whole model "
              "(model.save)");
  const json model = parse_config(h5::read_any_string_attribute(f, "/", "model_config"), f.where("model_config"));
  HEPNN_CHECK(f.exists("model_weights"), f.where("model_weights"), "is missing (the model was saved without weights?)");
  H5Source src(f, "model_weights");
  return builder.build(model, src, 0);
}
}  // namespace keras_detail

/// Loads a Keras model (Keras 2 or 3 `.h5`, or a Keras 3 `.keras` archive) as an uncompiled
/// hepnn Model with Keras' weights. Inputs, outputs and layers keep their Keras names; inputs
/// take the data as Keras does (images as (H, W, C)). Anything hepnn cannot reproduce exactly
/// is a hepnn::Error naming the layer, its class and the option (docs/keras-onnx.md).
template <class T, class Device = cpu>
Model<T, Device> load_keras(const std::string& path, const KerasOptions& options = {}) {
  try {
    return keras_detail::load_keras_file<T, Device>(path, options);
  } catch (const json::exception& e) {  // a value of the wrong kind somewhere in the config
    throw Error("file '" + path + "': the Keras model config is malformed (" + e.what() + ")");
  }
}

}  // namespace hepnn::io
