/// @file train/sequential.hpp
/// @brief Sequential<T, Device>: a stack of layers with Keras-like compile / fit / evaluate /
/// predict / summary.
///
/// The parameters of all layers live in one flat buffer (and the gradients in another), so an
/// optimizer step is one fused pass. Activation buffers are sized once per batch size and
/// reused: the steady-state training loop does not allocate. predict() and evaluate() are
/// const and keep their buffers local, so several threads may call them on one model at once.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <numeric>
#include <optional>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "hepnn/core/tensor.hpp"
#include "hepnn/data/batch_source.hpp"
#include "hepnn/data/dataset.hpp"
#include "hepnn/data/input_transform.hpp"
#include "hepnn/layers/input.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/losses/compute.hpp"
#include "hepnn/optim/optimizer.hpp"
#include "hepnn/train/callbacks.hpp"
#include "hepnn/train/history.hpp"
#include "hepnn/train/metric_spec.hpp"
#include "hepnn/train/progress.hpp"
#include "hepnn/train/staging.hpp"
#include "hepnn/train/summary_format.hpp"

namespace hepnn::inline HEPNN_ABI {

struct CompileOptions {
  LossSpec loss = MeanSquaredError{};
  OptimizerSpec optimizer = Adam{};
  std::vector<metrics::MetricSpec> metrics = {};
  /// When set, re-initialises the weights from this seed (it also keys dropout and shuffling).
  std::optional<std::uint64_t> seed = {};
};

/// A reference to a data set in the options of fit (no copy is made).
template <class T>
struct DatasetRef {
  const data::Dataset<T>* ptr = nullptr;
  DatasetRef() = default;
  DatasetRef(const data::Dataset<T>& d) : ptr(&d) {}  // NOLINT: implicit on purpose
};

template <class T>
struct FitOptions {
  int epochs = 1;
  std::int64_t batch_size = 32;
  bool shuffle = true;                        // reshuffle the training events every epoch
  DatasetRef<T> validation = {};              // validation events, or
  double validation_split = 0.0;              // the last fraction of the training events (before shuffling)
  std::map<int, double> class_weight = {};    // class -> factor on the event weights
  std::vector<Callback> callbacks = {};
  int verbose = -1;                           // -1 auto (bar on a terminal), 0 silent, 1 bar, 2 one line per epoch
  int initial_epoch = 0;
  std::int64_t validation_batch_size = 1024;
};

struct EvaluateOptions {
  std::int64_t batch_size = 1024;
};

template <class T, class Device = cpu>
class Sequential {
 private:
  struct Buffers {
    std::int64_t capacity = 0;
    bool training = false;
    std::vector<Tensor<T, Device>> act;   // act[0]: predict's staged input (GPU only), act[i + 1]: output of layer i
    std::vector<Tensor<T, Device>> grad;  // grad[i]: d loss / d act[i]
    std::vector<Tensor<T, Device>> ws;    // per-layer training workspace
  };

 public:
  static constexpr std::uint64_t default_seed = 42;

  /// requires: the first spec is an Input; each spec fits the output shape of the one before.
  template <class... Specs>
  explicit Sequential(const Input& input, const Specs&... specs) : m_input_shape(input.shape) {
    HEPNN_CHECK(m_input_shape.rank() >= 1 && m_input_shape.size() > 0,
                "Sequential: Input needs a non-empty per-sample shape, got ", m_input_shape.str());
    (append(specs), ...);
    build_parameters();
  }
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;

  /// Appends a layer. All parameters are re-initialised and the model must be compiled again.
  template <class Spec>
  Sequential& add(const Spec& spec) {
    append(spec);
    build_parameters();
    m_compiled = false;
    return *this;
  }

  void compile(const CompileOptions& o) {
    HEPNN_CHECK(!m_layers.empty(), "Sequential::compile: the model has no layers");
    const Shape& out = output_shape();
    HEPNN_CHECK(out.rank() == 1, "Sequential::compile: the model output per sample is ", out.str(),
                "; losses need a flat output (add Flatten{} or Dense{...} at the end)");
    if (std::holds_alternative<CategoricalCrossEntropy>(o.loss))
      HEPNN_CHECK(out[0] > 1, "Sequential::compile: CategoricalCrossEntropy needs at least 2 outputs, the last layer '",
                  m_layers.back()->name(), "' has ", out[0], "; use BinaryCrossEntropy for one output");
    validate_loss(o.loss);
    if (o.seed) initialize(*o.seed);
    m_loss = o.loss;
    metrics::validate_metrics(o.metrics);
    m_metrics = o.metrics;
    m_optimizer = Optimizer<T, Device>(o.optimizer, m_params.size());
    m_compiled = true;
  }

