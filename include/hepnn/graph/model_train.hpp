/// @file graph/model_train.hpp
/// @brief Model's prediction, losses, training step, fit and evaluate (included by graph/model.hpp).
///
/// Several outputs: output k has its loss L_k (the weighted mean over its event weights), and the
/// total loss is sum_k weight_k L_k. Its gradient is what backward propagates; "loss" in the logs
/// is the total, "<output>_loss" each part.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <numeric>

#include "hepnn/graph/model.hpp"
#include "hepnn/graph/model_summary.hpp"

namespace hepnn::inline HEPNN_ABI {

template <class T, class Device>
void Model<T, Device>::check_inputs(const std::map<std::string, Tensor<T, cpu>>& inputs, const std::string& w) const {
  std::int64_t n = -1;
  for (std::size_t k = 0; k < num_inputs(); ++k) {
    auto it = inputs.find(input_names()[k]);
    HEPNN_CHECK(it != inputs.end(), w, ": no data for input '", input_names()[k], "' (", input_shape(k).str(), ")");
    HEPNN_CHECK(it->second.rank() >= 1 && it->second.shape().tail() == input_shape(k), w, ": input '", it->first,
                "' has shape ", it->second.shape().str(), ", the model expects samples of shape ", input_shape(k).str());
    if (n < 0) n = it->second.shape()[0];
    HEPNN_CHECK(it->second.shape()[0] == n, w, ": input '", it->first, "' has ", it->second.shape()[0],
                " events, input '", input_names()[0], "' has ", n);
    data::check_finite(it->second, w + ": input '" + it->first + "'");
  }
  for (const auto& [name, t] : inputs)
    HEPNN_CHECK(std::find(input_names().begin(), input_names().end(), name) != input_names().end(), w, ": data for '",
                name, "', which is not an input of the model (inputs: ", detail::join(input_names()), ")");
}

template <class T, class Device>
std::vector<const Tensor<T, cpu>*> Model<T, Device>::ordered(const std::map<std::string, Tensor<T, cpu>>& x) const {
  std::vector<const Tensor<T, cpu>*> r;
  for (const auto& name : input_names()) r.push_back(&x.at(name));
  return r;
}

template <class T, class Device>
void Model<T, Device>::check_data(const data::NamedDataset<T>& d, const char* who, bool targets) const {
  const std::string w = "Model '" + m_name + "'::" + who;
  HEPNN_CHECK(!d.empty(), w, ": the data set is empty");
  check_inputs(d.inputs(), w);
  if (!targets) return;
  for (std::size_t k = 0; k < num_outputs(); ++k) {
    const std::string& on = output_names()[k];
    auto it = d.targets().find(on);
    HEPNN_CHECK(it != d.targets().end(), w, ": no targets for output '", on, "'");
    const LossSpec& loss = m_outputs[k].opt.loss;
    const std::int64_t C = m_outputs[k].cols, tc = it->second.size() / d.size();
    const bool labels = std::holds_alternative<CategoricalCrossEntropy>(loss) && tc == 1 && C > 1;
    HEPNN_CHECK(tc == C || labels || is_custom(loss), w, ": targets of output '", on, "' have shape ",
                it->second.shape().str(), ", which does not fit the output ", output_shape(k).str());
    data::check_finite(it->second, w + ": targets of '" + on + "'");
    data::check_finite(d.weights(on), w + ": weights of '" + on + "'");
    detail::check_loss_targets(loss, it->second.data(), d.size(), tc, C, w + " (output '" + on + "')");
  }
  for (const auto& [name, t] : d.targets())
    HEPNN_CHECK(std::find(output_names().begin(), output_names().end(), name) != output_names().end(), w,
                ": targets for '", name, "', which is not an output of the model (outputs: ", detail::join(output_names()), ")");
}

template <class T, class Device>
std::map<std::string, Tensor<T, cpu>> Model<T, Device>::predict(const std::map<std::string, Tensor<T, cpu>>& x,
                                                                std::int64_t batch_size) const {
  check_inputs(x, "Model '" + m_name + "'::predict");
  return predict_checked(ordered(x), batch_size);
}

template <class T, class Device>
std::map<std::string, Tensor<T, cpu>> Model<T, Device>::predict_checked(const std::vector<const Tensor<T, cpu>*>& x,
                                                                        std::int64_t batch_size) const {
  HEPNN_CHECK(batch_size > 0, "Model '", m_name, "'::predict: batch_size must be positive, got ", batch_size);
  const std::int64_t n = x[0]->shape()[0];
  std::vector<Tensor<T, cpu>> outs;
  for (std::size_t k = 0; k < num_outputs(); ++k) outs.emplace_back(output_shape(k).with_batch(n));
  const std::int64_t cap = std::max<std::int64_t>(1, std::min(batch_size, n));
  std::int64_t in_total = 0;
  for (std::size_t k = 0; k < num_inputs(); ++k) in_total += input_shape(k).size();
  // local buffers: several threads may predict with one model
  Tensor<T, Device> arena(Shape{cap * m_core->arena_per_sample(false)});
  Tensor<T, Device> staged(Shape{std::is_same_v<Device, cpu> ? 0 : cap * in_total});
  std::vector<const T*> in(num_inputs());
  std::vector<std::vector<T>> transformed(num_inputs());  // inputs after their transforms, when they have one
  for (std::int64_t b0 = 0; b0 < n; b0 += cap) {
    const std::int64_t B = std::min(cap, n - b0);
    std::int64_t off = 0;
    for (std::size_t k = 0; k < num_inputs(); ++k) {
      const std::int64_t row = input_shape(k).size();
      const T* rows = transformed_rows(k, x[k]->data(), b0, B, transformed[k]);
      if constexpr (std::is_same_v<Device, cpu>) {
        in[k] = rows;
      } else {
        detail::copy_bytes<Device, cpu>(staged.data() + off, rows, sizeof(T) * std::size_t(B * row));
        in[k] = staged.data() + off;
        off += B * row;
      }
    }
    m_core->forward_inference(arena.data(), B, in.data(), m_core->seed);
    for (std::size_t k = 0; k < num_outputs(); ++k) {
      const std::int64_t row = output_shape(k).size();
      detail::copy_bytes<cpu, Device>(outs[k].data() + b0 * row, m_core->output(arena.data(), B, in.data(), k),
                                      sizeof(T) * std::size_t(B * row));
    }
  }
  std::map<std::string, Tensor<T, cpu>> r;
  for (std::size_t k = 0; k < num_outputs(); ++k) r.emplace(output_names()[k], std::move(outs[k]));
  return r;
}

template <class T, class Device>
void Model<T, Device>::compile(const ModelCompileOptions& o) {
  for (const auto& [name, oo] : o.outputs)
    HEPNN_CHECK(std::find(output_names().begin(), output_names().end(), name) != output_names().end(), "Model '",
                m_name, "'::compile: options for '", name, "', which is not an output (outputs: ",
                detail::join(output_names()), ")");
  std::vector<CompiledOutput> outs;
  for (std::size_t k = 0; k < num_outputs(); ++k) {
    auto it = o.outputs.find(output_names()[k]);
    CompiledOutput c{it == o.outputs.end() ? OutputOptions{o.loss, 1.0, o.metrics} : it->second, output_shape(k).size()};
    const std::string where = "Model '" + m_name + "'::compile: output '" + output_names()[k] + "'";
    HEPNN_CHECK(output_shape(k).rank() == 1, where, " has samples of shape ", output_shape(k).str(),
                "; losses need a flat output (add Flatten{} or Dense{...} before it)");
    HEPNN_CHECK(c.opt.weight >= 0 && std::isfinite(c.opt.weight), where, ": loss weight must be >= 0, got ",
                c.opt.weight);
    if (std::holds_alternative<CategoricalCrossEntropy>(c.opt.loss))
      HEPNN_CHECK(c.cols > 1, where, ": CategoricalCrossEntropy needs at least 2 outputs, it has ", c.cols,
                  "; use BinaryCrossEntropy for one output");
    validate_loss(c.opt.loss);
    metrics::validate_metrics(c.opt.metrics);
    outs.push_back(std::move(c));
  }
  if (o.seed) m_core->initialize(*o.seed);
  m_outputs = std::move(outs);
  m_segments = m_core->segments();  // the trainable flags are read now, as Keras does
  std::int64_t n = 0;
  for (const auto& s : m_segments) n += s.size;
  m_optimizer = Optimizer<T, Device>(o.optimizer, n);
  m_compiled = true;
}

template <class T, class Device>
void Model<T, Device>::run_batch(const data::NamedDataset<T>& d, const std::int64_t* idx, std::int64_t B,
                                 const double* norms, bool training, bool step, double* sums,
                                 const std::vector<const T*>* weights) {
  const std::size_t ni = num_inputs(), no = num_outputs();
  std::int64_t nx = 0, ny = 0;
  std::vector<std::int64_t> tcols(no);
  for (std::size_t k = 0; k < ni; ++k) nx += B * input_shape(k).size();
  for (std::size_t k = 0; k < no; ++k) {
    tcols[k] = d.targets().at(output_names()[k]).size() / d.size();
    ny += B * tcols[k];
  }
  // Gather the batch on the host (inputs, then targets, then each output's weights), then send it.
  const detail::StagedBatch<T> st = m_staging.next(nx, ny, B * std::int64_t(no));
  std::vector<const T*> in(ni), y(no), w(no), host_y(no), host_w(no);
  {
    std::int64_t ox = 0, oy = 0;
    for (std::size_t k = 0; k < ni; ++k) {
      data::Dataset<T>::gather_rows(d.inputs().at(input_names()[k]), idx, B, st.x + ox);
      m_transforms[k].apply(st.x + ox, B, input_shape(k).size());
      ox += B * input_shape(k).size();
    }
    for (std::size_t k = 0; k < no; ++k) {
      data::Dataset<T>::gather_rows(d.targets().at(output_names()[k]), idx, B, st.y + oy);
      const T* wk = weights ? (*weights)[k] : d.weights(output_names()[k]).data();
      for (std::int64_t i = 0; i < B; ++i) st.w[std::int64_t(k) * B + i] = wk[idx[i]];
      oy += B * tcols[k];
    }
  }
  detail::StagedBatch<T> dev = st;
  if constexpr (!std::is_same_v<Device, cpu>) dev = m_staging.send(st);
  {
    std::int64_t ox = 0, oy = 0;
    for (std::size_t k = 0; k < ni; ++k) {
      in[k] = dev.x + ox;
      ox += B * input_shape(k).size();
    }
    for (std::size_t k = 0; k < no; ++k) {
      y[k] = dev.y + oy;
      host_y[k] = st.y + oy;
      w[k] = dev.w + std::int64_t(k) * B;
      host_w[k] = st.w + std::int64_t(k) * B;
      oy += B * tcols[k];
    }
  }
  const std::int64_t per = m_core->arena_per_sample(true);
  if (m_arena_batch < B) {
    m_arena = Tensor<T, Device>(Shape{B * per});
    m_arena_batch = B;
  }
  T* arena = m_arena.data();
  m_step_batch = 0;  // the arena is overwritten: a forward_train before is gone
  Pass pass{training, m_core->seed, std::uint64_t(m_optimizer.iterations()), 0};
  if (training) {  // data-parallel: BatchNormalization pools over the ranks, masks are the ranks' parts
    pass.comm = m_comm;
    pass.first_sample = m_comm ? m_first_sample : 0;
  }
  m_core->forward(arena, B, in.data(), pass, true);
  for (std::size_t k = 0; k < no; ++k) {
    const LossSpec& loss = m_outputs[k].opt.loss;
    const std::int64_t C = m_outputs[k].cols;
    const T* out = m_core->output(arena, B, in.data(), k);
    T* grad = m_core->output_grad(arena, B, k);
    double s;
    if (!is_custom(loss)) {
      s = ops::loss_forward_backward<Device>(loss_params(loss), B, C, tcols[k], out, y[k], w[k], norms[k], grad);
    } else if constexpr (std::is_same_v<Device, cpu>) {
      s = detail::loss_on_host(loss, B, C, tcols[k], out, host_y[k], host_w[k], norms[k], grad);
    } else {
      m_host_out.resize(std::size_t(B * C));
      m_host_grad.resize(std::size_t(B * C));
      detail::copy_bytes<cpu, Device>(m_host_out.data(), out, sizeof(T) * m_host_out.size());
      s = detail::loss_on_host(loss, B, C, tcols[k], m_host_out.data(), host_y[k], host_w[k], norms[k], m_host_grad.data());
      detail::copy_bytes<Device, cpu>(grad, m_host_grad.data(), sizeof(T) * m_host_grad.size());
    }
    HEPNN_CHECK(std::isfinite(s), "the loss of output '", output_names()[k], "' became ", s,
                "; lower the learning rate, check the inputs for extreme values, or set clip_norm");
    if (m_outputs[k].opt.weight != 1.0) ops::scale<Device>(B * C, T(m_outputs[k].opt.weight), grad);
    sums[k] = s;
  }
  if (step && m_comm) {
    backward_and_reduce(arena, B, in.data(), pass, false);  // the gradients summed over the ranks
  } else {
    m_core->backward(arena, B, in.data(), pass, nullptr, false);
  }
  if (step) {
    m_core->update_state(arena, B, in.data(), pass);
    if (m_comm) average_state();
    std::vector<typename Optimizer<T, Device>::Segment> segs;
    for (const auto& s : m_segments) segs.push_back({s.params, s.grads, s.size});
    m_optimizer.step(segs.data(), segs.size());
  }
  if constexpr (!std::is_same_v<Device, cpu>) m_staging.release(dev);
}

template <class T, class Device>
double Model<T, Device>::whole_batch(const data::NamedDataset<T>& d, const char* who, bool training, bool step) {
  require_compiled(who);
  check_data(d, who, true);
  std::vector<double> norms(num_outputs()), sums(num_outputs());
  for (std::size_t k = 0; k < num_outputs(); ++k) {
    const Tensor<T, cpu>& wk = d.weights(output_names()[k]);
    norms[k] = std::accumulate(wk.begin(), wk.end(), 0.0);
    HEPNN_CHECK(norms[k] > 0, "Model '", m_name, "'::", who, ": the weights of output '", output_names()[k],
                "' sum to ", norms[k], "; the sum must be positive");
  }
  std::vector<std::int64_t> idx(std::size_t(d.size()));
  std::iota(idx.begin(), idx.end(), std::int64_t{0});
  run_batch(d, idx.data(), d.size(), norms.data(), training, step, sums.data());
  double total = 0;
  for (std::size_t k = 0; k < num_outputs(); ++k) total += m_outputs[k].opt.weight * sums[k] / norms[k];
  return total;
}

template <class T, class Device>
double Model<T, Device>::loss_and_gradients(const data::NamedDataset<T>& d, bool training) {
  return whole_batch(d, "loss_and_gradients", training, false);
}

template <class T, class Device>
double Model<T, Device>::train_on_batch(const data::NamedDataset<T>& d) {
  return whole_batch(d, "train_on_batch", true, true);
}

template <class T, class Device>
Logs Model<T, Device>::score(const std::vector<Tensor<T, cpu>>& outs, const data::NamedDataset<T>& d,
                             const std::string& prefix, const std::vector<const T*>* weights) const {
  Logs logs;
  double total = 0;
  const std::int64_t n = d.size();
  for (std::size_t k = 0; k < num_outputs(); ++k) {
    const std::string& on = output_names()[k];
    const Tensor<T, cpu>& tg = d.targets().at(on);
    const T* wk = weights ? (*weights)[k] : d.weights(on).data();
    const std::int64_t C = m_outputs[k].cols, tc = tg.size() / n;
    const double wsum = std::accumulate(wk, wk + n, 0.0);
    HEPNN_CHECK(wsum > 0, "Model '", m_name, "': the weights of output '", on, "' sum to ", wsum,
                "; the sum must be positive");
    const double l = detail::loss_on_host(m_outputs[k].opt.loss, n, C, tc, outs[k].data(), tg.data(), wk, wsum,
                                          static_cast<T*>(nullptr)) /
                     wsum;
    total += m_outputs[k].opt.weight * l;
    if (num_outputs() > 1) logs[prefix + log_key(k, "loss")] = l;
    if (!m_outputs[k].opt.metrics.empty()) {
      const std::vector<T> s = metrics::scores_for_metrics(m_outputs[k].opt.loss, outs[k].data(), n, C);
      for (const auto& m : m_outputs[k].opt.metrics)
        logs[prefix + log_key(k, metrics::metric_name(m))] = metrics::evaluate_metric(m, s, n, C, tg.data(), tc, wk);
    }
  }
  logs[prefix + "loss"] = total;
  return logs;
}

template <class T, class Device>
std::vector<Tensor<T, cpu>> Model<T, Device>::class_weighted(const data::NamedDataset<T>& d,
                                                             const std::map<std::string, std::map<int, double>>& cw) const {
  std::vector<Tensor<T, cpu>> w;
  for (std::size_t k = 0; k < num_outputs(); ++k) {
    const std::string& on = output_names()[k];
    w.push_back(d.weights(on).clone());
    auto it = cw.find(on);
    if (it == cw.end() || it->second.empty()) continue;
    const Tensor<T, cpu>& tg = d.targets().at(on);
    const std::int64_t tc = tg.size() / d.size();
    T* wk = w.back().data();
    for (std::int64_t i = 0; i < d.size(); ++i) {
      auto f = it->second.find(detail::event_class(tg.data() + i * tc, tc));
      if (f != it->second.end()) wk[i] = T(double(wk[i]) * f->second);
    }
  }
  return w;
}

template <class T, class Device>
Logs Model<T, Device>::evaluate(const data::NamedDataset<T>& d, EvaluateOptions o) const {
  require_compiled("evaluate");
  check_data(d, "evaluate", true);
  auto out = predict_checked(ordered(d.inputs()), o.batch_size);
  std::vector<Tensor<T, cpu>> outs;
  for (const auto& name : output_names()) outs.push_back(std::move(out.at(name)));
  return score(outs, d, "");
}

}  // namespace hepnn

#include "hepnn/graph/model_parallel.hpp"
#include "hepnn/graph/model_fit.hpp"
#include "hepnn/graph/model_infer.hpp"
#include "hepnn/graph/model_step.hpp"
