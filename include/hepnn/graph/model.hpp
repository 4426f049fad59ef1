/// @file graph/model.hpp
/// @brief Model<T, Device>: a functional model, a graph of layer calls with named inputs and
/// outputs, as Keras' functional API:
///
///     auto jet = Input{"jet", {12}};
///     auto trk = Input{"tracks", {15, 6}};
///     auto h = Dense{64, Activation::relu}(jet);
///     auto t = Flatten{}(Dense{16, Activation::relu}(trk));
///     auto z = Concatenate{}({h, t});
///     Model<float, cpu> model{{jet, trk}, {Dense{.units = 1, .name = "cls"}(z), Dense{.units = 1, .name = "reg"}(z)}};
///
/// The graph is checked when the model is built: shapes, cycles, unused inputs and outputs that
/// depend on inputs not given are errors that name the layer. Training is in graph/model_train.hpp.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <initializer_list>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hepnn/data/batch_source.hpp"
#include "hepnn/data/input_transform.hpp"
#include "hepnn/data/named_dataset.hpp"
#include "hepnn/graph/core.hpp"
#include "hepnn/graph/model_options.hpp"
#include "hepnn/graph/submodel.hpp"
#include "hepnn/graph/topology.hpp"
#include "hepnn/layers/registry.hpp"
#include "hepnn/train/epoch_loop.hpp"
#include "hepnn/train/sequential.hpp"
#include "hepnn/train/summary_format.hpp"

namespace hepnn::inline HEPNN_ABI {

template <class T, class Device = cpu>
class Model {
 public:
  using Core = graph::GraphCore<T, Device>;
  static constexpr std::uint64_t default_seed = 42;

  /// Builds the graph from `inputs` to `outputs`, checks it and lays out the parameters once.
  Model(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs,
        std::string name = "model")
      : m_name(std::move(name)) {
    const std::string who = "Model '" + m_name + "'";
    graph::Topology topo = graph::build_topology(inputs, outputs, who);
    m_core = std::make_shared<Core>(std::move(topo), m_name, [&](const graph::LayerEntry& e) { return make_layer(e, who); });
    m_core->submodel_segments = [c = m_core.get()](std::size_t i) {
      return static_cast<graph::SubmodelLayer<T, Device>&>(*c->layers[i]).core().segments();
    };
    m_core->set_submodel_accumulate = [](Layer<T, Device>& l, bool a) {
      static_cast<graph::SubmodelLayer<T, Device>&>(l).set_accumulate(a);
    };
    m_core->initialize(default_seed);
    m_transforms.resize(num_inputs());
  }
  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;

  // ---- the functional API: a model used as a layer (sharing its weights) ----
  SymbolicTensor operator()(const SymbolicTensor& x) const { return (*this)(std::vector<SymbolicTensor>{x}); }
  SymbolicTensor operator()(std::vector<SymbolicTensor> xs) const {
    const auto& topo = m_core->topo;
    HEPNN_CHECK(topo.output_tensors.size() == 1, "Model '", m_name, "': has ", topo.output_tensors.size(),
                " outputs; a model used as a layer needs exactly one");
    HEPNN_CHECK(xs.size() == topo.input_tensors.size(), "Model '", m_name, "': takes ", topo.input_tensors.size(),
                " inputs, called on ", xs.size());
    for (std::size_t k = 0; k < xs.size(); ++k)
      HEPNN_CHECK(xs[k].valid() && xs[k].shape() == input_shape(k), "Model '", m_name, "': input ", k, " ('",
                  topo.input_names[k], "') expects samples of shape ", input_shape(k).str(), ", got ",
                  xs[k].valid() ? xs[k].shape().str() : std::string("an empty SymbolicTensor"));
    (void)graph::mask_of_inputs(MaskMode::none, xs, "Model '" + m_name + "' used as a layer");
    auto node = std::make_shared<graph::Node>();
    node->kind = graph::Node::Kind::submodel;
    node->id = graph::Node::next_id();
    node->shape = output_shape(0);
    node->probe_name = m_name;
    node->submodel = std::make_shared<graph::SubmodelRef>();
    node->submodel->core = std::static_pointer_cast<void>(m_core);
    node->submodel->type = &typeid(Core);
    node->submodel->name = m_name;
    node->inputs = std::move(xs);
    return SymbolicTensor(std::move(node));
  }