  /// Draws all parameters again from `seed` (the seed also keys dropout masks and shuffling).
  void initialize(std::uint64_t seed) {
    m_seed = seed;
    Tensor<T, cpu> host(Shape{m_params.size()}, T(0));
    for (std::size_t i = 0; i < m_layers.size(); ++i)
      m_layers[i]->initialize(host.data() + m_offsets[i], seed, rng_stream::init + (std::uint64_t(i) << 33));
    detail::copy_bytes<Device, cpu>(m_params.data(), host.data(), sizeof(T) * std::size_t(host.size()));
    reset_state();
    if (m_compiled) m_optimizer = Optimizer<T, Device>(m_optimizer.spec(), m_params.size());
  }

  // ---- inspection ----
  const Shape& input_shape() const { return m_input_shape; }
  const Shape& output_shape() const { return m_layers.empty() ? m_input_shape : m_layers.back()->output_shape(); }
  std::size_t num_layers() const { return m_layers.size(); }
  const Layer<T, Device>& layer(std::size_t i) const { return *m_layers.at(i); }
  std::int64_t num_params() const { return m_num_params; }
  /// The flat parameter buffer (layer after layer, each slice 64-byte aligned) and its gradient.
  Tensor<T, Device>& parameters() { return m_params; }
  const Tensor<T, Device>& parameters() const { return m_params; }
  const Tensor<T, Device>& gradients() const { return m_grads; }
  /// Offset of layer i's first parameter in the flat buffer.
  std::int64_t parameter_offset(std::size_t i) const { return m_offsets.at(i); }
  /// Non-trainable state of all layers (BatchNormalization's moving statistics), laid out like
  /// the parameters: layer after layer, each slice 64-byte aligned. Empty when no layer has state.
  Tensor<T, Device>& state() { return m_state; }
  const Tensor<T, Device>& state() const { return m_state; }
  std::int64_t state_offset(std::size_t i) const { return m_state_offsets.at(i); }
  std::int64_t num_state() const { return m_num_state; }
  /// Puts every layer's state back to its initial value (moving mean 0, moving variance 1).
  void reset_state() {
    if (m_state.size() == 0) return;
    Tensor<T, cpu> host(Shape{m_state.size()}, T(0));
    for (std::size_t i = 0; i < m_layers.size(); ++i) m_layers[i]->initialize_state(host.data() + m_state_offsets[i]);
    detail::copy_bytes<Device, cpu>(m_state.data(), host.data(), sizeof(T) * std::size_t(host.size()));
  }
  bool compiled() const { return m_compiled; }
  std::uint64_t seed() const { return m_seed; }
  Optimizer<T, Device>& optimizer() { return m_optimizer; }
  const Optimizer<T, Device>& optimizer() const { return m_optimizer; }
  const std::vector<metrics::MetricSpec>& metrics() const { return m_metrics; }

  /// Preprocessing applied to every input at the start of predict, evaluate and fit (fitted on
  /// the training part: data/preprocessing.hpp); saved in model files. An empty one removes it.
  void set_input_transform(data::InputTransform<T> t) {
    t.check(m_input_shape.size());
    m_transform = std::move(t);
  }
  const data::InputTransform<T>& input_transform() const { return m_transform; }
  const LossSpec& loss() const { return m_loss; }

  /// Keras-like table of the layers, output shapes and parameter counts.
  void summary(std::ostream& os = std::cout) const {
    using detail::batch_shape, detail::human_bytes;
    const auto group = detail::group_digits;
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
       << "Total params: " << group(m_num_params + m_num_state) << " ("
       << human_bytes((m_num_params + m_num_state) * std::int64_t(sizeof(T))) << ")\nTrainable params: "
       << group(m_num_params) << "\nNon-trainable params: " << group(m_num_state) << '\n';
    if (m_compiled)
      os << "Loss: " << loss_name(m_loss) << ", optimizer: " << optimizer_name(m_optimizer.spec()) << '\n';
    os << rule << '\n';
  }

  // ---- inference ----

