/// @file graph/model_infer.hpp
/// @brief Model's allocation-free inference for event loops: predict over spans with a
/// per-thread Workspace (included by graph/model_train.hpp).
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <span>

#include "hepnn/graph/model.hpp"

namespace hepnn::inline HEPNN_ABI {

template <class T, class Device>
void Model<T, Device>::predict(std::span<const std::span<const T>> xs, std::span<const std::span<T>> outs,
                               Workspace& ws) const {
  HEPNN_CHECK(xs.size() == num_inputs() && outs.size() == num_outputs(), "Model '", m_name, "'::predict: ",
              xs.size(), " input and ", outs.size(), " output spans for a model of ", num_inputs(), " inputs (",
              detail::join(input_names()), ") and ", num_outputs(), " outputs (", detail::join(output_names()), ")");
  const std::int64_t row0 = input_shape(0).size();
  const std::int64_t n = std::int64_t(xs[0].size()) / row0;
  for (std::size_t k = 0; k < num_inputs(); ++k) {
    const std::int64_t row = input_shape(k).size();
    HEPNN_CHECK(std::int64_t(xs[k].size()) == n * row, "Model '", m_name, "'::predict: input '", input_names()[k],
                "' has ", xs[k].size(), " values; ", n, " events of ", input_shape(k).str(), " need ", n * row);
    if (!backend::cpu::all_finite(std::int64_t(xs[k].size()), xs[k].data()))  // one vectorised pass; where, only on failure
      for (std::size_t i = 0; i < xs[k].size(); ++i)
        if (!std::isfinite(xs[k][i]))
            throw Error(detail::concat("Model '", m_name, "'::predict: input '", input_names()[k], "' value ", xs[k][i],
                                     " of event ", std::int64_t(i) / row, " (element ", std::int64_t(i) % row,
                                     ") is not finite"));
  }
  for (std::size_t k = 0; k < num_outputs(); ++k)
    HEPNN_CHECK(std::int64_t(outs[k].size()) == n * output_shape(k).size(), "Model '", m_name, "'::predict: room for ",
                outs[k].size(), " values of output '", output_names()[k], "'; ", n, " events of ",
                output_shape(k).str(), " need ", n * output_shape(k).size());
  if (n == 0) return;
  if (ws.capacity < n) {  // grow once; later calls with as many events or fewer reuse the buffers
    std::int64_t in_total = 0;
    for (std::size_t k = 0; k < num_inputs(); ++k) in_total += input_shape(k).size();
    ws.arena = Tensor<T, Device>(Shape{n * m_core->arena_per_sample(false)});
    ws.staged = Tensor<T, Device>(Shape{std::is_same_v<Device, cpu> ? 0 : n * in_total});
    ws.capacity = n;
  }
  ws.transformed.resize(num_inputs());
  ws.in.resize(num_inputs());
  std::int64_t off = 0;
  for (std::size_t k = 0; k < num_inputs(); ++k) {
    const T* rows = transformed_rows(k, xs[k].data(), 0, n, ws.transformed[k]);
    if constexpr (std::is_same_v<Device, cpu>) {
      ws.in[k] = rows;
    } else {
      const std::int64_t count = n * input_shape(k).size();
      detail::copy_bytes<Device, cpu>(ws.staged.data() + off, rows, sizeof(T) * std::size_t(count));
      ws.in[k] = ws.staged.data() + off;
      off += count;
    }
  }
  m_core->forward_inference(ws.arena.data(), n, ws.in.data(), m_core->seed);
  for (std::size_t k = 0; k < num_outputs(); ++k)
    detail::copy_bytes<cpu, Device>(outs[k].data(), m_core->output(ws.arena.data(), n, ws.in.data(), k),
                                    sizeof(T) * outs[k].size());
}

}  // namespace hepnn
