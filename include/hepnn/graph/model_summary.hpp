/// @file graph/model_summary.hpp
/// @brief Model::summary(): each layer, its output shape, its parameter count and what it is
/// connected to (the tensors each call takes), as Keras prints a functional model.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

#include "hepnn/graph/model.hpp"
#include "hepnn/train/summary_format.hpp"

namespace hepnn::inline HEPNN_ABI {

template <class T, class Device>
void Model<T, Device>::summary(std::ostream& os) const {
  const graph::Topology& t = m_core->topo;
  // the name of tensor i: its input's name, or the layer that makes it
  auto tensor_name = [&](std::size_t i) {
    const std::size_t c = t.producer[i];
    if (c != graph::Topology::npos) return t.layers[t.calls[c].layer].name;
    for (std::size_t k = 0; k < t.input_tensors.size(); ++k)
      if (t.input_tensors[k] == i) return t.input_names[k];
    return std::string("?");
  };
  struct Row {
    std::string a, b, c, d;
  };
  std::vector<Row> rows;
  for (std::size_t k = 0; k < t.input_tensors.size(); ++k)
    rows.push_back({t.input_names[k] + " (Input)", detail::batch_shape(input_shape(k)), "0", "-"});
  std::int64_t sub_params = 0;
  for (std::size_t i = 0; i < t.layers.size(); ++i) {
    const Layer<T, Device>& l = *m_core->layers[i];
    std::int64_t n = l.num_params() + l.num_state();
    if (!m_core->owned[i]) {
      const auto& inner = static_cast<const graph::SubmodelLayer<T, Device>&>(l).core();
      n = inner.num_params + inner.num_state;
      sub_params += n;
    }
    std::vector<std::string> calls;
    for (std::size_t c : t.layers[i].calls) {
      std::vector<std::string> ins;
      for (std::size_t x : t.calls[c].inputs) ins.push_back(tensor_name(x));
      calls.push_back(detail::join(ins));
    }
    const std::string d = l.describe();
    std::string shape = detail::batch_shape(l.output_shape());
    rows.push_back({l.name() + " (" + l.type() + ")" + (l.trainable() || n == 0 ? "" : " [frozen]"), shape,
                    detail::group_digits(n) + (d.empty() ? "" : "   " + d), detail::join(calls, "; ")});
  }
  std::size_t w1 = 30, w2 = 20, w3 = 10;
  for (const Row& r : rows) {
    w1 = std::max(w1, r.a.size() + 2);
    w2 = std::max(w2, r.b.size() + 2);
    w3 = std::max(w3, r.c.size() + 2);
  }
  auto line = [&](const Row& r) {
    os << r.a << std::string(w1 - r.a.size(), ' ') << r.b << std::string(w2 - r.b.size(), ' ') << r.c
       << std::string(w3 - r.c.size(), ' ') << r.d << '\n';
  };
  const std::size_t width = w1 + w2 + w3 + 24;
  os << "Model: \"" << m_name << "\" (Model<" << (std::is_same_v<T, float> ? "float" : "double") << ", "
     << Device::name << ">)\n"
     << std::string(width, '_') << '\n';
  line({"Layer (type)", "Output Shape", "Param #", "Connected to"});
  os << std::string(width, '=') << '\n';
  for (const Row& r : rows) line(r);
  os << std::string(width, '=') << '\n';
  const std::int64_t own = m_core->num_params + m_core->num_state;
  std::int64_t trainable = 0;
  for (std::size_t i = 0; i < t.layers.size(); ++i) {
    if (m_core->owned[i]) {
      if (m_core->layers[i]->trainable()) trainable += m_core->layers[i]->num_params();
      continue;
    }
    for (const auto& l : static_cast<const graph::SubmodelLayer<T, Device>&>(*m_core->layers[i]).core().layers)
      if (l->trainable()) trainable += l->num_params();
  }
  os << "Total params: " << detail::group_digits(own + sub_params)
     << (sub_params ? " (" + detail::group_digits(sub_params) + " in models used as layers)" : std::string()) << '\n'
     << "Trainable params: " << detail::group_digits(trainable) << '\n'
     << "Non-trainable params: " << detail::group_digits(own + sub_params - trainable) << '\n'
     << "Outputs: " << detail::join(output_names()) << '\n';
  if (m_compiled) {
    for (std::size_t k = 0; k < m_outputs.size(); ++k)
      os << "Loss of '" << output_names()[k] << "': " << loss_name(m_outputs[k].opt.loss)
         << (m_outputs[k].opt.weight != 1.0 ? " (weight " + std::to_string(m_outputs[k].opt.weight) + ")" : "") << '\n';
    os << "Optimizer: " << optimizer_name(m_optimizer.spec()) << '\n';
  }
  os << std::string(width, '_') << '\n';
}

}  // namespace hepnn