  // ---- inspection ----
  const std::string& name() const { return m_name; }
  std::size_t num_inputs() const { return m_core->topo.input_tensors.size(); }
  std::size_t num_outputs() const { return m_core->topo.output_tensors.size(); }
  const std::vector<std::string>& input_names() const { return m_core->topo.input_names; }
  const std::vector<std::string>& output_names() const { return m_core->topo.output_names; }
  const Shape& input_shape(std::size_t k = 0) const { return m_core->topo.tensors[m_core->topo.input_tensors.at(k)]->shape; }
  const Shape& output_shape(std::size_t k = 0) const {
    return m_core->topo.tensors[m_core->topo.output_tensors.at(k)]->shape;
  }
  /// Distinct layers (a shared layer once; a model used as a layer is one entry).
  std::size_t num_layers() const { return m_core->layers.size(); }
  Layer<T, Device>& layer(std::size_t i) { return *m_core->layers.at(i); }
  const Layer<T, Device>& layer(std::size_t i) const { return *m_core->layers.at(i); }
  /// The layer named n (throws naming the model when there is none).
  Layer<T, Device>& layer(const std::string& n) { return const_cast<Layer<T, Device>&>(std::as_const(*this).layer(n)); }
  /// The layer named n, read-only.
  const Layer<T, Device>& layer(const std::string& n) const {
    for (auto& l : m_core->layers)
      if (l->name() == n) return *l;
    throw Error(detail::concat("Model '", m_name, "': no layer named '", n, "'"));
  }
  /// Parameters of the model's own layers (models used as layers keep theirs).
  std::int64_t num_params() const { return m_core->num_params; }
  /// Parameters including those of the models used as layers.
  std::int64_t num_params_total() const {
    std::int64_t n = m_core->num_params;
    for (std::size_t i = 0; i < m_core->layers.size(); ++i)
      if (!m_core->owned[i]) n += static_cast<const graph::SubmodelLayer<T, Device>&>(*m_core->layers[i]).core().num_params;
    return n;
  }
  Tensor<T, Device>& parameters() { return m_core->params; }
  const Tensor<T, Device>& parameters() const { return m_core->params; }
  const Tensor<T, Device>& gradients() const { return m_core->grads; }
  Tensor<T, Device>& state() { return m_core->state; }
  const Tensor<T, Device>& state() const { return m_core->state; }
  std::int64_t parameter_offset(std::size_t i) const { return m_core->param_offset.at(i); }
  std::uint64_t seed() const { return m_core->seed; }
  bool compiled() const { return m_compiled; }
  Optimizer<T, Device>& optimizer() { return m_optimizer; }
  const Optimizer<T, Device>& optimizer() const { return m_optimizer; }
  /// The model's graph (layers, calls, tensors), for inspection.
  const graph::Topology& topology() const { return m_core->topo; }
  /// The layers, parameter layout and plan (model files read and write through it).
  const Core& core() const { return *m_core; }
  /// The loss, weight and metrics that compile() gave output k.
  const OutputOptions& output_options(std::size_t k) const {
    require_compiled("output_options");
    return m_outputs.at(k).opt;
  }
  /// The runs of parameters the optimizer updates, as compile() fixed them (its state follows
  /// them in this order).
  const std::vector<graph::ParamSegment<T>>& trainable_segments() const { return m_segments; }

  /// Freezes (false) or unfreezes every layer, those of models used as layers too. Read at
  /// compile(), as in Keras: compile again after changing it.
  void set_trainable(bool t) {
    for (std::size_t i = 0; i < m_core->layers.size(); ++i) {
      m_core->layers[i]->set_trainable(t);
      if (!m_core->owned[i])
        for (auto& l : static_cast<graph::SubmodelLayer<T, Device>&>(*m_core->layers[i]).core().layers)
          l->set_trainable(t);
    }
  }
  /// Draws the model's own parameters again from `seed` (models used as layers keep theirs).
  void initialize(std::uint64_t seed) {
    m_core->initialize(seed);
    if (m_compiled) m_optimizer = Optimizer<T, Device>(m_optimizer.spec(), trainable_size());
  }

  /// Keras-like table: each layer, its output shape, its parameter count and its inputs.
  void summary(std::ostream& os = std::cout) const;

