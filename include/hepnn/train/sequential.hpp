/// @file train/sequential.hpp
/// @brief Sequential<T, Device>: a stack of layers with Keras-like compile / fit / evaluate /
/// predict / summary.
///
/// The parameters of all layers live in one flat buffer (and the gradients in another), so an
/// optimizer step is one fused pass. The buffers are laid out once, at the first use after the
/// last add() (loading an L-layer file lays out once, not L times). Activation buffers are sized
/// once per batch size and reused: the steady-state training loop does not allocate. predict()
/// and evaluate() are const and keep their buffers local, so several threads may call them on
/// one model at once.
///
/// The member functions are defined in train/sequential_step.hpp (the forward and backward
/// passes, the checks, predict and summary) and train/sequential_fit.hpp (fit and evaluate
/// through the shared epoch loop of train/epoch_loop.hpp), both included at the end of this file.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <memory>
#include <atomic>
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
#include "hepnn/train/epoch_loop.hpp"
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

namespace detail {
/// The class of an event for class weights: the rounded target when there is one target column,
/// else the column of the largest target (one-hot). Used by Sequential and Model alike.
template <class T>
int event_class(const T* targets, std::int64_t cols) {
  return cols == 1 ? int(std::lround(double(targets[0]))) : int(std::max_element(targets, targets + cols) - targets);
}

/// "Done once" for work that const members may trigger from several threads at once (the
/// lazy parameter layout of a model): the first caller runs it under a lock, the others wait,
/// later calls cost one atomic load. Movable (a moved model keeps its state); reset() only from
/// non-const members, which need the caller's exclusive access anyway.
class OnceFlag {
 public:
  OnceFlag() = default;
  OnceFlag(OnceFlag&& o) noexcept : m_done(o.m_done.load()) {}
  OnceFlag& operator=(OnceFlag&& o) noexcept {
    m_done.store(o.m_done.load());
    return *this;
  }
  void reset() { m_done.store(false); }
  template <class F>
  void ensure(F&& f) const {
    if (m_done.load(std::memory_order_acquire)) return;
    static std::mutex mutex;  // one for all models: first uses are rare and short
    const std::lock_guard<std::mutex> lock(mutex);
    if (m_done.load(std::memory_order_relaxed)) return;
    f();
    m_done.store(true, std::memory_order_release);
  }