  /// Scratch buffers for allocation-free inference. Give each thread its own: a Workspace may
  /// not be used by two calls at once, the model may.
  class Workspace {
   public:
    Workspace() = default;

   private:
    friend class Sequential;
    Buffers buf;
    std::vector<T> transformed;  // inputs after the model's input transform, when it has one
  };

  /// The hot path for event loops: outputs of the n = x.size() / input size events in x
  /// (row-major, as predict's tensors) written to out, using ws's buffers. After the first call
  /// with a given (or larger) number of events, nothing is allocated. Inputs are checked for
  /// NaN and infinity; sizes must match exactly.
  void predict(std::span<const T> x, std::span<T> out, Workspace& ws) const {
    const std::int64_t in_row = m_input_shape.size(), out_row = output_shape().size();
    const std::int64_t n = std::int64_t(x.size()) / in_row;
    HEPNN_CHECK(std::int64_t(x.size()) == n * in_row && std::int64_t(out.size()) == n * out_row,
                "Sequential::predict: ", x.size(), " input values and room for ", out.size(),
                " outputs do not fit events of ", m_input_shape.str(), " -> ", output_shape().str());
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!std::isfinite(x[i]))
        throw Error(detail::concat("Sequential::predict: input value ", x[i], " of event ", std::int64_t(i) / in_row,
                                   " (feature ", std::int64_t(i) % in_row, ") is not finite"));
    if (n == 0) return;
    ensure(ws.buf, n, false);
    const T* rows = x.data();
    if (!m_transform.empty()) {  // the model's stored preprocessing, on a copy in the workspace
      ws.transformed.assign(rows, rows + n * in_row);
      m_transform.apply(ws.transformed.data(), n, in_row);
      rows = ws.transformed.data();
    }
    const T* y = forward(ws.buf, stage_input(ws.buf, rows, n), n, Pass{false, m_seed, 0, 0});
    detail::copy_bytes<cpu, Device>(out.data(), y, sizeof(T) * std::size_t(n * out_row));
  }

  /// Outputs (N, output_shape...) for inputs (N, input_shape...), in batches. Thread-safe on a
  /// const model: buffers are local to the call.
  Tensor<T, cpu> predict(const Tensor<T, cpu>& x, std::int64_t batch_size = 1024) const {
    check_inputs(x, "predict");
    return predict_checked(x, batch_size);
  }

  /// Loss and metrics over a data set: the exact weighted means (sum w l / sum w).
  Logs evaluate(const data::Dataset<T>& d, EvaluateOptions o = {}) const {
    require_compiled("evaluate");
    check_dataset(d, "evaluate");
    return score(predict_checked(d.features(), o.batch_size), d.targets(), d.weights().data(), "");
  }

  /// Convenience: evaluate on (x, y) tensors, with event weights w when given.
  Logs evaluate(const Tensor<T, cpu>& x, const Tensor<T, cpu>& y, const Tensor<T, cpu>* w = nullptr,
                EvaluateOptions o = {}) const {
    return evaluate(data::Dataset<T>(x.clone(), y.clone(), w ? w->clone() : Tensor<T, cpu>{}), o);
  }

  /// The weighted mean loss of (x, y, w) and its gradient with respect to every parameter,
  /// written to gradients(); `training` switches dropout on (with the current step's masks).
  /// For gradient checks and custom training loops.
  double loss_and_gradients(const Tensor<T, cpu>& x, const Tensor<T, cpu>& y, const Tensor<T, cpu>* w = nullptr,
                            bool training = false) {
    require_compiled("loss_and_gradients");
    const data::Dataset<T> d(x.clone(), y.clone(), w ? w->clone() : Tensor<T, cpu>{});
    check_dataset(d, "loss_and_gradients");
    const std::int64_t B = d.size();
    ensure(m_train, B, true);
    const double wsum = d.sum_of_weights();
    HEPNN_CHECK(wsum > 0, "loss_and_gradients: the sum of weights is ", wsum, "; it must be positive");
    std::vector<std::int64_t> idx(static_cast<std::size_t>(B));
    std::iota(idx.begin(), idx.end(), std::int64_t{0});
    return train_batch(d, d.weights().data(), idx.data(), B, wsum, training, false) / wsum;
  }

  // ---- training ----

