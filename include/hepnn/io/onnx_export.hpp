/// @file io/onnx_export.hpp
/// @brief The ONNX graph of a hepnn model (onnx_graph_from_model): plain data, no protobuf.
/// io/onnx.hpp (the optional hepnn::onnx component) writes it to a `.onnx` file (save_onnx).
///
/// The graph is the complete function of the model: each input's stored preprocessing
/// (InputTransform: y = (x - shift) * scale) comes first as a Sub and a Mul of constants, then the
/// layers, in the model's order. Opset onnx_export_opset (17), or 20 when a GELU needs the Gelu
/// operator. Float models write FLOAT tensors, double models DOUBLE.
///
/// Layer by layer: Dense is Gemm (one feature axis) or MatMul and Add (Dense on the last axis of
/// a sequence), followed by its activation; Conv2D is Conv with explicit pads (hepnn and ONNX
/// both keep channels first and weights as (filters, channels, kh, kw)); MaxPool2D and AvgPool2D
/// are MaxPool and AveragePool (count_include_pad 0: hepnn averages the real pixels only);
/// GlobalAveragePooling2D is GlobalAveragePool then Flatten; BatchNormalization is the inference
/// BatchNormalization with the moving statistics; Flatten, Reshape, Permute (Transpose),
/// Concatenate (Concat), Add, Subtract, Multiply (chains of Add, Sub, Mul), Average (Mean),
/// Dropout (Dropout, a no-op in inference), the activation layers, Softmax and LogSoftmax (last
/// axis). A model used as a layer is written inline. A layer shared by several calls has its
/// weights written once, read by each call's node (load_onnx gives each node its own copy). GaussianSample (random) and user layers
/// have no ONNX counterpart here: a hepnn::Error names the layer.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "hepnn/io/onnx_graph.hpp"

namespace hepnn::inline HEPNN_ABI::io {

namespace onnx_detail {

template <class T>
class Exporter {
 public:
  OnnxGraph g;

  explicit Exporter(const std::string& name) {
    g.name = name;
    g.opset = onnx_export_opset;
    g.source = "onnx export of model '" + name + "'";
    g.double_precision = std::is_same_v<T, double>;
  }

  /// A graph input with its stored preprocessing; returns the name the layers read.
  std::string input(const std::string& name, const Shape& s, const data::InputTransform<T>& t) {
    OnnxValue v{name, {-1}};
    for (std::int64_t d : detail::dims_of(s)) v.dims.push_back(d);
    g.inputs.push_back(v);
    if (t.empty()) return name;
    std::vector<std::int64_t> dims{1};
    for (std::int64_t d : detail::dims_of(s)) dims.push_back(d);
    if (t.shift.size() == 1) dims = {1};
    const std::string a = constant(name + "/preprocessing/shift", dims, t.shift.data(), t.shift.size());
    const std::string b = constant(name + "/preprocessing/scale", dims, t.scale.data(), t.scale.size());
    const std::string shifted = node("Sub", name + "/preprocessing/sub", {name, a}, name + "/shifted");
    return node("Mul", name + "/preprocessing/mul", {shifted, b}, name + "/preprocessed");
  }
  void output(const std::string& internal, const std::string& name, const Shape& s) {
    OnnxValue v{name, {-1}};
    for (std::int64_t d : detail::dims_of(s)) v.dims.push_back(d);
    g.outputs.push_back(v);
    if (internal != name) node("Identity", name + "/identity", {internal}, name);
  }