  /// Preprocessing of input `input`, applied at the start of predict, evaluate, fit and
  /// forward_train (fitted on the training part: data::fit_standardization); saved in model
  /// files. An empty transform removes it. A model used as a layer in another applies none.
  void set_input_transform(const std::string& input, data::InputTransform<T> t) {
    const std::size_t k = input_index(input, "set_input_transform");
    t.check(input_shape(k).size());
    m_transforms[k] = std::move(t);
  }
  /// The same for a model with one input.
  void set_input_transform(data::InputTransform<T> t) {
    HEPNN_CHECK(num_inputs() == 1, "Model '", m_name, "'::set_input_transform: the model has ", num_inputs(),
                " inputs; name the input");
    set_input_transform(input_names()[0], std::move(t));
  }
  /// The preprocessing of input `input` (empty when it has none).
  const data::InputTransform<T>& input_transform(const std::string& input) const {
    return m_transforms[input_index(input, "input_transform")];
  }

  // ---- inference ----
  /// Scratch buffers for allocation-free inference (graph/model_infer.hpp). Give each thread its
  /// own: a Workspace may not be used by two calls at once, the model may.
  class Workspace {
   public:
    Workspace() = default;

   private:
    friend class Model;
    Tensor<T, Device> arena, staged;
    std::int64_t capacity = 0;
    std::vector<std::vector<T>> transformed;  // inputs after their transforms, when they have one
    std::vector<const T*> in;
  };
  /// The hot path for event loops: the n events of inputs[k] (input k in the model's order,
  /// row-major, n times its sample size) give outputs[k] (n times output k's size), using ws's
  /// buffers: after the first call with n (or more) events, no buffer is allocated. Inputs are
  /// checked for NaN and infinity; sizes must match exactly. Thread-safe with one Workspace per thread.
  void predict(std::span<const std::span<const T>> inputs, std::span<const std::span<T>> outputs, Workspace& ws) const;
  /// As above, with the spans listed in place: `predict({jet, tracks}, {score}, ws)`.
  void predict(std::initializer_list<std::span<const T>> inputs, std::initializer_list<std::span<T>> outputs,
               Workspace& ws) const {
    predict(std::span<const std::span<const T>>(inputs.begin(), inputs.size()),
            std::span<const std::span<T>>(outputs.begin(), outputs.size()), ws);
  }
  /// A model with one input and one output: x (n events) to out.
  void predict(std::span<const T> x, std::span<T> out, Workspace& ws) const { predict({x}, {out}, ws); }
  /// Outputs (N, output shape) for inputs (N, input shape) of a model with one input and one output.
  Tensor<T, cpu> predict(const Tensor<T, cpu>& x, std::int64_t batch_size = 1024) const {
    HEPNN_CHECK(num_inputs() == 1 && num_outputs() == 1, "Model '", m_name, "'::predict: the model has ", num_inputs(),
                " inputs and ", num_outputs(), " outputs; give the inputs by name");
    const std::string w = "Model '" + m_name + "'::predict";
    HEPNN_CHECK(x.rank() >= 1 && x.shape().tail() == input_shape(0), w, ": inputs of shape ", x.shape().str(),
                ", the model expects samples of shape ", input_shape(0).str(), " (input '", input_names()[0], "')");
    data::check_finite(x, w + ": inputs");
    return std::move(predict_checked({&x}, batch_size).begin()->second);
  }
  /// Every output by name, for inputs given by name. Thread-safe on a const model.
  std::map<std::string, Tensor<T, cpu>> predict(const std::map<std::string, Tensor<T, cpu>>& x,
                                                std::int64_t batch_size = 1024) const;
  /// The tensors by name, listed in place: `predict({{"jet", jets}, {"tracks", tracks}})` (copied).
  using TensorList = std::initializer_list<std::pair<const std::string, const Tensor<T, cpu>&>>;
  /// Every output by name, for inputs listed in place (copied).
  std::map<std::string, Tensor<T, cpu>> predict(TensorList x, std::int64_t batch_size = 1024) const {
    return predict(cloned(x), batch_size);
  }