  /// One optimizer step on all events of `batch` (as one batch), like Keras' train_on_batch:
  /// for custom training loops and benchmarks. Returns the batch's weighted mean loss (before
  /// the step). Gradients are normalised by the batch's own sum of weights. No allocation after
  /// the first call with a batch of this size or larger.
  double train_on_batch(const data::Dataset<T>& batch) {
    require_compiled("train_on_batch");
    check_dataset(batch, "train_on_batch");
    const std::int64_t B = batch.size();
    const double wsum = batch.sum_of_weights();
    HEPNN_CHECK(wsum > 0, "train_on_batch: the sum of weights is ", wsum, "; it must be positive");
    ensure(m_train, B, true);
    if (std::int64_t(m_batch_index.size()) < B) {
      m_batch_index.resize(std::size_t(B));
      std::iota(m_batch_index.begin(), m_batch_index.end(), std::int64_t{0});
    }
    return train_batch(batch, batch.weights().data(), m_batch_index.data(), B, wsum, true, true) / wsum;
  }

  History fit(const data::Dataset<T>& train_in, const FitOptions<T>& o) {
    require_compiled("fit");
    HEPNN_CHECK(o.epochs >= 0 && o.initial_epoch >= 0, "fit: epochs (", o.epochs, ") and initial_epoch (",
                o.initial_epoch, ") must be >= 0");
    HEPNN_CHECK(o.batch_size > 0, "fit: batch_size must be positive, got ", o.batch_size);
    HEPNN_CHECK(o.validation_split >= 0 && o.validation_split < 1, "fit: validation_split must be in [0, 1), got ",
                o.validation_split);
    HEPNN_CHECK(!(o.validation.ptr && o.validation_split > 0), "fit: give validation data or validation_split, not both");
    check_dataset(train_in, "fit (training data)");

    // A validation_split takes the last events, before any shuffling (as Keras does).
    data::Dataset<T> split_train, split_val;
    const data::Dataset<T>* train = &train_in;
    const data::Dataset<T>* val = o.validation.ptr;
    if (o.validation_split > 0) {
      const std::int64_t n_val = std::int64_t(std::llround(o.validation_split * double(train_in.size())));
      HEPNN_CHECK(n_val > 0 && n_val < train_in.size(), "fit: validation_split ", o.validation_split, " of ",
                  train_in.size(), " events leaves an empty part");
      split_train = train_in.slice(0, train_in.size() - n_val);
      split_val = train_in.slice(train_in.size() - n_val, train_in.size());
      train = &split_train;
      val = &split_val;
    }
    if (val) check_dataset(*val, "fit (validation data)");

    const std::int64_t n = train->size();
    const std::vector<T> weights = effective_weights(*train, o.class_weight);
    const double wsum = sum(weights);
    HEPNN_CHECK(wsum > 0, "fit: the training events' sum of weights is ", wsum, "; it must be positive");
    std::vector<T> val_weights;
    if (val) {
      val_weights = effective_weights(*val, o.class_weight);
      const double vs = sum(val_weights);
      HEPNN_CHECK(vs > 0, "fit: the validation events' sum of weights is ", vs, "; it must be positive");
    }
    const double mean_w = wsum / double(n);
    const std::int64_t bs = std::min(o.batch_size, n);
    const std::int64_t batches = (n + bs - 1) / bs;
    ensure(m_train, bs, true);

    Control control(*this);
    std::vector<std::shared_ptr<CallbackBase>> cbs;
    for (const auto& c : o.callbacks) cbs.push_back(c.instantiate());
    ProgressBar bar(o.verbose);
    control.bar = &bar;
    History history;
    const std::int64_t out_row = output_shape().size();
    std::vector<T> epoch_out(m_metrics.empty() ? 0 : std::size_t(n * out_row));
    std::vector<T> batch_out(m_metrics.empty() ? 0 : std::size_t(bs * out_row));  // reused every batch

    for (auto& c : cbs) c->on_train_begin(control);
    for (int epoch = o.initial_epoch; epoch < o.epochs && !control.stopped; ++epoch) {
      for (auto& c : cbs) c->on_epoch_begin(epoch, control);
      std::vector<std::int64_t> order =
          o.shuffle ? data::permutation(n, m_seed, rng_stream::shuffle + std::uint64_t(epoch)) : iota(n);
      bar.epoch_begin(epoch, o.epochs, batches, n);
      double loss_sum = 0, seen_w = 0;
      for (std::int64_t b = 0; b < batches; ++b) {
        const std::int64_t b0 = b * bs, B = std::min(bs, n - b0);
        double batch_loss;
        try {
          batch_loss = train_batch(*train, weights.data(), order.data() + b0, B, double(B) * mean_w, true, true);
        } catch (const Error& e) {
          throw Error(detail::concat("fit: epoch ", epoch + 1, ", batch ", b + 1, " of ", batches, ": ",
                                     std::string(e.what()).substr(7)));
        }
        if (!m_metrics.empty()) {
          detail::copy_bytes<cpu, Device>(batch_out.data(), m_train.act.back().data(),
                                          sizeof(T) * std::size_t(B * out_row));
          for (std::int64_t i = 0; i < B; ++i)
            std::copy_n(batch_out.data() + i * out_row, out_row, epoch_out.data() + order[std::size_t(b0 + i)] * out_row);
        }
        loss_sum += batch_loss;
        for (std::int64_t i = 0; i < B; ++i) seen_w += double(weights[std::size_t(order[std::size_t(b0 + i)])]);
        const double running = loss_sum / seen_w;
        bar.batch_end(b, b0 + B, running);
        for (auto& c : cbs) c->on_batch_end(epoch, b, double(batch_loss) / (double(B) * mean_w), control);
      }
      Logs logs;
      logs["loss"] = loss_sum / wsum;
      if (!m_metrics.empty()) {
        const std::vector<T> s = metrics::scores_for_metrics(m_loss, epoch_out.data(), n, out_row);
        for (const auto& m : m_metrics)
          logs[metrics::metric_name(m)] =
              metrics::evaluate_metric(m, s, n, out_row, train->targets().data(), target_cols(*train), weights.data());
      }
      end_epoch(epoch, logs, val, val_weights.data(), o.validation_batch_size, bar, history, cbs, control);
    }
    for (auto& c : cbs) c->on_train_end(control);
    history.stop_reason = control.reason;
    return history;
  }

