/// @file train/sequential_step.hpp
/// @brief Sequential's parameter layout, checks, forward and backward passes, predict and
/// summary (included by train/sequential.hpp).
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <numeric>

#include "hepnn/train/sequential.hpp"

namespace hepnn::inline HEPNN_ABI {

template <class T, class Device>
void Sequential<T, Device>::build_layout() const {
  constexpr std::int64_t align = std::int64_t(storage_alignment / sizeof(T));
  Layout& L = m_layout;
  L = Layout{};
  std::int64_t total = 0, state_total = 0;
  for (const auto& l : m_layers) {
    L.offsets.push_back(total);
    L.num_params += l->num_params();
    total += (l->num_params() + align - 1) / align * align;
    L.state_offsets.push_back(state_total);
    L.num_state += l->num_state();
    state_total += (l->num_state() + align - 1) / align * align;
  }
  L.state = Tensor<T, Device>(Shape{state_total});
  L.params = Tensor<T, Device>(Shape{total});
  L.grads = Tensor<T, Device>(Shape{total});
  if (total > 0) {
    Tensor<T, cpu> zeros(Shape{total}, T(0));
    detail::copy_bytes<Device, cpu>(L.grads.data(), zeros.data(), sizeof(T) * std::size_t(total));
  }
  for (std::size_t i = 0; i < m_layers.size(); ++i) {
    m_layers[i]->bind_state(L.state.data() + L.state_offsets[i]);
    m_layers[i]->bind(L.params.data() + L.offsets[i], L.grads.data() + L.offsets[i]);
  }
  initialize_layers();
}

/// Every layer's parameters from m_seed (each layer keyed by its index, so that the values do
/// not depend on when the layout was made) and its state reset.
template <class T, class Device>
void Sequential<T, Device>::initialize_layers() const {
  Layout& L = m_layout;  // mutable: laid out once, under the lock of layout()
  Tensor<T, cpu> host(Shape{L.params.size()}, T(0));
  for (std::size_t i = 0; i < m_layers.size(); ++i)
    m_layers[i]->initialize(host.data() + L.offsets[i], m_seed, rng_stream::init + (std::uint64_t(i) << 33));
  detail::copy_bytes<Device, cpu>(L.params.data(), host.data(), sizeof(T) * std::size_t(host.size()));
  if (L.state.size() == 0) return;
  Tensor<T, cpu> st(Shape{L.state.size()}, T(0));
  for (std::size_t i = 0; i < m_layers.size(); ++i) m_layers[i]->initialize_state(st.data() + L.state_offsets[i]);
  detail::copy_bytes<Device, cpu>(L.state.data(), st.data(), sizeof(T) * std::size_t(st.size()));
}

template <class T, class Device>
void Sequential<T, Device>::initialize(std::uint64_t seed) {
  m_seed = seed;
  bool fresh = false;  // a first layout initialises from m_seed itself
  m_laid_out.ensure([&] {
    build_layout();
    fresh = true;
  });
  if (!fresh) initialize_layers();
  if (m_compiled) m_optimizer = Optimizer<T, Device>(m_optimizer.spec(), m_layout.params.size());
}

template <class T, class Device>
void Sequential<T, Device>::reset_state() {
  Layout& L = layout();
  if (L.state.size() == 0) return;
  Tensor<T, cpu> host(Shape{L.state.size()}, T(0));
  for (std::size_t i = 0; i < m_layers.size(); ++i) m_layers[i]->initialize_state(host.data() + L.state_offsets[i]);
  detail::copy_bytes<Device, cpu>(L.state.data(), host.data(), sizeof(T) * std::size_t(host.size()));
}

template <class T, class Device>
void Sequential<T, Device>::compile(const CompileOptions& o) {
  HEPNN_CHECK(!m_layers.empty(), "Sequential::compile: the model has no layers");
  const Shape& out = output_shape();
  HEPNN_CHECK(out.rank() == 1, "Sequential::compile: the model output per sample is ", out.str(),
              "; losses need a flat output (add Flatten{} or Dense{...} at the end)");
  if (std::holds_alternative<CategoricalCrossEntropy>(o.loss))
    HEPNN_CHECK(out[0] > 1, "Sequential::compile: CategoricalCrossEntropy needs at least 2 outputs, the last layer '",
                m_layers.back()->name(), "' has ", out[0], "; use BinaryCrossEntropy for one output");
  validate_loss(o.loss);
  metrics::validate_metrics(o.metrics);
  if (o.seed) initialize(*o.seed);
  m_loss = o.loss;
  m_metrics = o.metrics;
  m_optimizer = Optimizer<T, Device>(o.optimizer, layout().params.size());
  m_compiled = true;
}

template <class T, class Device>
void Sequential<T, Device>::summary(std::ostream& os) const {
  using detail::batch_shape, detail::human_bytes;
  const auto group = detail::group_digits;
  const Layout& L = layout();
  // Columns as wide as Keras' or as the longest entry ("batch_normalization_1 (BatchNormalization)").
  std::size_t w1 = 34, w2 = 22;
  for (const auto& l : m_layers) {
    w1 = std::max(w1, l->name().size() + l->type().size() + 5);
    w2 = std::max(w2, batch_shape(l->output_shape()).size() + 2);
  }
  auto row = [&](const std::string& a, const std::string& b, const std::string& c) {
    os << a << std::string(w1 > a.size() ? w1 - a.size() : 1, ' ') << b
       << std::string(w2 > b.size() ? w2 - b.size() : 1, ' ') << c << '\n';
  };
  const std::string rule(w1 + w2 + 14, '_'), dbl(w1 + w2 + 14, '=');
  os << "Model: Sequential<" << (std::is_same_v<T, float> ? "float" : "double") << ", " << Device::name << ">\n"
     << rule << '\n';
  row("Layer (type)", "Output Shape", "Param #");
  os << dbl << '\n';
  row("input (Input)", batch_shape(m_input_shape), "0");
  for (const auto& l : m_layers) {
    std::string d = l->describe();
    row(l->name() + " (" + l->type() + ")", batch_shape(l->output_shape()),
        group(l->num_params() + l->num_state()) + (d.empty() ? "" : "   " + d));
  }
  os << dbl << '\n'
     << "Total params: " << group(L.num_params + L.num_state) << " ("
     << human_bytes((L.num_params + L.num_state) * std::int64_t(sizeof(T))) << ")\nTrainable params: "
     << group(L.num_params) << "\nNon-trainable params: " << group(L.num_state) << '\n';
  if (m_compiled) os << "Loss: " << loss_name(m_loss) << ", optimizer: " << optimizer_name(m_optimizer.spec()) << '\n';
  os << rule << '\n';
}

template <class T, class Device>
void Sequential<T, Device>::predict(std::span<const T> x, std::span<T> out, Workspace& ws) const {
  const std::int64_t in_row = m_input_shape.size(), out_row = output_shape().size();
  const std::int64_t n = std::int64_t(x.size()) / in_row;
  HEPNN_CHECK(std::int64_t(x.size()) == n * in_row && std::int64_t(out.size()) == n * out_row,
              "Sequential::predict: ", x.size(), " input values and room for ", out.size(),
              " outputs do not fit events of ", m_input_shape.str(), " -> ", output_shape().str());
  if (!backend::cpu::all_finite(std::int64_t(x.size()), x.data()))  // one vectorised pass; where, only on failure
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!std::isfinite(x[i]))
        throw Error(detail::concat("Sequential::predict: input value ", x[i], " of event ", std::int64_t(i) / in_row,
                                   " (feature ", std::int64_t(i) % in_row, ") is not finite"));
  if (n == 0) return;
  layout();
  ensure(ws.buf, n, false);
  const T* rows = x.data();
  if (!m_transform.empty()) {  // the model's stored preprocessing, on a copy in the workspace
    ws.transformed.assign(rows, rows + n * in_row);
    m_transform.apply(ws.transformed.data(), n, in_row);
    rows = ws.transformed.data();
  }
  const T* y = forward_inference(ws.buf, stage_input(ws.buf, rows, n), n);
  detail::copy_bytes<cpu, Device>(out.data(), y, sizeof(T) * std::size_t(n * out_row));
}

