/// @file graph/model_step.hpp
/// @brief Your own training step: Model::forward_train, Model::backward and
/// Model::apply_gradients (included by graph/model_train.hpp). With them a step can combine the
/// outputs of several models in any loss (a GAN's two players, a VAE's reconstruction plus its
/// KL term with a beta schedule), and each model's optimizer (its clipping and schedule) steps
/// its own parameters. docs/functional.md, "Your own training step", shows both.
#pragma once
#include "hepnn/core/config.hpp"
#include <map>
#include <string>

#include "hepnn/graph/model.hpp"

namespace hepnn::inline HEPNN_ABI {

template <class T, class Device>
std::map<std::string, Tensor<T, cpu>> Model<T, Device>::forward_train(const std::map<std::string, Tensor<T, cpu>>& x) {
  const std::string w = "Model '" + m_name + "'::forward_train";
  check_inputs(x, w);
  for (const auto& [name, t] : x)
    HEPNN_CHECK(std::find(input_names().begin(), input_names().end(), name) != input_names().end(), w, ": '", name,
                "' is not an input of the model (inputs: ", detail::join(input_names()), ")");
  const std::int64_t B = x.at(input_names()[0]).shape()[0];
  HEPNN_CHECK(B > 0, w, ": no events");
  // the inputs stay on the device until backward (the caller's tensors may be temporaries)
  std::int64_t total = 0;
  for (std::size_t k = 0; k < num_inputs(); ++k) total += B * input_shape(k).size();
  if (m_step_inputs.size() < total) m_step_inputs = Tensor<T, Device>(Shape{total});
  m_step_in.assign(num_inputs(), nullptr);
  std::int64_t off = 0;
  std::vector<T> buf;
  for (std::size_t k = 0; k < num_inputs(); ++k) {
    const Tensor<T, cpu>& t = x.at(input_names()[k]);
    const T* rows = transformed_rows(k, t.data(), 0, B, buf);
    ::hepnn::detail::copy_bytes<Device, cpu>(m_step_inputs.data() + off, rows, sizeof(T) * std::size_t(t.size()));
    m_step_in[k] = m_step_inputs.data() + off;
    off += t.size();
  }
  const std::int64_t per = m_core->arena_per_sample(true);
  if (m_arena_batch < B) {
    m_arena = Tensor<T, Device>(Shape{B * per});
    m_arena_batch = B;
  }
  m_step_pass = Pass{true, m_core->seed, std::uint64_t(m_optimizer.iterations()), 0};
  m_core->forward(m_arena.data(), B, m_step_in.data(), m_step_pass, true);
  m_step_batch = B;
  std::map<std::string, Tensor<T, cpu>> out;
  for (std::size_t k = 0; k < num_outputs(); ++k) {
    Tensor<T, cpu> y(output_shape(k).with_batch(B));
    ::hepnn::detail::copy_bytes<cpu, Device>(y.data(), m_core->output(m_arena.data(), B, m_step_in.data(), k),
                                             sizeof(T) * std::size_t(y.size()));
    out.emplace(output_names()[k], std::move(y));
  }
  return out;
}

template <class T, class Device>
void Model<T, Device>::backward(const std::map<std::string, Tensor<T, cpu>>& output_grads, bool accumulate) {
  const std::string w = "Model '" + m_name + "'::backward";
  HEPNN_CHECK(m_step_batch > 0, w, ": call forward_train first (fit, train_on_batch and apply_gradients end a pass)");
  const std::int64_t B = m_step_batch;
  for (const auto& [name, g] : output_grads) {
    const auto it = std::find(output_names().begin(), output_names().end(), name);
    HEPNN_CHECK(it != output_names().end(), w, ": '", name, "' is not an output of the model (outputs: ",
                detail::join(output_names()), ")");
    const Shape want = output_shape(std::size_t(it - output_names().begin())).with_batch(B);
    HEPNN_CHECK(g.shape() == want, w, ": the gradient of output '", name, "' has shape ", g.shape().str(),
                ", the last forward_train made ", want.str());
    data::check_finite(g, w + ": the gradient of output '" + name + "'");
  }
  T* arena = m_arena.data();
  for (std::size_t k = 0; k < num_outputs(); ++k) {
    T* dst = m_core->output_grad(arena, B, k);
    const std::int64_t n = B * output_shape(k).size();
    const auto it = output_grads.find(output_names()[k]);
    // an output left out does not enter the loss: its gradient is 0 (the arena may hold anything)
    const Tensor<T, cpu> zeros = it == output_grads.end() ? Tensor<T, cpu>(Shape{n}, T(0)) : Tensor<T, cpu>();
    const T* src = it == output_grads.end() ? zeros.data() : it->second.data();
    ::hepnn::detail::copy_bytes<Device, cpu>(dst, src, sizeof(T) * std::size_t(n));
  }
  m_core->backward(arena, B, m_step_in.data(), m_step_pass, nullptr, accumulate);
}

template <class T, class Device>
void Model<T, Device>::apply_gradients() {
  require_compiled("apply_gradients");
  if (m_step_batch > 0) m_core->update_state(m_arena.data(), m_step_batch, m_step_in.data(), m_step_pass);
  std::vector<typename Optimizer<T, Device>::Segment> segs;
  for (const auto& s : m_segments) segs.push_back({s.params, s.grads, s.size});
  m_optimizer.step(segs.data(), segs.size());
  m_step_batch = 0;
}

}  // namespace hepnn