  /// Training from a batch source (a file larger than memory: io::StreamingSource). Like fit on
  /// a data set, except: the source decides the order (shuffle asks it for a new one each
  /// epoch), validation data must be given in memory (no validation_split), and training
  /// metrics are not computed (validation metrics are).
  History fit(data::BatchSource<T>& src, const FitOptions<T>& o) {
    require_compiled("fit");
    HEPNN_CHECK(o.epochs >= 0 && o.initial_epoch >= 0 && o.batch_size > 0, "fit: epochs, initial_epoch must be >= 0 and batch_size > 0");
    HEPNN_CHECK(o.validation_split == 0 && o.class_weight.empty(),
                "fit: with a batch source, give validation data instead of validation_split; class_weight is not supported");
    const std::int64_t n = src.size();
    const double wsum = src.sum_of_weights();
    HEPNN_CHECK(n > 0 && wsum > 0, "fit: the batch source has ", n, " events of weight sum ", wsum, "; both must be positive");
    const data::Dataset<T>* val = o.validation.ptr;
    if (val) check_dataset(*val, "fit (validation data)");
    const double mean_w = wsum / double(n);
    const std::int64_t bs = std::min(o.batch_size, n);
    ensure(m_train, bs, true);
    Control control(*this);
    std::vector<std::shared_ptr<CallbackBase>> cbs;
    for (const auto& c : o.callbacks) cbs.push_back(c.instantiate());
    ProgressBar bar(o.verbose);
    control.bar = &bar;
    History history;
    std::vector<std::int64_t> idx = iota(bs);
    data::Dataset<T> batch;
    for (auto& c : cbs) c->on_train_begin(control);
    for (int epoch = o.initial_epoch; epoch < o.epochs && !control.stopped; ++epoch) {
      for (auto& c : cbs) c->on_epoch_begin(epoch, control);
      src.start_epoch(epoch, o.shuffle);
      const std::int64_t batches = (n + bs - 1) / bs;
      bar.epoch_begin(epoch, o.epochs, batches, n);
      double loss_sum = 0, seen_w = 0;
      std::int64_t b = 0, seen = 0;
      while (src.next(bs, batch)) {
        check_dataset(batch, "fit (batch source)");
        const std::int64_t B = batch.size();
        double batch_loss;
        try {
          batch_loss = train_batch(batch, batch.weights().data(), idx.data(), B, double(B) * mean_w, true, true);
        } catch (const Error& e) {
          throw Error(detail::concat("fit: epoch ", epoch + 1, ", batch ", b + 1, ": ", std::string(e.what()).substr(7)));
        }
        loss_sum += batch_loss;
        seen_w += batch.sum_of_weights();
        seen += B;
        bar.batch_end(b, seen, loss_sum / seen_w);
        for (auto& c : cbs) c->on_batch_end(epoch, b, batch_loss / (double(B) * mean_w), control);
        ++b;
      }
      HEPNN_CHECK(seen == n, "fit: the batch source gave ", seen, " events in epoch ", epoch + 1, ", expected ", n);
      Logs logs;
      logs["loss"] = loss_sum / wsum;
      end_epoch(epoch, logs, val, val ? val->weights().data() : nullptr, o.validation_batch_size, bar, history, cbs,
                control);
    }
    for (auto& c : cbs) c->on_train_end(control);
    history.stop_reason = control.reason;
    return history;
  }