  /// Emits layer l (its parameters and state at p and st, host memory) reading `ins`; the last
  /// node writes `out`. Returns out.
  template <class Device>
  std::string layer(const Layer<T, Device>& l, const T* p, const T* st, const std::vector<std::string>& ins,
                    const std::vector<Shape>& in_shapes, const std::string& out, const std::string& id,
                    const std::string& weights_id) {
    const LayerConfig c = l.config();
    const std::string& type = c.type;
    const std::string& n = id;  // node names: one per call
    const std::string& w = weights_id;  // constants: one per layer (a shared layer's calls read the same)
    const Shape& in = in_shapes.at(0);
    auto params = [&](std::size_t k) {
      const auto infos = l.params();
      std::int64_t off = 0;
      for (std::size_t a = 0; a < k; ++a) off += infos[a].shape.size();
      return p + off;
    };
    auto param_dims = [&](std::size_t k) {
      std::vector<std::int64_t> d;
      for (std::int64_t e : detail::dims_of(l.params().at(k).shape)) d.push_back(e);
      return d;
    };
    auto param = [&](std::size_t k, const std::string& suffix) {
      const Shape s = l.params().at(k).shape;
      return constant(w + "/" + suffix, param_dims(k), params(k), std::size_t(s.size()));
    };
    if (type == "Dense" || type == "Conv2D") {
      const bool bias = c.get<bool>("use_bias");
      const std::string act = c.get<std::string>("activation");
      const std::string lin = act == "linear" ? out : n + "/linear";
      if (type == "Dense") {
        if (in.rank() == 1) {
          std::vector<std::string> x{ins[0], param(0, "kernel")};
          if (bias) x.push_back(param(1, "bias"));
          node("Gemm", n, x, lin);
        } else {
          const std::string prod = bias ? n + "/matmul" : lin;
          node("MatMul", n + "/MatMul", {ins[0], param(0, "kernel")}, prod);
          if (bias) node("Add", n + "/bias", {prod, param(1, "bias")}, lin);
        }
      } else {
        std::vector<std::string> x{ins[0], param(0, "kernel")};
        if (bias) x.push_back(param(1, "bias"));
        OnnxNode& conv = node_ref("Conv", n, x, lin);
        const auto k = c.get<std::vector<std::int64_t>>("kernel_size");
        const auto s = c.get<std::vector<std::int64_t>>("strides");
        const auto d = c.get<std::vector<std::int64_t>>("dilation");
        ints(conv, "kernel_shape", k);
        ints(conv, "strides", s);
        ints(conv, "dilations", d);
        ints(conv, "pads", pads(c, in, k, s, d));
      }
      if (act != "linear") activation(act, c.get<double>("alpha"), n + "/" + act, lin, out);
      return out;
    }
    if (type == "MaxPool2D" || type == "AvgPool2D") {
      OnnxNode& pool = node_ref(type == "MaxPool2D" ? "MaxPool" : "AveragePool", n, {ins[0]}, out);
      const auto k = c.get<std::vector<std::int64_t>>("pool_size");
      const auto s = c.get<std::vector<std::int64_t>>("strides");
      ints(pool, "kernel_shape", k);
      ints(pool, "strides", s);
      ints(pool, "pads", pads(c, in, k, s, {1, 1}));
      return out;
    }
    if (type == "GlobalAveragePooling2D") {
      node("GlobalAveragePool", n, {ins[0]}, n + "/pooled");
      integer(node_ref("Flatten", n + "/flatten", {n + "/pooled"}, out), "axis", 1);
      return out;
    }
    if (type == "BatchNormalization") {
      const std::int64_t C = in[0];
      const bool scale = c.get<bool>("scale"), center = c.get<bool>("center");
      std::vector<T> ones(std::size_t(C), T(1)), zeros(std::size_t(C), T(0));
      const std::string gamma = scale ? param(0, "gamma") : constant(w + "/gamma", {C}, ones.data(), ones.size());
      const std::string beta = center ? param(scale ? 1 : 0, "beta") : constant(w + "/beta", {C}, zeros.data(), zeros.size());
      const std::string mean = constant(w + "/moving_mean", {C}, st, std::size_t(C));
      const std::string var = constant(w + "/moving_variance", {C}, st + C, std::size_t(C));
      OnnxNode& bn = node_ref("BatchNormalization", n, {ins[0], gamma, beta, mean, var}, out);
      real(bn, "epsilon", c.get<double>("epsilon"));
      return out;
    }
    if (type == "Flatten") {
      integer(node_ref("Flatten", n, {ins[0]}, out), "axis", 1);
      return out;
    }
    if (type == "Reshape") {
      std::vector<double> shape{-1};
      for (std::int64_t d : detail::dims_of(l.output_shape())) shape.push_back(double(d));
      if (m_constants.insert(w + "/shape").second) g.initializers.push_back({w + "/shape", {std::int64_t(shape.size())}, shape, true});
      node("Reshape", n, {ins[0], w + "/shape"}, out);
      return out;
    }
    if (type == "Permute") {
      std::vector<std::int64_t> perm{0};
      for (std::int64_t d : c.get<std::vector<std::int64_t>>("dims")) perm.push_back(d + 1);
      ints(node_ref("Transpose", n, {ins[0]}, out), "perm", perm);
      return out;
    }
    if (type == "Concatenate") {
      std::int64_t axis = c.get<std::int64_t>("axis");
      if (axis < 0) axis += in.rank();
      integer(node_ref("Concat", n, ins, out), "axis", axis + 1);
      return out;
    }
    if (type == "Add" || type == "Subtract" || type == "Multiply") {
      const char* op = type == "Add" ? "Add" : type == "Subtract" ? "Sub" : "Mul";
      std::string acc = ins[0];
      for (std::size_t k = 1; k < ins.size(); ++k)
        acc = node(op, k + 1 == ins.size() ? n : n + "/" + std::to_string(k), {acc, ins[k]},
                   k + 1 == ins.size() ? out : n + "/partial_" + std::to_string(k));
      return out;
    }
    if (type == "Average") return node("Mean", n, ins, out);
    if (type == "Dropout") {
      const T rate = T(c.get<double>("rate"));
      node("Dropout", n, {ins[0], constant(w + "/ratio", {}, &rate, 1)}, out);
      return out;
    }
    if (type == "Softmax" || type == "LogSoftmax") {
      integer(node_ref(type, n, {ins[0]}, out), "axis", -1);
      return out;
    }
    static const std::map<std::string, std::string> acts{{"ReLU", "relu"},       {"SELU", "selu"},
                                                         {"Tanh", "tanh"},       {"Sigmoid", "sigmoid"},
                                                         {"Softplus", "softplus"}, {"GELU", "gelu"},
                                                         {"LeakyReLU", "leaky_relu"}, {"ELU", "elu"}};
    if (auto a = acts.find(type); a != acts.end()) {
      activation(a->second, c.options.count("alpha") ? c.get<double>("alpha") : 0.0, n, ins[0], out);
      return out;
    }
    throw Error("save_onnx: layer '" + n + "' of type " + type +
                (type == "GaussianSample" ? " draws random numbers at every call; hepnn does not export it to ONNX "
                                            "(export the part of the model after it, e.g. a VAE's decoder)"
                                          : " has no ONNX export in hepnn (io/onnx_export.hpp lists the layers that do)"));
  }