/// predict() for inputs already checked (shape and finiteness).
template <class T, class Device>
Tensor<T, cpu> Sequential<T, Device>::predict_checked(const Tensor<T, cpu>& x, std::int64_t batch_size) const {
  HEPNN_CHECK(batch_size > 0, "Sequential::predict: batch_size must be positive, got ", batch_size);
  layout();
  const std::int64_t n = x.shape()[0];
  Tensor<T, cpu> out(output_shape().with_batch(n));
  Buffers buf;
  ensure(buf, std::min(batch_size, n), false);
  const std::int64_t in_row = m_input_shape.size(), out_row = output_shape().size();
  std::vector<T> transformed;  // the batch after the input transform, when the model has one
  for (std::int64_t b0 = 0; b0 < n; b0 += batch_size) {
    const std::int64_t B = std::min(batch_size, n - b0);
    const T* rows = x.data() + b0 * in_row;
    if (!m_transform.empty()) {
      transformed.assign(rows, rows + B * in_row);
      m_transform.apply(transformed.data(), B, in_row);
      rows = transformed.data();
    }
    const T* xin = stage_input(buf, rows, B);
    const T* y = forward_inference(buf, xin, B);
    detail::copy_bytes<cpu, Device>(out.data() + b0 * out_row, y, sizeof(T) * std::size_t(B * out_row));
  }
  return out;
}