  /// The weighted mean loss over a batch source (metrics need every prediction at once: use
  /// evaluate on a data set for those).
  Logs evaluate(data::BatchSource<T>& src, EvaluateOptions o = {}) const {
    require_compiled("evaluate");
    src.start_epoch(0, false);
    data::Dataset<T> batch;
    double loss = 0, wsum = 0;
    while (src.next(o.batch_size, batch)) {
      check_dataset(batch, "evaluate (batch source)");
      const double w = batch.sum_of_weights();
      const Tensor<T, cpu> out = predict_checked(batch.features(), o.batch_size);
      loss += detail::loss_on_host(m_loss, batch.size(), output_shape().size(), target_cols(batch), out.data(),
                                   batch.targets().data(), batch.weights().data(), 1.0, static_cast<T*>(nullptr));
      wsum += w;
    }
    HEPNN_CHECK(wsum > 0, "evaluate: the sum of weights is ", wsum, "; it must be positive");
    return Logs{{"loss", loss / wsum}};
  }

  /// Convenience: fit on (x, y) tensors, or (x, y, w) with event weights w (N).
  History fit(const Tensor<T, cpu>& x, const Tensor<T, cpu>& y, const FitOptions<T>& o) {
    return fit(data::Dataset<T>(x.clone(), y.clone()), o);
  }
  History fit(const Tensor<T, cpu>& x, const Tensor<T, cpu>& y, const Tensor<T, cpu>& w, const FitOptions<T>& o) {
    return fit(data::Dataset<T>(x.clone(), y.clone(), w.clone()), o);
  }

 private:

  class Control final : public TrainingControl {
   public:
    explicit Control(Sequential& m) : m_model(m) {}
    double learning_rate() const override { return m_model.m_optimizer.learning_rate(); }
    double learning_rate_factor() const override { return m_model.m_optimizer.factor(); }
    void set_learning_rate_factor(double f) override { m_model.m_optimizer.set_factor(f); }
    void stop_training(const std::string& why) override {
      stopped = true;
      reason = why;
    }
    /// The parameters followed by the non-trainable state.
    std::vector<double> get_weights() const override {
      const std::vector<T> h = m_model.m_params.to_vector(), s = m_model.m_state.to_vector();
      std::vector<double> r(h.begin(), h.end());
      r.insert(r.end(), s.begin(), s.end());
      return r;
    }
    void set_weights(const std::vector<double>& w) override {
      const std::int64_t np = m_model.m_params.size(), ns = m_model.m_state.size();
      HEPNN_CHECK(std::int64_t(w.size()) == np + ns, "set_weights: ", w.size(), " values for a model with ", np,
                  " parameters and ", ns, " state values");
      const std::vector<T> h(w.begin(), w.begin() + np), s(w.begin() + np, w.end());
      detail::copy_bytes<Device, cpu>(m_model.m_params.data(), h.data(), sizeof(T) * h.size());
      if (ns) detail::copy_bytes<Device, cpu>(m_model.m_state.data(), s.data(), sizeof(T) * s.size());
    }
    void message(const std::string& line) override {
      if (bar) bar->message(line);
    }
    bool stopped = false;
    std::string reason;
    ProgressBar* bar = nullptr;

   private:
    Sequential& m_model;
  };