  // ---- training (graph/model_train.hpp) ----
  void compile(const ModelCompileOptions& o);
  /// The total loss of d and its gradient with respect to every trainable parameter (written
  /// to gradients(), and those of models used as layers); no step. For gradient checks and
  /// custom training steps.
  double loss_and_gradients(const data::NamedDataset<T>& d, bool training = false);
  /// One optimizer step on all events of `batch`; returns the total loss before the step.
  double train_on_batch(const data::NamedDataset<T>& batch);
  History fit(const data::NamedDataset<T>& train, const ModelFitOptions<T>& o);
  /// Training from a source of batches by name (a file larger than memory:
  /// io::NamedStreamingSource). Like fit on a NamedDataset, except: the source decides the order
  /// (shuffle asks it for a new one each epoch), validation data must be given in memory (no
  /// validation_split), training metrics are not computed (validation metrics are), and event
  /// weights are shared by the outputs.
  History fit(data::NamedBatchSource<T>& src, const ModelFitOptions<T>& o);
  /// Training of a model with one input and one output from a BatchSource (io::StreamingSource):
  /// its features feed the input, its targets the output. As fit on a NamedBatchSource.
  History fit(data::BatchSource<T>& src, const ModelFitOptions<T>& o) {
    HEPNN_CHECK(num_inputs() == 1 && num_outputs() == 1, "Model '", m_name, "'::fit: a BatchSource has one features ",
                "and one targets tensor, the model has ", num_inputs(), " inputs and ", num_outputs(),
                " outputs; stream by name (data::NamedBatchSource, io::NamedStreamingSource)");
    data::NamedView<T> view(src, input_names()[0], output_names()[0]);
    return fit(view, o);
  }
  /// Convenience for a model with one input and one output, as Sequential's: fit on (x, y), or
  /// (x, y, w) with event weights w (N); the tensors are copied.
  History fit(const Tensor<T, cpu>& x, const Tensor<T, cpu>& y, const ModelFitOptions<T>& o) {
    return fit(single(x, y, nullptr, "fit"), o);
  }
  /// As above, with event weights w (N).
  History fit(const Tensor<T, cpu>& x, const Tensor<T, cpu>& y, const Tensor<T, cpu>& w, const ModelFitOptions<T>& o) {
    return fit(single(x, y, &w, "fit"), o);
  }
  /// The total loss ("loss"), and per output its loss and metrics when there are several.
  Logs evaluate(const data::NamedDataset<T>& d, EvaluateOptions o = {}) const;
  /// Convenience for a model with one input and one output: evaluate on (x, y), with event
  /// weights w when given (copied).
  Logs evaluate(const Tensor<T, cpu>& x, const Tensor<T, cpu>& y, const Tensor<T, cpu>* w = nullptr,
                EvaluateOptions o = {}) const {
    return evaluate(single(x, y, w, "evaluate"), o);
  }
  /// The loss of a model with one input and one output over a BatchSource (io::StreamingSource).
  Logs evaluate(data::BatchSource<T>& src, EvaluateOptions o = {}) const {
    HEPNN_CHECK(num_inputs() == 1 && num_outputs() == 1, "Model '", m_name, "'::evaluate: a BatchSource has one ",
                "features and one targets tensor, the model has ", num_inputs(), " inputs and ", num_outputs(), " outputs");
    data::NamedView<T> view(src, input_names()[0], output_names()[0]);
    return evaluate(view, o);
  }
  /// The total loss ("loss"), and per output its loss when there are several, over a source of
  /// batches (metrics need every prediction at once: evaluate a NamedDataset for those).
  Logs evaluate(data::NamedBatchSource<T>& src, EvaluateOptions o = {}) const;

  // ---- your own training step (graph/model_step.hpp; docs/functional.md) ----
  /// A training-mode forward pass (dropout and GaussianSample active, their noise keyed by the
  /// seed and the optimizer step) on inputs given by name; returns every output by name and
  /// keeps the pass for backward() and apply_gradients().
  std::map<std::string, Tensor<T, cpu>> forward_train(const std::map<std::string, Tensor<T, cpu>>& inputs);
  /// As above, with the tensors listed in place: `forward_train({{"x", x}})` (copied).
  std::map<std::string, Tensor<T, cpu>> forward_train(TensorList inputs) { return forward_train(cloned(inputs)); }
  /// Backpropagates d(loss)/d(output), given by output name (shape: the batch of forward_train
  /// times the output's shape; an output left out counts as 0), through the last forward_train:
  /// writes the gradients of every parameter, those of models used as layers too, or adds to
  /// them when `accumulate` (a second batch in the same step).
  void backward(const std::map<std::string, Tensor<T, cpu>>& output_grads, bool accumulate = false);
  /// As above, with the gradients listed in place: `backward({{"score", g}})` (copied).
  void backward(TensorList output_grads, bool accumulate = false) { backward(cloned(output_grads), accumulate); }
  /// One optimizer step with the gradients there are (clipping and schedule as compiled), on the
  /// parameters that were trainable at compile(); updates BatchNormalization's moving
  /// statistics from the last forward_train.
  void apply_gradients();

 private:
  struct CompiledOutput {
    OutputOptions opt;
    std::int64_t cols = 0;  // output values per sample
  };
  class Runner;
  class SourceRunner;