template <class T, class Device>
void Sequential<T, Device>::check_inputs(const Tensor<T, cpu>& x, const char* who) const {
  HEPNN_CHECK(x.rank() >= 1 && x.shape().tail() == m_input_shape, who, ": inputs of shape ", x.shape().str(),
              " have per-sample shape ", x.rank() ? x.shape().tail().str() : std::string("()"),
              ", but the first layer '", m_layers.empty() ? std::string("input") : m_layers.front()->name(), "'",
              m_layers.empty() ? std::string() : " (" + m_layers.front()->type() + ")", " expects the model input ",
              m_input_shape.str());
  data::check_finite(x, std::string(who) + ": inputs");
}

template <class T, class Device>
void Sequential<T, Device>::check_dataset(const data::Dataset<T>& d, const char* who) const {
  HEPNN_CHECK(!d.empty(), who, ": the data set is empty");
  check_inputs(d.features(), who);
  const std::int64_t C = output_shape().size(), tc = target_cols(d);
  const bool labels = std::holds_alternative<CategoricalCrossEntropy>(m_loss) && tc == 1 && C > 1;
  // a custom loss reads as many target columns as it likes (a label and a mass, say)
  HEPNN_CHECK(tc == C || labels || is_custom(m_loss), who, ": targets of shape ", d.targets().shape().str(),
              " do not fit the output (", C, ",) of the last layer '", m_layers.back()->name(), "'");
  data::check_finite(d.targets(), std::string(who) + ": targets");
  data::check_finite(d.weights(), std::string(who) + ": weights");
  detail::check_loss_targets(m_loss, d.targets().data(), d.size(), tc, C, who);
}

template <class T, class Device>
std::vector<T> Sequential<T, Device>::effective_weights(const data::Dataset<T>& d,
                                                        const std::map<int, double>& cw) const {
  std::vector<T> w(d.weights().begin(), d.weights().end());
  if (cw.empty()) return w;
  const std::int64_t tc = target_cols(d);
  for (std::int64_t i = 0; i < d.size(); ++i) {
    auto it = cw.find(detail::event_class(d.targets().data() + i * tc, tc));
    if (it != cw.end()) w[std::size_t(i)] = T(double(w[std::size_t(i)]) * it->second);
  }
  return w;
}