 private:
  mutable std::atomic<bool> m_done{false};
};

/// The flat buffers of a Sequential and where each layer's slice starts.
template <class T, class Device>
struct SequentialLayout {
  std::vector<std::int64_t> offsets, state_offsets;
  std::int64_t num_params = 0, num_state = 0;
  Tensor<T, Device> params, grads, state;
};

}  // namespace detail

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
  using Layout = detail::SequentialLayout<T, Device>;

 public:
  static constexpr std::uint64_t default_seed = 42;

  /// requires: the first spec is an Input; each spec fits the output shape of the one before.
  template <class... Specs>
  explicit Sequential(const Input& input, const Specs&... specs) : m_input_shape(input.shape) {
    HEPNN_CHECK(m_input_shape.rank() >= 1 && m_input_shape.size() > 0,
                "Sequential: Input needs a non-empty per-sample shape, got ", m_input_shape.str());
    (append(specs), ...);
  }
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;

  /// Appends a layer. All parameters are initialised again from the seed (at the first use of
  /// the model after its last add) and the model must be compiled again.
  template <class Spec>
  Sequential& add(const Spec& spec) {
    append(spec);
    m_laid_out.reset();
    m_train = Buffers{};
    m_compiled = false;
    return *this;
  }

  void compile(const CompileOptions& o);

  /// Draws all parameters again from `seed` (the seed also keys dropout masks and shuffling).
  void initialize(std::uint64_t seed);

  // ---- inspection ----
  const Shape& input_shape() const { return m_input_shape; }
  const Shape& output_shape() const { return m_layers.empty() ? m_input_shape : m_layers.back()->output_shape(); }
  std::size_t num_layers() const { return m_layers.size(); }
  const Layer<T, Device>& layer(std::size_t i) const {
    layout();
    return *m_layers.at(i);
  }
  std::int64_t num_params() const { return layout().num_params; }
  /// The flat parameter buffer (layer after layer, each slice 64-byte aligned) and its gradient.
  Tensor<T, Device>& parameters() { return layout().params; }
  const Tensor<T, Device>& parameters() const { return layout().params; }
  const Tensor<T, Device>& gradients() const { return layout().grads; }
  /// Offset of layer i's first parameter in the flat buffer.
  std::int64_t parameter_offset(std::size_t i) const { return layout().offsets.at(i); }
  /// Non-trainable state of all layers (BatchNormalization's moving statistics), laid out like
  /// the parameters: layer after layer, each slice 64-byte aligned. Empty when no layer has state.
  Tensor<T, Device>& state() { return layout().state; }
  const Tensor<T, Device>& state() const { return layout().state; }
  std::int64_t state_offset(std::size_t i) const { return layout().state_offsets.at(i); }
  std::int64_t num_state() const { return layout().num_state; }
  /// Puts every layer's state back to its initial value (moving mean 0, moving variance 1).
  void reset_state();
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
  void summary(std::ostream& os = std::cout) const;

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
  void predict(std::span<const T> x, std::span<T> out, Workspace& ws) const;

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

  /// The weighted mean loss over a batch source (metrics need every prediction at once: use
  /// evaluate on a data set for those).
  Logs evaluate(data::BatchSource<T>& src, EvaluateOptions o = {}) const;

  /// The weighted mean loss of (x, y, w) and its gradient with respect to every parameter,
  /// written to gradients(); `training` switches dropout on (with the current step's masks).
  /// For gradient checks and custom training loops.
  double loss_and_gradients(const Tensor<T, cpu>& x, const Tensor<T, cpu>& y, const Tensor<T, cpu>* w = nullptr,
                            bool training = false);

  // ---- training ----

  /// One optimizer step on all events of `batch` (as one batch), like Keras' train_on_batch:
  /// for custom training loops and benchmarks. Returns the batch's weighted mean loss (before
  /// the step). Gradients are normalised by the batch's own sum of weights. No allocation after
  /// the first call with a batch of this size or larger.
  double train_on_batch(const data::Dataset<T>& batch);

  /// Training on events in memory: `o.epochs` passes in batches of `o.batch_size`, reshuffled
  /// every epoch when `o.shuffle`, with validation, class weights, callbacks and training metrics.
  History fit(const data::Dataset<T>& train, const FitOptions<T>& o);

  /// Training from a batch source (a file larger than memory: io::StreamingSource). Like fit on
  /// a data set, except: the source decides the order (shuffle asks it for a new one each
  /// epoch), validation data must be given in memory (no validation_split), and training
  /// metrics are not computed (validation metrics are).
  History fit(data::BatchSource<T>& src, const FitOptions<T>& o);

  /// Convenience: fit on (x, y) tensors, or (x, y, w) with event weights w (N).
  History fit(const Tensor<T, cpu>& x, const Tensor<T, cpu>& y, const FitOptions<T>& o) {
    return fit(data::Dataset<T>(x.clone(), y.clone()), o);
  }
  History fit(const Tensor<T, cpu>& x, const Tensor<T, cpu>& y, const Tensor<T, cpu>& w, const FitOptions<T>& o) {
    return fit(data::Dataset<T>(x.clone(), y.clone(), w.clone()), o);
  }

 private:
  class DatasetRunner;
  class SourceRunner;

  template <class Spec>
  void append(const Spec& spec) {
    if constexpr (std::is_same_v<Spec, Input>) {
      throw Error("Sequential: Input may only be the first entry");
    } else {
      const std::string base = Spec::type_name;
      const std::string auto_name = base + "_" + std::to_string(++m_name_counts[base]);
      auto layer = detail::build_layer<T, Device>(spec, {output_shape()}, auto_name);
      for (const auto& l : m_layers)
        HEPNN_CHECK(l->name() != layer->name(), "Sequential: two layers are named '", layer->name(), "'");
      m_layers.push_back(std::move(layer));
    }
  }

  /// The flat buffers, laid out (and every layer initialised from the seed) at the first call
  /// after the last add.
  const Layout& layout() const {
    m_laid_out.ensure([this] { build_layout(); });
    return m_layout;
  }
  Layout& layout() {
    m_laid_out.ensure([this] { build_layout(); });
    return m_layout;
  }
  void build_layout() const;
  void initialize_layers() const;

  void require_compiled(const char* what) const {
    HEPNN_CHECK(m_compiled, "Sequential::", what, ": call compile() first");
  }
  std::int64_t target_cols(const data::Dataset<T>& d) const { return d.size() ? d.targets().size() / d.size() : 0; }
  void check_inputs(const Tensor<T, cpu>& x, const char* who) const;
  void check_dataset(const data::Dataset<T>& d, const char* who) const;
  std::vector<T> effective_weights(const data::Dataset<T>& d, const std::map<int, double>& cw) const;
  void ensure(Buffers& b, std::int64_t batch, bool training) const;
  const T* stage_input(Buffers& b, const T* host_rows, std::int64_t B) const;
  const T* forward(Buffers& b, const T* x, std::int64_t B, Pass pass) const;
  const T* forward_rows(Buffers& b, const T* x, Pass pass, std::int64_t r0, std::int64_t R) const;
  const T* forward_inference(Buffers& b, const T* x, std::int64_t B) const;
  double train_batch(const data::Dataset<T>& d, const T* weights, const std::int64_t* idx, std::int64_t B,
                     double norm, bool training, bool step);
  Tensor<T, cpu> predict_checked(const Tensor<T, cpu>& x, std::int64_t batch_size) const;
  Logs score(const Tensor<T, cpu>& out, const Tensor<T, cpu>& targets, const T* w, const std::string& prefix) const;
  void validation_logs(const data::Dataset<T>* val, const T* val_weights, std::int64_t batch_size, Logs& logs) const;

  Shape m_input_shape;
  std::vector<std::unique_ptr<Layer<T, Device>>> m_layers;
  std::map<std::string, int> m_name_counts;
  mutable Layout m_layout;  // built by layout(), under m_laid_out's lock
  detail::OnceFlag m_laid_out;
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

#include "hepnn/train/sequential_step.hpp"
#include "hepnn/train/sequential_fit.hpp"
