/// @file graph/core.hpp
/// @brief GraphCore<T, Device>: a functional model's layers, parameters and execution plan.
///
/// The parameters of the model's own layers live in one flat buffer (each layer's slice 64-byte
/// aligned), laid out once when the graph is complete. A model used as a layer keeps its own
/// buffer: the outer model reaches it through parameter segments (segments()).
///
/// All per-batch memory of one pass is one arena whose regions scale with the batch: the output
/// of every call, its training workspace, the gradient of every tensor and the scratch where a
/// tensor used by several calls collects its gradient. Which gradients are written directly and
/// which are added (a tensor read twice, a layer called twice) is planned once, at construction.
#pragma once
#include "hepnn/core/config.hpp"
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/core/tensor.hpp"
#include "hepnn/graph/topology.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/ops/elementwise.hpp"

namespace hepnn::inline HEPNN_ABI::graph {

/// A contiguous run of trainable parameters and their gradients (the optimizer's unit).
template <class T>
struct ParamSegment {
  T* params = nullptr;
  T* grads = nullptr;
  std::int64_t size = 0;
};

/// A model used as a layer (defined in graph/submodel.hpp).
template <class T, class Device>
class SubmodelLayer;

template <class T, class Device>
class GraphCore {
 public:
  using LayerPtr = std::shared_ptr<Layer<T, Device>>;
  /// Builds the layers of t (make_layer turns each entry into a layer) and the plan.
  template <class MakeLayer>
  GraphCore(Topology t, std::string name, MakeLayer&& make_layer) : topo(std::move(t)), name(std::move(name)) {
    for (const LayerEntry& e : topo.layers) layers.push_back(make_layer(e));
    layout_parameters();
    plan();
  }
  GraphCore(const GraphCore&) = delete;
  GraphCore& operator=(const GraphCore&) = delete;

  Topology topo;
  std::string name;
  std::vector<LayerPtr> layers;        // topo.layers' order
  std::vector<bool> owned;             // false: a model used as a layer (its parameters are its own)
  std::vector<std::int64_t> param_offset, state_offset;
  std::int64_t num_params = 0, num_state = 0;  // of the own layers
  Tensor<T, Device> params, grads, state;
  std::uint64_t seed = 42;

  /// Draws the own layers' parameters from `seed` (layer i uses stream init + (i << 33), as a
  /// Sequential does), and resets their state.
  void initialize(std::uint64_t s) {
    seed = s;
    Tensor<T, cpu> host(Shape{params.size()}, T(0));
    for (std::size_t i = 0; i < layers.size(); ++i)
      if (owned[i]) layers[i]->initialize(host.data() + param_offset[i], s, rng_stream::init + (std::uint64_t(i) << 33));
    ::hepnn::detail::copy_bytes<Device, cpu>(params.data(), host.data(), sizeof(T) * std::size_t(host.size()));
    reset_state();
  }
  void reset_state() {
    if (state.size() == 0) return;
    Tensor<T, cpu> host(Shape{state.size()}, T(0));
    for (std::size_t i = 0; i < layers.size(); ++i)
      if (owned[i]) layers[i]->initialize_state(host.data() + state_offset[i]);
    ::hepnn::detail::copy_bytes<Device, cpu>(state.data(), host.data(), sizeof(T) * std::size_t(host.size()));
  }

  /// Elements per sample of the arena (training: with workspaces and gradients).
  std::int64_t arena_per_sample(bool training) const { return training ? m_train_per_sample : m_infer_per_sample; }