  std::unique_ptr<Layer<T, Device>> make_layer_ptr(const graph::LayerEntry& e, const std::string& who) const {
    if (e.submodel) {
      HEPNN_CHECK(*e.submodel->type == typeid(Core), who, ": model '", e.submodel->name,
                  "' was built for another element type or device than Model<", std::is_same_v<T, float> ? "float" : "double",
                  ", ", Device::name, ">");
      return std::make_unique<graph::SubmodelLayer<T, Device>>(std::static_pointer_cast<Core>(e.submodel->core), who);
    }
    if constexpr (std::is_same_v<Device, cpu>) {
      if constexpr (std::is_same_v<T, float>) return e.def->build_float(e.input_shapes, e.name);
      else return e.def->build_double(e.input_shapes, e.name);
    } else {
      // on other devices the layer is rebuilt from its configuration (layers/registry.hpp)
      const LayerConfig c = e.def->build_double(e.input_shapes, e.name)->config();
      return io::layer_registry<Device>().template build<T>(c, e.input_shapes);
    }
  }
  std::shared_ptr<Layer<T, Device>> make_layer(const graph::LayerEntry& e, const std::string& who) const {
    return make_layer_ptr(e, who);
  }
  /// (x, y, w) of a model with one input and one output as a NamedDataset (copied).
  data::NamedDataset<T> single(const Tensor<T, cpu>& x, const Tensor<T, cpu>& y, const Tensor<T, cpu>* w,
                               const char* who) const {
    HEPNN_CHECK(num_inputs() == 1 && num_outputs() == 1, "Model '", m_name, "'::", who, ": the model has ",
                num_inputs(), " inputs and ", num_outputs(), " outputs; give the data by name (data::NamedDataset)");
    std::map<std::string, Tensor<T, cpu>> in, tg;
    in.emplace(input_names()[0], x.clone());
    tg.emplace(output_names()[0], y.clone());
    return data::NamedDataset<T>(std::move(in), std::move(tg), w ? w->clone() : Tensor<T, cpu>{});
  }
  static std::map<std::string, Tensor<T, cpu>> cloned(TensorList l) {
    std::map<std::string, Tensor<T, cpu>> m;
    for (const auto& [name, t] : l) m.emplace(name, t.clone());
    return m;
  }
  std::size_t input_index(const std::string& input, const char* who) const {
    const auto it = std::find(input_names().begin(), input_names().end(), input);
    HEPNN_CHECK(it != input_names().end(), "Model '", m_name, "'::", who, ": '", input,
                "' is not an input of the model (inputs: ", detail::join(input_names()), ")");
    return std::size_t(it - input_names().begin());
  }
  /// Rows [b0, b0 + B) of input k, through its transform into `buf` when it has one.
  const T* transformed_rows(std::size_t k, const T* x, std::int64_t b0, std::int64_t B, std::vector<T>& buf) const {
    const std::int64_t row = input_shape(k).size();
    const T* rows = x + b0 * row;
    if (m_transforms[k].empty()) return rows;
    buf.assign(rows, rows + B * row);
    m_transforms[k].apply(buf.data(), B, row);
    return buf.data();
  }
  std::int64_t trainable_size() const {
    std::int64_t n = 0;
    for (const auto& s : m_core->segments()) n += s.size;
    return n;
  }
  void require_compiled(const char* what) const {
    HEPNN_CHECK(m_compiled, "Model '", m_name, "'::", what, ": call compile() first");
  }
  /// Checks the names and shapes of d's inputs (and targets when `targets`); returns, in the
  /// model's order, the input tensors and the output targets.
  void check_data(const data::NamedDataset<T>& d, const char* who, bool targets) const;
  /// check_data for a batch from a NamedBatchSource, whose event weights must be shared by the
  /// outputs (a batch source has no per-output weights).
  void check_source_batch(const data::NamedDataset<T>& batch, const std::string& who) const {
    HEPNN_CHECK(batch.output_weights().empty(), "Model '", m_name, "'::", who, ": the batch source gave weights for output '",
                batch.output_weights().begin()->first, "'; a batch source's event weights are shared by the outputs");
    check_data(batch, who.c_str(), true);
  }
  /// Checks the names, shapes, event counts and values of inputs given by name.
  void check_inputs(const std::map<std::string, Tensor<T, cpu>>& inputs, const std::string& who) const;
  /// The tensors of x in the order of the model's inputs (x is checked).
  std::vector<const Tensor<T, cpu>*> ordered(const std::map<std::string, Tensor<T, cpu>>& x) const;
  std::map<std::string, Tensor<T, cpu>> predict_checked(const std::vector<const Tensor<T, cpu>*>& x,
                                                        std::int64_t batch_size) const;
  /// Forward, losses, backward and (when step) an optimizer update on events idx[0..B) of d;
  /// per-output sums of w l into sums; gradients of output k normalised by norms[k].
  void run_batch(const data::NamedDataset<T>& d, const std::int64_t* idx, std::int64_t B, const double* norms,
                 bool training, bool step, double* sums, const std::vector<const T*>* weights = nullptr);
  /// loss_and_gradients and train_on_batch: all of d as one batch, gradients normalised by
  /// each output's sum of weights; returns the total loss (before the step, when step).
  double whole_batch(const data::NamedDataset<T>& d, const char* who, bool training, bool step);
  /// Loss and metrics of outputs `outs` against d's targets; weights per output from `weights`
  /// when given (class weights), else d's.
  Logs score(const std::vector<Tensor<T, cpu>>& outs, const data::NamedDataset<T>& d, const std::string& prefix,
             const std::vector<const T*>* weights = nullptr) const;
  /// Each output's event weights of d times its class weights (ModelFitOptions::class_weight).
  std::vector<Tensor<T, cpu>> class_weighted(const data::NamedDataset<T>& d,
                                             const std::map<std::string, std::map<int, double>>& cw) const;
  /// The "val_" logs of fit: loss and metrics of the validation data `val` (nothing when null).
  void validation_logs(const data::NamedDataset<T>* val, std::int64_t batch_size, Logs& logs,
                       const std::map<std::string, std::map<int, double>>& class_weight = {}) const;
  /// fit's checks of its options that do not depend on where the data come from.
  void check_fit_options(const ModelFitOptions<T>& o) const;
  // Data-parallel fit (graph/model_parallel.hpp): every rank checks that the others run the
  // same fit, then takes rank 0's weights; gradients are summed and moving statistics averaged
  // over the ranks before each step.
  class ParallelScope;
  void agree_with_ranks(const ModelFitOptions<T>& o, std::int64_t n_train, std::int64_t train_fingerprint,
                        const data::NamedDataset<T>* val);
  void reduce_gradients();
  // The gradient sums started during backward (CPU): after call `after`, grads[0..n) is final.
  struct GradBucket {
    T* grads;
    std::int64_t n;
    std::size_t after;
  };
  void plan_buckets(std::int64_t bucket_bytes);
  /// backward of a training step with the gradient sums: bucket by bucket during the pass on the
  /// CPU, after it elsewhere (sums a rank with no event when `without_events`).
  void backward_and_reduce(T* arena, std::int64_t B, const T* const* in, const Pass& pass, bool without_events);
  /// The step of a rank with no event in it (a short last batch): zero gradients, sums 0.
  void step_without_events(double* sums);
  void average_state();
  std::string log_key(std::size_t k, const std::string& what) const {
    return num_outputs() == 1 ? what : output_names()[k] + "_" + what;
  }

