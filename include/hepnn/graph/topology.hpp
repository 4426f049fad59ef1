/// @file graph/topology.hpp
/// @brief From symbolic inputs and outputs to a checked, ordered, named graph (device-free):
/// the calls in execution order, the distinct layers and their names, the tensors.
///
/// Nodes are executed in creation order, which is a topological order of every graph (a call
/// is created after its inputs). Validation errors name the model, the layer and the input.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hepnn/graph/symbolic.hpp"

namespace hepnn::inline HEPNN_ABI::graph {

/// One distinct layer (or model used as a layer) of a model, with all its calls.
struct LayerEntry {
  std::shared_ptr<LayerDef> def;          // a layer, or
  std::shared_ptr<SubmodelRef> submodel;  // a model used as a layer
  std::string name;                       // unique in the model
  std::vector<Shape> input_shapes;        // the same at every call
  std::vector<std::size_t> calls;         // indices into Topology::calls
};

/// One call of a layer, in execution order.
struct Call {
  std::size_t layer = 0;             // index into Topology::layers
  std::vector<std::size_t> inputs;   // tensor indices
  std::size_t output = 0;            // tensor index
};

struct Topology {
  std::vector<std::shared_ptr<const Node>> tensors;  // tensor i is the output of node tensors[i]
  std::vector<std::size_t> input_tensors, output_tensors;
  std::vector<std::string> input_names, output_names;
  std::vector<LayerEntry> layers;
  std::vector<Call> calls;
  std::vector<std::size_t> producer;  // tensor -> the call that makes it (npos for inputs)
  static constexpr std::size_t npos = std::size_t(-1);
};

namespace detail {
inline std::string describe_node(const Node& n) {
  if (n.kind == Node::Kind::input)
    return "Input" + (n.input_name.empty() ? std::string() : " '" + n.input_name + "'") + " " + n.shape.str();
  if (n.kind == Node::Kind::submodel) return "model '" + n.submodel->name + "'";
  return "layer '" + n.probe_name + "'";
}
}  // namespace detail

/// Checks the graph from `inputs` to `outputs` and orders and names it. `who` names the model
/// in errors ("Model 'tagger'").
inline Topology build_topology(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs,
                               const std::string& who) {
  HEPNN_CHECK(!inputs.empty(), who, ": needs at least one input");
  HEPNN_CHECK(!outputs.empty(), who, ": needs at least one output");
  std::map<const Node*, std::size_t> input_pos;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    HEPNN_CHECK(inputs[k].valid(), who, ": input ", k, " is an empty SymbolicTensor");
    const Node* n = inputs[k].node().get();
    HEPNN_CHECK(n->kind == Node::Kind::input, who, ": input ", k, " is the output of ", detail::describe_node(*n),
                ", not an Input");
    HEPNN_CHECK(input_pos.emplace(n, k).second, who, ": ", detail::describe_node(*n), " is given twice as an input");
  }
  // Everything the outputs depend on (iteratively: deep chains must not overflow the stack).
  std::map<const Node*, std::shared_ptr<const Node>> reached;
  std::vector<std::pair<std::shared_ptr<const Node>, std::size_t>> stack;  // node, the output it serves
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    HEPNN_CHECK(outputs[k].valid(), who, ": output ", k, " is an empty SymbolicTensor");
    stack.emplace_back(outputs[k].node(), k);
  }
  while (!stack.empty()) {
    auto [n, out] = stack.back();
    stack.pop_back();
    if (!reached.emplace(n.get(), n).second) continue;
    if (n->kind == Node::Kind::input) {
      HEPNN_CHECK(input_pos.count(n.get()), who, ": output ", out, " depends on ", detail::describe_node(*n),
                  ", which is not among the model's inputs (disconnected graph)");
      continue;
    }
    for (const SymbolicTensor& x : n->inputs) {
      // a call is created after its inputs; anything else would be a cycle
      HEPNN_CHECK(x.node()->id < n->id, who, ": ", detail::describe_node(*n), " takes its own output (a cycle)");
      stack.emplace_back(x.node(), out);
    }
  }
  for (std::size_t k = 0; k < inputs.size(); ++k)
    HEPNN_CHECK(reached.count(inputs[k].node().get()), who, ": input ", k, " (", detail::describe_node(*inputs[k].node()),
                ") is not used by any output");

  Topology t;
  for (const auto& [p, n] : reached) t.tensors.push_back(n);
  std::sort(t.tensors.begin(), t.tensors.end(), [](const auto& a, const auto& b) { return a->id < b->id; });
  std::map<const Node*, std::size_t> tensor_of;
  for (std::size_t i = 0; i < t.tensors.size(); ++i) tensor_of[t.tensors[i].get()] = i;

  // Input names: given, or input_1, input_2, ... by position.
  std::set<std::string> names;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const Node* n = inputs[k].node().get();
    const std::string name = n->input_name.empty() ? "input_" + std::to_string(k + 1) : n->input_name;
    HEPNN_CHECK(names.insert(name).second, who, ": two inputs are named '", name, "'");
    t.input_tensors.push_back(tensor_of.at(n));
    t.input_names.push_back(name);
  }

  // Distinct layers in order of first call; calls in execution order.
  std::map<const void*, std::size_t> layer_of;
  t.producer.assign(t.tensors.size(), Topology::npos);
  for (std::size_t i = 0; i < t.tensors.size(); ++i) {
    const Node& n = *t.tensors[i];
    if (n.kind == Node::Kind::input) continue;
    const void* key = n.kind == Node::Kind::layer ? static_cast<const void*>(n.layer.get()) : n.submodel->core.get();
    std::vector<Shape> shapes;
    Call c;
    for (const SymbolicTensor& x : n.inputs) {
      c.inputs.push_back(tensor_of.at(x.node().get()));
      shapes.push_back(x.shape());
    }
    c.output = i;
    auto [it, fresh] = layer_of.emplace(key, t.layers.size());
    if (fresh) {
      LayerEntry e;
      e.def = n.layer;
      e.submodel = n.submodel;
      e.input_shapes = shapes;
      t.layers.push_back(std::move(e));
    }
    LayerEntry& e = t.layers[it->second];
    if (!fresh) {
      bool same = e.input_shapes.size() == shapes.size();
      for (std::size_t k = 0; same && k < shapes.size(); ++k) same = shapes[k] == e.input_shapes[k];
      HEPNN_CHECK(same, who, ": ", detail::describe_node(n), " is shared, and its calls take inputs of different shapes (",
                  shapes.empty() ? "" : shapes[0].str(), " and ", e.input_shapes.empty() ? "" : e.input_shapes[0].str(),
                  "); a shared layer needs the same input shapes at every call");
    }
    c.layer = it->second;
    e.calls.push_back(t.calls.size());
    t.producer[i] = t.calls.size();
    t.calls.push_back(std::move(c));
  }

  // Layer names: given ones first (they must be unique), then stem_1, stem_2, ... for the rest.
  std::set<std::string> layer_names;
  for (LayerEntry& e : t.layers) {
    e.name = e.submodel ? e.submodel->name : e.def->given_name();
    if (e.name.empty()) continue;
    HEPNN_CHECK(layer_names.insert(e.name).second, who, ": two layers are named '", e.name,
                "' (names must be unique; to share one layer, call the same spec object twice)");
  }
  std::map<std::string, int> counts;
  for (LayerEntry& e : t.layers) {
    if (!e.name.empty()) continue;
    const std::string stem = e.def->stem();
    do e.name = stem + "_" + std::to_string(++counts[stem]);
    while (layer_names.count(e.name));
    layer_names.insert(e.name);
  }

  // Outputs are named after the layer (or input) that makes them.
  std::set<std::string> out_names;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const std::size_t ti = tensor_of.at(outputs[k].node().get());
    const std::size_t call = t.producer[ti];
    std::string name = call == Topology::npos ? t.input_names[std::size_t(
                                                    std::find(t.input_tensors.begin(), t.input_tensors.end(), ti) -
                                                    t.input_tensors.begin())]
                                              : t.layers[t.calls[call].layer].name;
    HEPNN_CHECK(out_names.insert(name).second, who, ": two outputs are made by '", name,
                "'; each output needs a layer of its own (name them)");
    t.output_tensors.push_back(ti);
    t.output_names.push_back(name);
  }
  return t;
}

}  // namespace hepnn::graph