  /// Runs the calls on a batch of B samples. inputs[k] points to model input k (on Device);
  /// arena has B * arena_per_sample(training) elements. Returns nothing: outputs are at output().
  void forward(T* arena, std::int64_t B, const T* const* inputs, const Pass& pass, bool training) const {
    forward_rows(arena, B, inputs, pass, training, 0, B);
  }
  /// forward() on rows [r0, r0 + R) of a batch of B samples: each call reads and writes those rows
  /// of the batch's tensors and uses those rows' part of its workspace; the pass's first sample
  /// moves on by r0 (random masks stay those of the whole batch).
  void forward_rows(T* arena, std::int64_t B, const T* const* inputs, const Pass& pass, bool training, std::int64_t r0,
                    std::int64_t R) const {
    const T* small[8];  // the inputs of a call: on the stack for up to 8 (no allocation per pass)
    std::vector<const T*> big;
    for (std::size_t c = 0; c < topo.calls.size(); ++c) {
      const Call& call = topo.calls[c];
      if (call.inputs.size() > 8) big.resize(call.inputs.size());
      const T** xs = call.inputs.size() > 8 ? big.data() : small;
      for (std::size_t s = 0; s < call.inputs.size(); ++s)
        xs[s] = tensor_ptr(arena, B, inputs, call.inputs[s]) + r0 * topo.tensors[call.inputs[s]]->shape.size();
      const Layer<T, Device>& L = *layers[call.layer];
      Pass p = pass;
      p.layer_index = std::int64_t(c) + pass.layer_index;
      p.backward = training;
      p.first_sample = pass.first_sample + r0;
      const std::int64_t ws_off = training ? m_ws_off[c] : m_infer_ws_off[c];  // -1: none
      const std::int64_t ws_row = training ? L.workspace_per_sample() : L.inference_workspace_per_sample();
      T* ws = ws_off < 0 ? nullptr : arena + B * ws_off + r0 * ws_row;
      L.forward_many(R, xs, arena + B * m_act_off[call.output] + r0 * topo.tensors[call.output]->shape.size(), ws, p);
    }
  }
  /// Inference on B samples (arena of B * arena_per_sample(false) elements). On the CPU, more than
  /// inference_chunk_rows samples go through every call chunk by chunk (forward_rows), the chunks
  /// spread over the threads (backend::cpu::inference_chunks).
  void forward_inference(T* arena, std::int64_t B, const T* const* inputs, std::uint64_t seed) const {
    const Pass pass{false, seed, 0, 0};
    if constexpr (std::is_same_v<Device, cpu>) {
      if (B > backend::cpu::inference_chunk_rows) {
        backend::cpu::inference_chunks(B, inference_flops_per_sample() * double(B), [&](std::int64_t r0, std::int64_t R) {
          forward_rows(arena, B, inputs, pass, false, r0, R);
        });
        return;
      }
    }
    forward(arena, B, inputs, pass, false);
  }
  /// The work of inference per sample, roughly: 2 flops per parameter and call (the products of
  /// Dense-like layers), through the models used as layers. Decides how many threads a pass uses.
  double inference_flops_per_sample() const {
    double f = 0;
    for (const Call& call : topo.calls) {
      const Layer<T, Device>& L = *layers[call.layer];
      f += owned[call.layer] ? 2.0 * double(L.num_params())
                             : static_cast<const SubmodelLayer<T, Device>&>(L).core().inference_flops_per_sample();
    }
    return f;
  }
  /// Output k of the last forward on `arena`.
  T* output(T* arena, std::int64_t B, const T* const* inputs, std::size_t k) const {
    return const_cast<T*>(tensor_ptr(arena, B, inputs, topo.output_tensors[k]));
  }
  /// Where the gradient of output k goes before backward() (training arena only).
  T* output_grad(T* arena, std::int64_t B, std::size_t k) const { return arena + B * m_grad_off[topo.output_tensors[k]]; }

  /// Backward through every call after a training forward on the same arena, with the output
  /// gradients already at output_grad(). Parameter gradients are written to grads (added to
  /// what is there when accumulate); input_grads[k], when given, receives d/d input k.
  /// after_call, when given, is called with c after call c (calls run from the last to the first):
  /// the data-parallel fit starts the sums of the gradients that are final by then.
  void backward(T* arena, std::int64_t B, const T* const* inputs, const Pass& pass, T* const* input_grads,
                bool accumulate, const std::function<void(std::size_t)>* after_call = nullptr) {
    std::vector<const T*> xs;
    std::vector<T*> dxs;
    for (std::size_t c = topo.calls.size(); c-- > 0;) {
      const Call& call = topo.calls[c];
      xs.clear();
      dxs.clear();
      for (std::size_t s = 0; s < call.inputs.size(); ++s) {
        const std::size_t t = call.inputs[s];
        xs.push_back(tensor_ptr(arena, B, inputs, t));
        T* target = grad_ptr(arena, B, input_grads, t);
        dxs.push_back(target == nullptr ? nullptr : m_slot_scratch[c][s] < 0 ? target : arena + B * m_slot_scratch[c][s]);
      }
      Pass p = pass;
      p.layer_index = std::int64_t(c) + pass.layer_index;
      p.backward = true;
      Layer<T, Device>& L = *layers[call.layer];
      const bool add_params = accumulate || !m_param_direct[c];
      T* slice = nullptr;
      const std::int64_t np = L.num_params();
      if (add_params && np > 0) {
        if (owned[call.layer]) {
          slice = grads.data() + param_offset[call.layer];
          L.bind(params.data() + param_offset[call.layer], m_param_scratch.data());
        }
      }
      set_accumulate(L, call.layer, add_params);
      L.backward_many(B, xs.data(), arena + B * m_act_off[call.output], arena + B * m_grad_off[call.output], dxs.data(),
                      m_ws_off[c] < 0 ? nullptr : arena + B * m_ws_off[c], p);
      if (slice) {
        ops::axpby<Device>(np, T(1), m_param_scratch.data(), T(1), slice);
        L.bind(params.data() + param_offset[call.layer], slice);
      }
      for (std::size_t s = 0; s < call.inputs.size(); ++s)
        if (dxs[s] && m_slot_scratch[c][s] >= 0) {
          const std::size_t t = call.inputs[s];
          ops::axpby<Device>(B * topo.tensors[t]->shape.size(), T(1), dxs[s], T(1), grad_ptr(arena, B, input_grads, t));
        }
      if (after_call) (*after_call)(c);
    }
  }

