/// @file io/graph_file.hpp
/// @brief Functional models (Model<T, Device>) in the HDF5 model file (format version 2).
///
/// model_config holds the graph: the inputs (name, shape), the distinct layers (name, config,
/// trainable; a model used as a layer as a nested model_config), the calls in execution order
/// with the tensors each takes, and the outputs. A tensor is named {"input": name} or
/// {"layer": name, "call": k} (the output of the layer's k-th call). Loading makes the calls in
/// the saved order, so the loaded model runs its layers in the same order, lays its parameters
/// out the same way and predicts bitwise the same. Arrays are stored per layer and parameter,
/// as for Sequential, a nested model's under a group of its name. Layout: docs/file-format.md.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "hepnn/graph/model.hpp"
#include "hepnn/io/model_file.hpp"

namespace hepnn::inline HEPNN_ABI::io {

namespace detail {

/// A layer of a loaded graph, rebuilt from its LayerConfig through the layer registry.
struct ConfigDef final : graph::LayerDef {
  ConfigDef(LayerConfig c, std::int64_t budget) : config(std::move(c)), max_values(budget) {}
  std::string stem() const override { return config.type; }
  std::string given_name() const override { return config.name; }
  std::unique_ptr<Layer<float, cpu>> build_float(const std::vector<Shape>& in, const std::string&) const override {
    return build<float>(in);
  }
  std::unique_ptr<Layer<double, cpu>> build_double(const std::vector<Shape>& in, const std::string&) const override {
    return build<double>(in);
  }
  const std::type_info& spec_type() const override { return typeid(ConfigDef); }
  template <class T>
  std::unique_ptr<Layer<T, cpu>> build(const std::vector<Shape>& in) const {
    auto l = layer_registry<cpu>().build<T>(config, in);
    // a damaged file must not make the loader allocate more than the file could hold
    HEPNN_CHECK(l->num_params() + l->num_state() <= max_values, config.type, " '", config.name, "': ",
                l->num_params() + l->num_state(), " parameters cannot fit in the file");
    return l;
  }
  LayerConfig config;
  std::int64_t max_values;
};

template <class T, class Device>
const graph::GraphCore<T, Device>& inner_core(const graph::GraphCore<T, Device>& c, std::size_t i) {
  return static_cast<const graph::SubmodelLayer<T, Device>&>(*c.layers[i]).core();
}

/// The graph of a model's core as JSON (no dtype: that is the file's).
template <class T, class Device>
json graph_to_json(const graph::GraphCore<T, Device>& c) {
  const graph::Topology& t = c.topo;
  auto ref = [&](std::size_t ti) -> json {
    const std::size_t call = t.producer[ti];
    if (call == graph::Topology::npos) {
      const auto k = std::size_t(std::find(t.input_tensors.begin(), t.input_tensors.end(), ti) - t.input_tensors.begin());
      return json{{"input", t.input_names.at(k)}};
    }
    const graph::LayerEntry& e = t.layers[t.calls[call].layer];
    const auto k = std::find(e.calls.begin(), e.calls.end(), call) - e.calls.begin();
    return json{{"layer", e.name}, {"call", k}};
  };
  json inputs = json::array(), layers = json::array(), calls = json::array(), outputs = json::array();
  for (std::size_t k = 0; k < t.input_tensors.size(); ++k) {
    inputs.push_back({{"name", t.input_names[k]}, {"shape", dims_of(t.tensors[t.input_tensors[k]]->shape)}});
  }
  for (std::size_t i = 0; i < t.layers.size(); ++i) {
    const Layer<T, Device>& l = *c.layers[i];
    check_name(t.layers[i].name);
    json e{{"name", t.layers[i].name}};
    if (c.owned[i]) {
      HEPNN_CHECK(layer_registry().contains(l.type()), "save_model: layer '", l.name(), "' of type '", l.type(),
                  "' is not in the file format's layer registry (layers/registry.hpp)");
      e["config"] = to_json(l.config());
      e["trainable"] = l.trainable();
    } else {
      e["model"] = graph_to_json(inner_core(c, i));
    }
    layers.push_back(std::move(e));
  }
  for (const graph::Call& call : t.calls) {
    json xs = json::array();
    for (std::size_t x : call.inputs) xs.push_back(ref(x));
    calls.push_back({{"layer", t.layers[call.layer].name}, {"inputs", xs}});
  }
  for (std::size_t ti : t.output_tensors) outputs.push_back(ref(ti));
  return json{{"class", "Model"}, {"name", c.name}, {"inputs", inputs}, {"layers", layers}, {"calls", calls},
              {"outputs", outputs}};
}

/// Calls fn(path, info, offset) for every parameter (state: every state value) of c's own
/// layers, and recursively of the models used as layers; offset is into c's (or the inner
/// core's) flat buffer, passed with the core.
template <class T, class Device, class F>
void for_each_array(const graph::GraphCore<T, Device>& c, const std::string& group, bool state, F&& fn) {
  for (std::size_t i = 0; i < c.layers.size(); ++i) {
    const std::string path = group + "/" + c.topo.layers[i].name;
    if (!c.owned[i]) {
      for_each_array(inner_core(c, i), path, state, fn);
      continue;
    }
    std::int64_t off = state ? c.state_offset[i] : c.param_offset[i];
    for (const ParamInfo& p : state ? c.layers[i]->state_params() : c.layers[i]->params()) {
      fn(c, path + "/" + p.name, p, off, i);
      off += p.shape.size();
    }
  }
}

/// Reads dataset `name` of shape p.shape, all finite, to dst.
template <class T>
void read_checked(const h5::File& f, const std::string& name, const ParamInfo& p, const std::string& layer, T* dst) {
  HEPNN_CHECK(f.exists(name), f.where(name), "missing (", p.name, " of layer '", layer, "', shape ", p.shape.str(), ")");
  std::vector<std::int64_t> dims;
  const std::vector<T> v = f.read<T>(name, &dims);
  HEPNN_CHECK(dims == dims_of(p.shape), f.where(name), "layer '", layer, "' expects ", p.name, " of shape ",
              p.shape.str(), ", the file has ", h5::shape_str(dims));
  for (std::size_t k = 0; k < v.size(); ++k)
    HEPNN_CHECK(std::isfinite(v[k]), f.where(name), "holds a non-finite value (", v[k], ") at element ", k);
  std::copy(v.begin(), v.end(), dst);
}

/// Host copies of the flat buffers of c and of every core inside it, by core.
template <class T, class Device>
using HostBuffers = std::map<const graph::GraphCore<T, Device>*, std::vector<T>>;

template <class T, class Device>
void write_arrays(h5::File& f, const std::string& group, const graph::GraphCore<T, Device>& root, bool state) {
  HostBuffers<T, Device> host;
  for_each_array(root, group, state, [&](const auto& c, const std::string& name, const ParamInfo& p, std::int64_t off,
                                         std::size_t) {
    auto it = host.find(&c);
    if (it == host.end()) it = host.emplace(&c, (state ? c.state : c.params).to_vector()).first;
    f.write<T>(name, dims_of(p.shape), it->second.data() + off);
  });
}

template <class T, class Device>
void read_arrays(const h5::File& f, const std::string& group, const graph::GraphCore<T, Device>& root, bool state) {
  HostBuffers<T, Device> host;
  for_each_array(root, group, state, [&](const auto& c, const std::string& name, const ParamInfo& p, std::int64_t off,
                                         std::size_t i) {
    auto it = host.find(&c);
    if (it == host.end()) it = host.emplace(&c, std::vector<T>(std::size_t((state ? c.state : c.params).size()), T(0))).first;
    read_checked(f, name, p, c.topo.layers[i].name, it->second.data() + off);
  });
  for (auto& [c, v] : host) {
    auto& core = const_cast<graph::GraphCore<T, Device>&>(*c);
    copy_to_model(state ? core.state : core.params, v);
  }
}

/// Where the parameter at `p` sits in the optimizer's state (segments in order), or -1 when
/// it is frozen.
template <class T>
std::int64_t optimizer_offset(const std::vector<graph::ParamSegment<T>>& segs, const T* p) {
  std::int64_t acc = 0;
  for (const auto& s : segs) {
    if (p >= s.params && p < s.params + s.size) return acc + (p - s.params);
    acc += s.size;
  }
  return -1;
}

/// Writes (or reads) every optimizer slot per layer and parameter, frozen ones left out.
template <class T, class Device>
void optimizer_arrays(const h5::File* in, h5::File* out, Model<T, Device>& m) {
  auto& opt = m.optimizer();
  const auto& segs = m.trainable_segments();
  for (std::size_t s = 0; s < opt.state().size(); ++s) {
    const std::string group = "optimizer/slot_" + std::to_string(s);
    std::vector<T> slot = opt.state()[s].to_vector();
    for_each_array(m.core(), group, false, [&](const auto& c, const std::string& name, const ParamInfo& p,
                                               std::int64_t off, std::size_t i) {
      const std::int64_t at = optimizer_offset(segs, c.params.data() + off);
      if (at < 0) return;
      if (out) out->write<T>(name, dims_of(p.shape), slot.data() + at);
      else read_checked(*in, name, p, c.topo.layers[i].name, slot.data() + at);
    });
    if (in) copy_to_model(opt.state()[s], slot);
  }
}

template <class T, class Device>
json model_training_json(const Model<T, Device>& m) {
  json tc = {{"seed", m.seed()}, {"compiled", m.compiled()}};
  if (!m.compiled()) return tc;
  tc["optimizer"] = to_json(m.optimizer().spec());
  json outs = json::array();
  for (std::size_t k = 0; k < m.num_outputs(); ++k) {
    const OutputOptions& o = m.output_options(k);
    json mets = json::array();
    for (const auto& x : o.metrics) mets.push_back(to_json(x));
    outs.push_back({{"name", m.output_names()[k]}, {"loss", to_json(o.loss)}, {"weight", o.weight}, {"metrics", mets}});
  }
  tc["outputs"] = outs;
  return tc;
}

/// A tensor reference of the file ({"input": name} or {"layer": name, "call": k}) resolved.
inline SymbolicTensor resolve(const json& r, const std::map<std::string, SymbolicTensor>& inputs,
                              const std::map<std::string, std::vector<SymbolicTensor>>& made, const std::string& where) {
  HEPNN_CHECK(r.is_object(), where, ": a tensor must be {\"input\": name} or {\"layer\": name, \"call\": k}");
  if (r.contains("input")) {
    const std::string n = field<std::string>(r, "input", where);
    auto it = inputs.find(n);
    HEPNN_CHECK(it != inputs.end(), where, ": no input named '", n, "'");
    return it->second;
  }
  const std::string n = field<std::string>(r, "layer", where);
  const std::int64_t k = field<std::int64_t>(r, "call", where);
  auto it = made.find(n);
  HEPNN_CHECK(it != made.end() && k >= 0 && k < std::int64_t(it->second.size()), where, ": call ", k, " of layer '", n,
              "' is not made before it (the calls must be in execution order)");
  return it->second[std::size_t(k)];
}

/// Builds the model that a graph JSON describes, with fresh weights (depth: nesting level).
template <class T, class Device>
Model<T, Device> graph_from_json(const json& g, const std::string& where, std::int64_t budget, int depth) {
  HEPNN_CHECK(depth < 16, where, ": models nested more than 16 deep");
  const std::string cls = field<std::string>(g, "class", where);
  HEPNN_CHECK(cls == "Model", where, ": class '", cls, "' is not Model");
  const std::string name = field<std::string>(g, "name", where);
  for (const char* key : {"inputs", "layers", "calls", "outputs"})
    HEPNN_CHECK(g.contains(key) && g[key].is_array(), where, ": '", key, "' must be a list");
  std::vector<SymbolicTensor> ins, outs;
  std::map<std::string, SymbolicTensor> by_name;
  for (std::size_t k = 0; k < g["inputs"].size(); ++k) {
    const json& x = g["inputs"][k];
    const std::string w = where + ".inputs[" + std::to_string(k) + "]";
    const std::string n = field<std::string>(x, "name", w);
    HEPNN_CHECK(x.contains("shape"), w, ": field 'shape' is missing");
    Input in(n, shape_from_json(x["shape"], w));
    HEPNN_CHECK(by_name.emplace(n, in).second, w, ": two inputs are named '", n, "'");
    ins.push_back(in);
  }
  std::map<std::string, std::shared_ptr<ConfigDef>> defs;
  std::map<std::string, Model<T, Device>> models;
  std::map<std::string, bool> frozen;
  for (std::size_t i = 0; i < g["layers"].size(); ++i) {
    const json& e = g["layers"][i];
    const std::string w = where + ".layers[" + std::to_string(i) + "]";
    const std::string n = field<std::string>(e, "name", w);
    HEPNN_CHECK(!defs.count(n) && !models.count(n), w, ": two layers are named '", n, "'");
    if (e.contains("model")) {
      models.emplace(n, graph_from_json<T, Device>(e["model"], w + ".model", budget, depth + 1));
      continue;
    }
    HEPNN_CHECK(e.contains("config"), w, ": a layer needs a 'config' or a 'model'");
    LayerConfig c = layer_config_from_json(e["config"], w + ".config");
    HEPNN_CHECK(c.name == n, w, ": the config names the layer '", c.name, "', the entry '", n, "'");
    defs.emplace(n, std::make_shared<ConfigDef>(std::move(c), budget));
    frozen[n] = !field<bool>(e, "trainable", w);
  }
  std::map<std::string, std::vector<SymbolicTensor>> made;
  for (std::size_t i = 0; i < g["calls"].size(); ++i) {
    const json& c = g["calls"][i];
    const std::string w = where + ".calls[" + std::to_string(i) + "]";
    const std::string n = field<std::string>(c, "layer", w);
    HEPNN_CHECK(c.contains("inputs") && c["inputs"].is_array(), w, ": 'inputs' must be a list");
    std::vector<SymbolicTensor> xs;
    for (const json& r : c["inputs"]) xs.push_back(resolve(r, by_name, made, w));
    if (auto d = defs.find(n); d != defs.end()) made[n].push_back(graph::call(d->second, std::move(xs)));
    else if (auto s = models.find(n); s != models.end()) made[n].push_back(s->second(std::move(xs)));
    else throw Error(w + ": calls layer '" + n + "', which is not among the layers");
  }
  for (std::size_t k = 0; k < g["outputs"].size(); ++k)
    outs.push_back(resolve(g["outputs"][k], by_name, made, where + ".outputs[" + std::to_string(k) + "]"));
  Model<T, Device> m(ins, outs, name);
  HEPNN_CHECK(m.num_layers() == defs.size() + models.size(), where, ": ", defs.size() + models.size(),
              " layers are listed, ", m.num_layers(), " are called on the way to the outputs");
  for (const auto& [n, f] : frozen)
    if (f) m.layer(n).set_trainable(false);
  return m;
}

/// The model a file describes, compiled when it was, with fresh weights (arrays not read yet).
template <class T, class Device>
Model<T, Device> build_graph_from_file(const h5::File& f) {
  const std::int64_t budget = std::max<std::int64_t>(1024, file_size(f.path()));  // >= 1 byte per value
  const json cfg = parse_json(f, "model_config");
  Model<T, Device> m = in_object(f, "model_config", [&] {
    const std::string cls = field<std::string>(cfg, "class", "model_config");
    HEPNN_CHECK(cls == "Model", "model class '", cls, "' is not Model (load a Sequential with io::load_model)");
    return graph_from_json<T, Device>(cfg, "model_config", budget, 0);
  });
  const json tc = parse_json(f, "training_config");
  in_object(f, "training_config", [&] {
    HEPNN_CHECK(tc.contains("seed") && tc["seed"].is_number_unsigned(), "training_config: 'seed' must be an integer >= 0");
    m.initialize(tc["seed"].get<std::uint64_t>());
    if (!field<bool>(tc, "compiled", "training_config")) return 0;
    ModelCompileOptions co;
    HEPNN_CHECK(tc.contains("optimizer") && tc.contains("outputs") && tc["outputs"].is_array(),
                "training_config: 'optimizer' or the list 'outputs' is missing");
    co.optimizer = optimizer_from_json(tc["optimizer"]);
    for (const json& o : tc["outputs"]) {
      OutputOptions oo;
      HEPNN_CHECK(o.contains("loss") && o.contains("metrics") && o["metrics"].is_array(),
                  "training_config.outputs: each needs 'loss' and a list 'metrics'");
      oo.loss = loss_from_json(o["loss"]);
      oo.weight = field<double>(o, "weight", "training_config.outputs");
      for (const json& x : o["metrics"]) oo.metrics.push_back(metric_from_json(x));
      co.outputs[field<std::string>(o, "name", "training_config.outputs")] = std::move(oo);
    }
    HEPNN_CHECK(co.outputs.size() == m.num_outputs(), "training_config: options for ", co.outputs.size(),
                " outputs, the model has ", m.num_outputs());
    m.compile(co);
    return 0;
  });
  return m;
}

template <class T, class Device>
void read_graph_arrays(const h5::File& f, Model<T, Device>& m) {
  in_object(f, "weights", [&] {
    read_arrays(f, "weights", m.core(), false);
    read_arrays(f, "state", m.core(), true);
    return 0;
  });
  for (const auto& name : m.input_names()) {  // each input's preprocessing (none: no transform)
    const std::string g = "preprocessing/" + name;
    data::InputTransform<T> t = f.exists(g) ? read_transform<T>(f, g) : data::InputTransform<T>{};
    in_object(f, g, [&] {
      m.set_input_transform(name, std::move(t));
      return 0;
    });
  }
  if (!m.compiled() || !f.exists("optimizer")) return;
  read_optimizer(f, m.optimizer(), [&] { optimizer_arrays<T, Device>(&f, nullptr, m); });
}

}  // namespace detail

/// ModelCheckpoint for a functional model: `io::FunctionalModelCheckpoint<float>{.model = &tagger,
/// .filepath = "ckpt.h5"}` in ModelFitOptions::callbacks; resume with load_checkpoint.
template <class T, class Device = cpu>
using FunctionalModelCheckpoint = ModelCheckpoint<T, Device, Model<T, Device>>;

/// Saves a functional model (any device) to one HDF5 file, atomically: its graph, weights,
/// state, per-output losses and metrics, optimizer and optimizer state (docs/file-format.md).
template <class T, class Device>
void save_model(const Model<T, Device>& m, const std::string& path, const SaveOptions& o = {}) {
  json model_config = detail::graph_to_json(m.core());
  model_config["dtype"] = detail::dtype_name<T>();
  const json training = detail::model_training_json(m);
  detail::atomic_write(path, [&](h5::File& f) {
    detail::write_header(f, model_config, training);
    f.create_group("weights");
    detail::write_arrays(f, "weights", m.core(), false);
    f.create_group("state");
    detail::write_arrays(f, "state", m.core(), true);
    for (const auto& name : m.input_names())
      detail::write_transform(f, "preprocessing/" + name, m.input_transform(name));
    if (m.compiled() && o.include_optimizer) {
      detail::write_optimizer_counters(f, m.optimizer());
      detail::optimizer_arrays<T, Device>(nullptr, &f, const_cast<Model<T, Device>&>(m));
    }
    detail::write_training(f, o.epoch, o.history);
  });
}

/// Loads a functional model file into a new Model of scalar type T on Device (float64 files
/// load into float models and the other way round, with rounding). A compiled model comes
/// back compiled, with its optimizer state; layers frozen when it was saved come back frozen.
template <class T, class Device = cpu>
Model<T, Device> load_functional_model(const std::string& path) {
  const h5::File f(path, h5::File::Mode::read);
  detail::check_version(f);
  Model<T, Device> m = detail::build_graph_from_file<T, Device>(f);
  detail::read_graph_arrays(f, m);
  return m;
}

/// Resuming a functional model: as load_checkpoint for Sequential. The file's graph must be the
/// model's (the first difference is named); returns the epoch to continue from, or 0 when
/// there is no file yet.
template <class T, class Device>
int load_checkpoint(Model<T, Device>& m, const std::string& path) {
  if (!detail::checkpoint_exists(m.compiled(), path)) return 0;
  const h5::File f(path, h5::File::Mode::read);
  detail::check_version(f);
  json saved = detail::parse_json(f, "model_config");
  saved.erase("dtype");
  const json mine = detail::graph_to_json(m.core());
  if (saved != mine) {
    const json d = json::diff(mine, saved);
    throw Error(f.where("model_config") + "the checkpoint's graph is not the model's (first difference at " +
                (d.empty() ? std::string("?") : d[0].value("path", std::string("?"))) + ")");
  }
  const json tc = detail::parse_json(f, "training_config");
  HEPNN_CHECK(tc.contains("seed") && tc["seed"].is_number_unsigned() && tc["seed"].get<std::uint64_t>() == m.seed(),
              f.where("training_config"), "the checkpoint was trained with another seed than the model's (",
              m.seed(), "); shuffling and dropout would differ");
  detail::read_graph_arrays(f, m);
  return detail::resume_epoch(f);
}

}  // namespace hepnn::io