  /// The end of an epoch, the same for both fits: validation loss and metrics (val_weights are
  /// the validation events' effective weights), the learning rate, the progress line, the
  /// history and the callbacks.
  void end_epoch(int epoch, Logs& logs, const data::Dataset<T>* val, const T* val_weights,
                 std::int64_t validation_batch_size, ProgressBar& bar, History& history,
                 std::vector<std::shared_ptr<CallbackBase>>& cbs, Control& control) {
    if (val) {
      const Tensor<T, cpu> vout = predict_checked(val->features(), validation_batch_size);
      for (const auto& [k, v] : score(vout, val->targets(), val_weights, "val_")) logs[k] = v;
    }
    logs["lr"] = m_optimizer.learning_rate();
    bar.epoch_end(logs);
    history.append(epoch, logs);
    for (auto& c : cbs) c->on_epoch_end(epoch, logs, control);
  }

  /// predict() for inputs already checked (shape and finiteness).
  Tensor<T, cpu> predict_checked(const Tensor<T, cpu>& x, std::int64_t batch_size) const {
    HEPNN_CHECK(batch_size > 0, "Sequential::predict: batch_size must be positive, got ", batch_size);
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
      const T* y = forward(buf, xin, B, Pass{false, m_seed, 0, 0});
      detail::copy_bytes<cpu, Device>(out.data() + b0 * out_row, y, sizeof(T) * std::size_t(B * out_row));
    }
    return out;
  }

  static double sum(const std::vector<T>& v) {
    double s = 0;
    for (T x : v) s += double(x);
    return s;
  }

  static std::vector<std::int64_t> iota(std::int64_t n) {
    std::vector<std::int64_t> v(static_cast<std::size_t>(n));
    std::iota(v.begin(), v.end(), std::int64_t{0});
    return v;
  }

  template <class Spec>
  void append(const Spec& spec) {
    if constexpr (std::is_same_v<Spec, Input>) {
      throw Error("Sequential: Input may only be the first entry");
    } else {
      const std::string base = Spec::type_name;
      const std::string auto_name = base + "_" + std::to_string(++m_name_counts[base]);
      auto layer = spec.template build<T, Device>(output_shape(), auto_name);
      for (const auto& l : m_layers)
        HEPNN_CHECK(l->name() != layer->name(), "Sequential: two layers are named '", layer->name(), "'");
      m_layers.push_back(std::move(layer));
    }
  }

  void build_parameters() {
    constexpr std::int64_t align = std::int64_t(storage_alignment / sizeof(T));
    m_offsets.clear();
    std::int64_t total = 0;
    m_num_params = 0;
    for (const auto& l : m_layers) {
      m_offsets.push_back(total);
      const std::int64_t n = l->num_params();
      m_num_params += n;
      total += (n + align - 1) / align * align;
    }
    m_state_offsets.clear();
    std::int64_t state_total = 0;
    m_num_state = 0;
    for (const auto& l : m_layers) {
      m_state_offsets.push_back(state_total);
      const std::int64_t n = l->num_state();
      m_num_state += n;
      state_total += (n + align - 1) / align * align;
    }
    m_state = Tensor<T, Device>(Shape{state_total});
    for (std::size_t i = 0; i < m_layers.size(); ++i) m_layers[i]->bind_state(m_state.data() + m_state_offsets[i]);
    m_params = Tensor<T, Device>(Shape{total});
    m_grads = Tensor<T, Device>(Shape{total});
    if (total > 0) {
      Tensor<T, cpu> zeros(Shape{total}, T(0));
      detail::copy_bytes<Device, cpu>(m_grads.data(), zeros.data(), sizeof(T) * std::size_t(total));
    }
    for (std::size_t i = 0; i < m_layers.size(); ++i)
      m_layers[i]->bind(m_params.data() + m_offsets[i], m_grads.data() + m_offsets[i]);
    m_train = Buffers{};
    initialize(m_seed);
  }

  void require_compiled(const char* what) const {
    HEPNN_CHECK(m_compiled, "Sequential::", what, ": call compile() first");
  }

  std::int64_t target_cols(const data::Dataset<T>& d) const { return d.size() ? d.targets().size() / d.size() : 0; }

  void check_inputs(const Tensor<T, cpu>& x, const char* who) const {
    HEPNN_CHECK(x.rank() >= 1 && x.shape().tail() == m_input_shape, who, ": inputs of shape ", x.shape().str(),
                " have per-sample shape ", x.rank() ? x.shape().tail().str() : std::string("()"),
                ", but the first layer '", m_layers.empty() ? std::string("input") : m_layers.front()->name(), "'",
                m_layers.empty() ? std::string() : " (" + m_layers.front()->type() + ")", " expects the model input ",
                m_input_shape.str());
    data::check_finite(x, std::string(who) + ": inputs");
  }

  void check_dataset(const data::Dataset<T>& d, const char* who) const {
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

  std::vector<T> effective_weights(const data::Dataset<T>& d, const std::map<int, double>& cw) const {
    std::vector<T> w(d.weights().begin(), d.weights().end());
    if (cw.empty()) return w;
    const std::int64_t tc = target_cols(d);
    for (std::int64_t i = 0; i < d.size(); ++i) {
      const T* t = d.targets().data() + i * tc;
      const int label = tc == 1 ? int(std::lround(double(t[0]))) : int(std::max_element(t, t + tc) - t);
      auto it = cw.find(label);
      if (it != cw.end()) w[std::size_t(i)] = T(double(w[std::size_t(i)]) * it->second);
    }
    return w;
  }

  void ensure(Buffers& b, std::int64_t batch, bool training) const {
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
    if (training) {
      b.grad.emplace_back(output_shape().with_batch(batch));
    }
  }

  /// On the CPU the layers read the caller's rows in place; other devices get a copy.
  const T* stage_input(Buffers& b, const T* host_rows, std::int64_t B) const {
    if constexpr (std::is_same_v<Device, cpu>) {
      return host_rows;
    } else {
      detail::copy_bytes<Device, cpu>(b.act[0].data(), host_rows, sizeof(T) * std::size_t(B * m_input_shape.size()));
      return b.act[0].data();
    }
  }

  const T* forward(Buffers& b, const T* x, std::int64_t B, Pass pass) const {
    const T* in = x;
    for (std::size_t i = 0; i < m_layers.size(); ++i) {
      pass.layer_index = std::int64_t(i);
      T* ws = b.ws.empty() ? nullptr : b.ws[i].data();  // training buffers: keep what backward needs
      m_layers[i]->forward(B, in, b.act[i + 1].data(), ws, pass);
      in = b.act[i + 1].data();
    }
    return in;
  }

  /// Forward, loss, backward and (when step) an optimizer update on the events idx[0..B).
  /// Returns sum_i w_i l_i of the batch; gradients are normalised by `norm`.
  double train_batch(const data::Dataset<T>& d, const T* weights, const std::int64_t* idx, std::int64_t B,
                     double norm, bool training, bool step) {
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
      T* ws = b.ws[i].data();
      m_layers[i]->backward(B, xin, b.act[i + 1].data(), b.grad[i + 1].data(), dx, ws, pass);
    }
    if (step) {
      for (std::size_t i = 0; i < m_layers.size(); ++i) {
        pass.layer_index = std::int64_t(i);
        m_layers[i]->update_state(B, i == 0 ? x : b.act[i].data(), b.ws[i].data(), pass);
      }
      m_optimizer.step(m_params.data(), m_grads.data());
    }
    if constexpr (!std::is_same_v<Device, cpu>) m_staging.release(on_device);  // the slot may be refilled
    return loss;
  }

  /// Loss and metrics of host outputs against targets, keys prefixed.
  Logs score(const Tensor<T, cpu>& out, const Tensor<T, cpu>& targets, const T* w, const std::string& prefix) const {
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

  Shape m_input_shape;
  std::vector<std::unique_ptr<Layer<T, Device>>> m_layers;
  std::map<std::string, int> m_name_counts;
  std::vector<std::int64_t> m_offsets;
  std::int64_t m_num_params = 0;
  Tensor<T, Device> m_params, m_grads;
  std::vector<std::int64_t> m_state_offsets;
  std::int64_t m_num_state = 0;
  Tensor<T, Device> m_state;
  std::uint64_t m_seed = default_seed;
  bool m_compiled = false;
  LossSpec m_loss = MeanSquaredError{};
  std::vector<metrics::MetricSpec> m_metrics;
  Optimizer<T, Device> m_optimizer;
  Buffers m_train;
  std::vector<T> m_custom_out, m_custom_grad;  // host copies for a custom loss on the GPU
  detail::BatchStaging<T, Device> m_staging;  // host side of each training batch
  std::vector<std::int64_t> m_batch_index;  // 0, 1, 2, ... for train_on_batch
  data::InputTransform<T> m_transform;
};

}  // namespace hepnn