  /// take_part_without_events of every call: backward = false in the forward order, true in the
  /// reverse one (a data-parallel rank with no event in the step; graph/model_parallel.hpp);
  /// after_call as in backward().
  void take_part_without_events(bool backward, const Pass& pass,
                                const std::function<void(std::size_t)>* after_call = nullptr) {
    const std::size_t n = topo.calls.size();
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t c = backward ? n - 1 - i : i;
      Pass p = pass;
      p.layer_index = std::int64_t(c) + pass.layer_index;
      p.backward = true;
      layers[topo.calls[c].layer]->take_part_without_events(backward, p);
      if (after_call) (*after_call)(c);
    }
  }

  /// update_state of every call (BatchNormalization's moving statistics), after backward.
  void update_state(T* arena, std::int64_t B, const T* const* inputs, const Pass& pass) {
    for (std::size_t c = 0; c < topo.calls.size(); ++c) {
      const Call& call = topo.calls[c];
      Pass p = pass;
      p.layer_index = std::int64_t(c) + pass.layer_index;
      p.backward = true;
      layers[call.layer]->update_state(B, tensor_ptr(arena, B, inputs, call.inputs[0]),
                                       m_ws_off[c] < 0 ? nullptr : arena + B * m_ws_off[c], p);
    }
  }