template <class T, class Device>
void Sequential<T, Device>::ensure(Buffers& b, std::int64_t batch, bool training) const {
  if (b.capacity >= batch && (b.training || !training)) return;
  b = Buffers{};
  b.capacity = batch;
  b.training = training;
  b.act.emplace_back(std::is_same_v<Device, cpu> || training ? Shape{0} : m_input_shape.with_batch(batch));
  for (const auto& l : m_layers) {
    b.act.emplace_back(l->output_shape().with_batch(batch));
    if (training) {
      b.grad.emplace_back(l->input_shape().with_batch(batch));
      b.ws.emplace_back(Shape{batch * l->workspace_per_sample()});
    }
  }
  if (training) b.grad.emplace_back(output_shape().with_batch(batch));
}

/// On the CPU the layers read the caller's rows in place; other devices get a copy.
template <class T, class Device>
const T* Sequential<T, Device>::stage_input(Buffers& b, const T* host_rows, std::int64_t B) const {
  if constexpr (std::is_same_v<Device, cpu>) {
    return host_rows;
  } else {
    detail::copy_bytes<Device, cpu>(b.act[0].data(), host_rows, sizeof(T) * std::size_t(B * m_input_shape.size()));
    return b.act[0].data();
  }
}

template <class T, class Device>
const T* Sequential<T, Device>::forward(Buffers& b, const T* x, std::int64_t B, Pass pass) const {
  return forward_rows(b, x, pass, 0, B);
}

/// forward() on rows [r0, r0 + R) of a batch (b sized for it): each layer reads and writes those
/// rows of the activations and uses those rows' part of its training workspace; the pass's first
/// sample moves on by r0. Returns the whole batch's output buffer.
template <class T, class Device>
const T* Sequential<T, Device>::forward_rows(Buffers& b, const T* x, Pass pass, std::int64_t r0, std::int64_t R) const {
  pass.first_sample += r0;
  const T* in = x + r0 * m_input_shape.size();
  for (std::size_t i = 0; i < m_layers.size(); ++i) {
    pass.layer_index = std::int64_t(i);
    // training buffers: keep what backward needs
    T* ws = b.ws.empty() ? nullptr : b.ws[i].data() + r0 * m_layers[i]->workspace_per_sample();
    T* out = b.act[i + 1].data() + r0 * m_layers[i]->output_shape().size();
    m_layers[i]->forward(R, in, out, ws, pass);
    in = out;
  }
  return m_layers.empty() ? x : b.act.back().data();
}

/// The forward pass of inference (b sized by ensure(b, >= B, false)). On the CPU, more than
/// inference_chunk_rows events go through the whole model chunk by chunk (forward_rows), the chunks
/// spread over the threads (backend::cpu::inference_chunks; docs/architecture.md, "Inference in
/// row chunks"). Inference treats every event on its own, so a chunk computes what the whole batch
/// would for its rows, exactly where the layers' kernels are row-exact (the fused Dense kernel is).
template <class T, class Device>
const T* Sequential<T, Device>::forward_inference(Buffers& b, const T* x, std::int64_t B) const {
  const Pass pass{false, m_seed, 0, 0};
  if constexpr (std::is_same_v<Device, cpu>) {
    if (B > backend::cpu::inference_chunk_rows && !m_layers.empty()) {
      const double flops = 2.0 * double(layout().num_params) * double(B);  // the products of Dense-like layers
      backend::cpu::inference_chunks(B, flops, [&](std::int64_t r0, std::int64_t R) { forward_rows(b, x, pass, r0, R); });
      return b.act.back().data();
    }
  }
  return forward(b, x, B, pass);
}

