/// @file graph/submodel.hpp
/// @brief SubmodelLayer: a Model used as a layer of another model. It runs the inner model's
/// graph in its workspace and shares the inner model's parameters: training the outer model
/// trains the inner one, and freezing the inner one (set_trainable(false)) freezes it there.
#pragma once
#include "hepnn/core/config.hpp"
#include <memory>
#include <string>

#include "hepnn/graph/core.hpp"

namespace hepnn::inline HEPNN_ABI::graph {

template <class T, class Device>
class SubmodelLayer final : public Layer<T, Device> {
 public:
  SubmodelLayer(std::shared_ptr<GraphCore<T, Device>> core, const std::string& who)
      : Layer<T, Device>(core->name, core->topo.tensors[core->topo.input_tensors[0]]->shape), m_core(std::move(core)) {
    HEPNN_CHECK(m_core->topo.output_tensors.size() == 1, who, ": model '", m_core->name, "' has ",
                m_core->topo.output_tensors.size(), " outputs; a model used as a layer needs exactly one");
    HEPNN_CHECK(m_core->topo.input_tensors.size() == 1 || m_core->num_state == 0, who, ": model '", m_core->name,
                "' has several inputs and layers with state (BatchNormalization); as a layer it needs one input");
    this->m_output_shape = m_core->topo.tensors[m_core->topo.output_tensors[0]]->shape;
  }
  std::string type() const override { return "Model"; }
  std::int64_t num_inputs() const override { return std::int64_t(m_core->topo.input_tensors.size()); }
  const Shape& input_shape_at(std::int64_t k) const override {
    return m_core->topo.tensors[m_core->topo.input_tensors.at(std::size_t(k))]->shape;
  }
  std::int64_t workspace_per_sample() const override { return m_core->arena_per_sample(true); }
  std::int64_t inference_workspace_per_sample() const override { return m_core->arena_per_sample(false); }
  const GraphCore<T, Device>& core() const { return *m_core; }
  GraphCore<T, Device>& core() { return *m_core; }
  /// The next backward adds to the inner model's gradients instead of writing them.
  void set_accumulate(bool a) { m_accumulate = a; }

  void forward(std::int64_t B, const T* x, T* y, T* ws, const Pass& pass) const override {
    forward_many(B, &x, y, ws, pass);
  }
  void backward(std::int64_t B, const T* x, const T* y, const T* dy, T* dx, T* ws, const Pass& pass) override {
    backward_many(B, &x, y, dy, &dx, ws, pass);
  }
  void forward_many(std::int64_t B, const T* const* xs, T* y, T* ws, const Pass& pass) const override {
    const Pass p = inner(pass);
    m_core->forward(ws, B, xs, p, pass.backward);
    ::hepnn::detail::copy_bytes<Device, Device>(y, m_core->output(ws, B, xs, 0),
                                       sizeof(T) * std::size_t(B * this->m_output_shape.size()));
  }
  void backward_many(std::int64_t B, const T* const* xs, const T*, const T* dy, T* const* dxs, T* ws,
                     const Pass& pass) override {
    ::hepnn::detail::copy_bytes<Device, Device>(m_core->output_grad(ws, B, 0), dy,
                                       sizeof(T) * std::size_t(B * this->m_output_shape.size()));
    m_core->backward(ws, B, xs, inner(pass), dxs, m_accumulate);
  }
  void update_state(std::int64_t B, const T* x, const T* ws, const Pass& pass) override {
    m_core->update_state(const_cast<T*>(ws), B, &x, inner(pass));
  }
  void take_part_without_events(bool backward, const Pass& pass) override {
    m_core->take_part_without_events(backward, inner(pass));
  }

 private:
  // the inner calls get dropout streams of their own, apart from the outer model's
  static Pass inner(const Pass& p) {
    Pass q = p;
    q.layer_index = 64 * (p.layer_index + 1);
    return q;
  }
  std::shared_ptr<GraphCore<T, Device>> m_core;
  bool m_accumulate = false;
};

}  // namespace hepnn::graph