  /// The trainable parameters: the own trainable layers (runs of adjacent ones merged) and the
  /// segments of the models used as layers (once each, however often they are called).
  std::vector<ParamSegment<T>> segments() const {
    std::vector<ParamSegment<T>> out;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (!owned[i]) {
        for (const ParamSegment<T>& s : submodel_segments(i)) out.push_back(s);
        continue;
      }
      const std::int64_t n = layers[i]->num_params();
      if (n == 0 || !layers[i]->trainable()) continue;
      T* p = const_cast<T*>(params.data()) + param_offset[i];
      T* g = const_cast<T*>(grads.data()) + param_offset[i];
      if (!out.empty() && out.back().params + out.back().size == p && i > 0 && owned[i - 1]) {
        out.back().size = (p + n) - out.back().params;  // the alignment gap is included; its gradient stays 0
        continue;
      }
      out.push_back({p, g, n});
    }
    return out;
  }

  /// Set by graph/model.hpp: the segments of layer i when it is a model used as a layer.
  std::function<std::vector<ParamSegment<T>>(std::size_t)> submodel_segments;
  /// Set by graph/model.hpp: tells a model used as a layer to add its gradients (a later call).
  std::function<void(Layer<T, Device>&, bool)> set_submodel_accumulate;

 private:
  void set_accumulate(Layer<T, Device>& L, std::size_t layer, bool add) {
    if (!owned[layer] && set_submodel_accumulate) set_submodel_accumulate(L, add);
  }
  static std::int64_t round_up(std::int64_t n) { return (n + 15) / 16 * 16; }

  const T* tensor_ptr(T* arena, std::int64_t B, const T* const* inputs, std::size_t t) const {
    return m_input_index[t] >= 0 ? inputs[m_input_index[t]] : arena + B * m_act_off[t];
  }
  T* grad_ptr(T* arena, std::int64_t B, T* const* input_grads, std::size_t t) const {
    if (m_input_index[t] >= 0) return input_grads ? input_grads[m_input_index[t]] : nullptr;
    return arena + B * m_grad_off[t];
  }

  void layout_parameters() {
    constexpr std::int64_t align = std::int64_t(storage_alignment / sizeof(T));
    std::int64_t total = 0, state_total = 0;
    std::int64_t max_np = 0;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      owned.push_back(topo.layers[i].submodel == nullptr);
      param_offset.push_back(total);
      state_offset.push_back(state_total);
      if (!owned.back()) continue;
      const std::int64_t n = layers[i]->num_params(), m = layers[i]->num_state();
      num_params += n;
      num_state += m;
      total += (n + align - 1) / align * align;
      state_total += (m + align - 1) / align * align;
    }
    params = Tensor<T, Device>(Shape{total});
    grads = Tensor<T, Device>(Shape{total});
    state = Tensor<T, Device>(Shape{state_total});
    if (total > 0) {
      Tensor<T, cpu> zeros(Shape{total}, T(0));
      ::hepnn::detail::copy_bytes<Device, cpu>(grads.data(), zeros.data(), sizeof(T) * std::size_t(total));
    }
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (!owned[i]) continue;
      layers[i]->bind(params.data() + param_offset[i], grads.data() + param_offset[i]);
      layers[i]->bind_state(state.data() + state_offset[i]);
      // a layer called more than once (or a model used as a layer that is called more than once)
      // adds its later calls' gradients from the scratch
      max_np = std::max(max_np, layers[i]->num_params());
    }
    m_param_scratch = Tensor<T, Device>(Shape{max_np});
  }

  // The arena's regions, per sample: the calls' outputs first (the same in both modes), then in
  // inference the workspaces that forward needs without a backward (models used as layers),
  // in training the tensors' gradients, the workspaces and the gradient scratch.
  void plan() {
    const std::size_t nt = topo.tensors.size(), nc = topo.calls.size();
    m_input_index.assign(nt, -1);
    for (std::size_t k = 0; k < topo.input_tensors.size(); ++k) m_input_index[topo.input_tensors[k]] = std::int64_t(k);
    m_act_off.assign(nt, -1);
    m_grad_off.assign(nt, -1);
    std::int64_t acts = 0;
    for (std::size_t t = 0; t < nt; ++t)
      if (m_input_index[t] < 0) {
        m_act_off[t] = acts;
        acts += round_up(topo.tensors[t]->shape.size());
      }
    std::int64_t infer = acts;
    m_infer_ws_off.assign(nc, -1);
    for (std::size_t c = 0; c < nc; ++c) {
      const std::int64_t w = layers[topo.calls[c].layer]->inference_workspace_per_sample();
      if (w > 0) {
        m_infer_ws_off[c] = infer;
        infer += round_up(w);
      }
    }
    m_infer_per_sample = infer;
    std::int64_t train = acts;
    for (std::size_t t = 0; t < nt; ++t)
      if (m_input_index[t] < 0) {
        m_grad_off[t] = train;
        train += round_up(topo.tensors[t]->shape.size());
      }
    m_ws_off.assign(nc, 0);
    for (std::size_t c = 0; c < nc; ++c) {
      const std::int64_t w = layers[topo.calls[c].layer]->workspace_per_sample();
      m_ws_off[c] = w > 0 ? train : -1;
      train += round_up(w);
    }
    // Backward runs the calls in reverse: the first to reach a tensor writes its gradient, later
    // ones write to scratch and add. Outputs start with the loss gradient.
    std::vector<bool> written(nt, false);
    for (std::size_t t : topo.output_tensors) written[t] = true;
    std::vector<bool> layer_seen(layers.size(), false);
    m_slot_scratch.assign(nc, {});
    m_param_direct.assign(nc, true);
    for (std::size_t c = nc; c-- > 0;) {
      const Call& call = topo.calls[c];
      m_param_direct[c] = !layer_seen[call.layer];
      layer_seen[call.layer] = true;
      for (std::size_t t : call.inputs) {
        if (!written[t]) {
          written[t] = true;
          m_slot_scratch[c].push_back(-1);
        } else {
          m_slot_scratch[c].push_back(train);
          train += round_up(topo.tensors[t]->shape.size());
        }
      }
    }
    m_train_per_sample = train;
  }

  std::vector<std::int64_t> m_input_index, m_act_off, m_grad_off, m_ws_off, m_infer_ws_off;
  std::vector<std::vector<std::int64_t>> m_slot_scratch;
  std::vector<bool> m_param_direct;
  std::int64_t m_infer_per_sample = 0, m_train_per_sample = 0;
  Tensor<T, Device> m_param_scratch;
};

}  // namespace hepnn::graph