/// Forward, loss, backward and (when step) an optimizer update on the events idx[0..B).
/// Returns sum_i w_i l_i of the batch; gradients are normalised by `norm`.
template <class T, class Device>
double Sequential<T, Device>::train_batch(const data::Dataset<T>& d, const T* weights, const std::int64_t* idx,
                                          std::int64_t B, double norm, bool training, bool step) {
  Layout& L = layout();
  Buffers& b = m_train;
  const std::int64_t in_row = m_input_shape.size(), C = output_shape().size(), tc = target_cols(d);
  // Gather the batch rows on the host (the staging buffers), then hand them to the device.
  const detail::StagedBatch<T> st = m_staging.next(B * in_row, B * tc, B);
  data::Dataset<T>::gather_rows(d.features(), idx, B, st.x);
  m_transform.apply(st.x, B, in_row);
  data::Dataset<T>::gather_rows(d.targets(), idx, B, st.y);
  for (std::int64_t i = 0; i < B; ++i) st.w[i] = weights[idx[i]];
  const T *x = st.x, *y = st.y, *w = st.w;
  detail::StagedBatch<T> on_device = st;
  if constexpr (!std::is_same_v<Device, cpu>) {
    // asynchronous copies from pinned memory on the copy stream; the forward pass waits for them
    on_device = m_staging.send(st);
    x = on_device.x;
    y = on_device.y;
    w = on_device.w;
  }
  Pass pass{training, m_seed, std::uint64_t(m_optimizer.iterations()), 0};
  const T* out = forward(b, x, B, pass);
  double loss;
  if (!is_custom(m_loss)) {
    loss = ops::loss_forward_backward<Device>(loss_params(m_loss), B, C, tc, out, y, w, norm, b.grad.back().data());
  } else if constexpr (std::is_same_v<Device, cpu>) {
    loss = detail::loss_on_host(m_loss, B, C, tc, out, st.y, st.w, norm, b.grad.back().data());
  } else {
    // a custom loss runs on the host: outputs down, gradient up (st.y and st.w are the host rows)
    m_custom_out.resize(std::size_t(B * C));
    m_custom_grad.resize(std::size_t(B * C));
    detail::copy_bytes<cpu, Device>(m_custom_out.data(), out, sizeof(T) * m_custom_out.size());
    loss = detail::loss_on_host(m_loss, B, C, tc, m_custom_out.data(), st.y, st.w, norm, m_custom_grad.data());
    detail::copy_bytes<Device, cpu>(b.grad.back().data(), m_custom_grad.data(), sizeof(T) * m_custom_grad.size());
  }
  HEPNN_CHECK(std::isfinite(loss), "the loss became ", loss,
              "; lower the learning rate, check the inputs for extreme values, or set clip_norm");
  for (std::size_t i = m_layers.size(); i-- > 0;) {
    pass.layer_index = std::int64_t(i);
    const T* xin = i == 0 ? x : b.act[i].data();
    T* dx = i == 0 ? nullptr : b.grad[i].data();
    m_layers[i]->backward(B, xin, b.act[i + 1].data(), b.grad[i + 1].data(), dx, b.ws[i].data(), pass);
  }
  if (step) {
    for (std::size_t i = 0; i < m_layers.size(); ++i) {
      pass.layer_index = std::int64_t(i);
      m_layers[i]->update_state(B, i == 0 ? x : b.act[i].data(), b.ws[i].data(), pass);
    }
    m_optimizer.step(L.params.data(), L.grads.data());
  }
  if constexpr (!std::is_same_v<Device, cpu>) m_staging.release(on_device);  // the slot may be refilled
  return loss;
}

/// Loss and metrics of host outputs against targets, keys prefixed.
template <class T, class Device>
Logs Sequential<T, Device>::score(const Tensor<T, cpu>& out, const Tensor<T, cpu>& targets, const T* w,
                                  const std::string& prefix) const {
  const std::int64_t n = out.shape()[0], C = output_shape().size(), tc = targets.size() / n;
  double wsum = 0;
  for (std::int64_t i = 0; i < n; ++i) wsum += double(w[i]);
  HEPNN_CHECK(wsum > 0, "evaluate: the sum of weights is ", wsum, "; it must be positive");
  Logs logs;
  logs[prefix + "loss"] =
      detail::loss_on_host(m_loss, n, C, tc, out.data(), targets.data(), w, wsum, static_cast<T*>(nullptr)) / wsum;
  if (!m_metrics.empty()) {
    const std::vector<T> s = metrics::scores_for_metrics(m_loss, out.data(), n, C);
    for (const auto& m : m_metrics)
      logs[prefix + metrics::metric_name(m)] = metrics::evaluate_metric(m, s, n, C, targets.data(), tc, w);
  }
  return logs;
}

}  // namespace hepnn