  std::string m_name;
  std::shared_ptr<Core> m_core;
  std::vector<data::InputTransform<T>> m_transforms;  // per input (empty: none)
  bool m_compiled = false;
  std::vector<CompiledOutput> m_outputs;
  Optimizer<T, Device> m_optimizer;
  std::vector<graph::ParamSegment<T>> m_segments;  // what the optimizer updates (fixed at compile)
  Tensor<T, Device> m_arena;                        // training arena
  std::int64_t m_arena_batch = 0;
  detail::BatchStaging<T, Device> m_staging;
  std::vector<T> m_host_out, m_host_grad;           // a custom loss on the GPU runs on the host
  // the pass of forward_train, for backward() and apply_gradients(); m_step_batch 0: none
  Tensor<T, Device> m_step_inputs;
  std::vector<const T*> m_step_in;
  std::int64_t m_step_batch = 0;
  Pass m_step_pass;
  Communicator* m_comm = nullptr;  // the ranks of the data-parallel fit running now (null: none)
  std::vector<GradBucket> m_buckets;  // in the order they are started (empty: one sum after backward)
  // where this rank's events start in the step's whole batch (Pass::first_sample; 0 alone)
  std::int64_t m_first_sample = 0;
};

}  // namespace hepnn

#include "hepnn/graph/model_train.hpp"