 private:
  std::set<std::string> m_node_names, m_constants;

  /// A constant, written once: a shared layer's later calls read the first call's.
  std::string constant(const std::string& name, std::vector<std::int64_t> dims, const T* v, std::size_t count) {
    if (!m_constants.insert(name).second) return name;
    OnnxTensor t{name, std::move(dims), {}, false};
    t.values.reserve(count);
    for (std::size_t k = 0; k < count; ++k) t.values.push_back(double(v[k]));
    g.initializers.push_back(std::move(t));
    return name;
  }
  OnnxNode& node_ref(const std::string& op, const std::string& name, std::vector<std::string> ins, const std::string& out) {
    std::string unique = name;
    for (int k = 2; !m_node_names.insert(unique).second; ++k) unique = name + "_" + std::to_string(k);
    g.nodes.push_back(OnnxNode{op, unique, "", std::move(ins), {out}, {}});
    return g.nodes.back();
  }
  std::string node(const std::string& op, const std::string& name, std::vector<std::string> ins, const std::string& out) {
    node_ref(op, name, std::move(ins), out);
    return out;
  }
  static void ints(OnnxNode& n, const std::string& key, std::vector<std::int64_t> v) {
    OnnxAttribute a;
    a.kind = OnnxAttribute::Kind::integers;
    a.ints = std::move(v);
    n.attributes[key] = std::move(a);
  }
  static void integer(OnnxNode& n, const std::string& key, std::int64_t v) {
    OnnxAttribute a;
    a.kind = OnnxAttribute::Kind::integer;
    a.i = v;
    n.attributes[key] = std::move(a);
  }
  static void real(OnnxNode& n, const std::string& key, double v) {
    OnnxAttribute a;
    a.kind = OnnxAttribute::Kind::real;
    a.f = v;
    n.attributes[key] = std::move(a);
  }
  /// ONNX pads (top, left, bottom, right) of a Conv2D or pooling layer on (C, H, W) inputs.
  static std::vector<std::int64_t> pads(const LayerConfig& c, const Shape& in, const std::vector<std::int64_t>& k,
                                        const std::vector<std::int64_t>& s, const std::vector<std::int64_t>& d) {
    const std::string mode = c.get<std::string>("padding");
    if (mode == "valid") return {0, 0, 0, 0};
    if (mode == "same") {
      const auto [t, b] = same_pads(in[1], k[0], s[0], d[0], true);
      const auto [l, r] = same_pads(in[2], k[1], s[1], d[1], true);
      return {t, l, b, r};
    }
    const auto p = c.get<std::vector<std::int64_t>>("pads");  // top, bottom, left, right
    return {p.at(0), p.at(2), p.at(1), p.at(3)};
  }
  void activation(const std::string& act, double alpha, const std::string& name, const std::string& x, const std::string& out) {
    if (act == "relu") node("Relu", name, {x}, out);
    else if (act == "selu") node("Selu", name, {x}, out);
    else if (act == "tanh") node("Tanh", name, {x}, out);
    else if (act == "sigmoid") node("Sigmoid", name, {x}, out);
    else if (act == "softplus") node("Softplus", name, {x}, out);
    else if (act == "gelu") {
      node("Gelu", name, {x}, out);
      g.opset = std::max<std::int64_t>(g.opset, 20);  // Gelu is an operator from opset 20 on
    } else if (act == "leaky_relu") real(node_ref("LeakyRelu", name, {x}, out), "alpha", alpha);
    else if (act == "elu") real(node_ref("Elu", name, {x}, out), "alpha", alpha);
    else throw Error("save_onnx: activation '" + act + "' of layer '" + name + "' has no ONNX export in hepnn");
  }
};

template <class T, class Device>
void export_core(Exporter<T>& e, const graph::GraphCore<T, Device>& c, const std::vector<std::string>& input_names,
                 const std::string& prefix, std::vector<std::string>* outputs) {
  const graph::Topology& t = c.topo;
  std::map<std::size_t, std::string> out_names;  // the top level's outputs keep their names
  for (std::size_t k = 0; prefix.empty() && k < t.output_tensors.size(); ++k)
    out_names.emplace(t.output_tensors[k], t.output_names[k]);
  const std::vector<T> params = c.params.to_vector(), state = c.state.to_vector();
  std::map<std::size_t, std::string> names;
  for (std::size_t k = 0; k < t.input_tensors.size(); ++k) names[t.input_tensors[k]] = input_names.at(k);
  std::map<std::size_t, std::size_t> call_index;  // call -> its index among its layer's calls
  for (std::size_t ci = 0; ci < t.calls.size(); ++ci) {
    const graph::Call& call = t.calls[ci];
    const graph::LayerEntry& entry = t.layers[call.layer];
    const auto k = std::size_t(std::find(entry.calls.begin(), entry.calls.end(), ci) - entry.calls.begin());
    const std::string id = prefix + entry.name + (k ? "_call" + std::to_string(k + 1) : "");
    std::vector<std::string> ins;
    std::vector<Shape> shapes;
    for (std::size_t x : call.inputs) ins.push_back(names.at(x)), shapes.push_back(t.tensors[x]->shape);
    if (!c.owned[call.layer]) {  // a model used as a layer: inline
      const auto& inner = static_cast<const graph::SubmodelLayer<T, Device>&>(*c.layers[call.layer]).core();
      std::vector<std::string> outs;
      export_core(e, inner, ins, id + "/", &outs);
      HEPNN_CHECK(outs.size() == 1, "save_onnx: the model used as layer '", entry.name, "' has ", outs.size(),
                  " outputs; hepnn exports models used as layers with one output");
      names[call.output] = outs[0];
      continue;
    }
    const Layer<T, Device>& l = *c.layers[call.layer];
    const T* p = params.data() + c.param_offset[call.layer];
    const T* st = state.empty() ? nullptr : state.data() + c.state_offset[call.layer];
    auto named = out_names.find(call.output);
    names[call.output] = e.layer(l, p, st, ins, shapes, named != out_names.end() ? named->second : id, id,
                                 prefix + entry.name);
  }
  for (std::size_t ti : t.output_tensors) outputs->push_back(names.at(ti));
}

}  // namespace onnx_detail

/// The ONNX graph of a functional model, weights, state and input preprocessing included
/// (see the file's comment for the mapping). Throws hepnn::Error naming a layer ONNX export
/// does not cover.
template <class T, class Device>
OnnxGraph onnx_graph_from_model(const Model<T, Device>& m) {
  onnx_detail::Exporter<T> e(m.core().name);
  std::vector<std::string> ins, outs;
  for (std::size_t k = 0; k < m.input_names().size(); ++k)
    ins.push_back(e.input(m.input_names()[k], m.input_shape(k), m.input_transform(m.input_names()[k])));
  onnx_detail::export_core(e, m.core(), ins, "", &outs);
  const graph::Topology& t = m.core().topo;
  for (std::size_t k = 0; k < outs.size(); ++k) e.output(outs[k], t.output_names[k], t.tensors[t.output_tensors[k]]->shape);
  return e.g;
}

/// The ONNX graph of a Sequential model (input "input", output "output").
template <class T, class Device>
OnnxGraph onnx_graph_from_model(const Sequential<T, Device>& m) {
  onnx_detail::Exporter<T> e("sequential");
  std::string x = e.input("input", m.input_shape(), m.input_transform());
  const std::vector<T> params = m.parameters().to_vector(), state = m.state().to_vector();
  Shape shape = m.input_shape();
  for (std::size_t i = 0; i < m.num_layers(); ++i) {
    const Layer<T, Device>& l = m.layer(i);
    const T* st = state.empty() ? nullptr : state.data() + m.state_offset(i);
    x = e.layer(l, params.data() + m.parameter_offset(i), st, {x}, {shape}, i + 1 == m.num_layers() ? "output" : l.name(),
                l.name(), l.name());
    shape = l.output_shape();
  }
  HEPNN_CHECK(m.num_layers() > 0, "save_onnx: the Sequential model has no layers");
  e.output(x, "output", shape);
  return e.g;
}

}  // namespace hepnn::io
