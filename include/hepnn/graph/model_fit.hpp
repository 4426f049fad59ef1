/// @file graph/model_fit.hpp
/// @brief Model::fit on a NamedDataset or a NamedBatchSource (streaming), through the shared
/// epoch loop (train/epoch_loop.hpp), and evaluate on a NamedBatchSource.
/// Gradients of output k are normalised by B times the mean event weight of that output over
/// the training set, as Sequential::fit does for its one output.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <numeric>

#include "hepnn/data/fingerprint.hpp"
#include "hepnn/graph/model.hpp"

namespace hepnn::inline HEPNN_ABI {

template <class T, class Device>
class Model<T, Device>::Runner final : public detail::EpochRunner {
 public:
  Runner(Model& m, const data::NamedDataset<T>& train, const data::NamedDataset<T>* val, const ModelFitOptions<T>& o)
      : m(m), train(train), val(val), o(o), n(train.size()),
        ranks(m.m_comm ? m.m_comm->size() : 1), bs(std::min(o.batch_size * ranks, n)),
        w(m.class_weighted(train, o.class_weight)) {
    const std::size_t no = m.num_outputs();
    for (const auto& t : w) wp.push_back(t.data());
    wsum.resize(no);
    norm.resize(no);
    sums.resize(no);
    epoch_sums.resize(no);
    seen_w.resize(no);
    for (std::size_t k = 0; k < no; ++k) {
      wsum[k] = std::accumulate(w[k].begin(), w[k].end(), 0.0);
      HEPNN_CHECK(wsum[k] > 0, "fit: the training events' weights of output '", m.output_names()[k], "' sum to ",
                  wsum[k], "; the sum must be positive");
      norm[k] = wsum[k] / double(n);  // the mean event weight
      if (!m.m_outputs[k].opt.metrics.empty()) epoch_out.emplace_back(std::size_t(n * m.m_outputs[k].cols));
      else epoch_out.emplace_back();
    }
  }
  std::int64_t begin_epoch(int epoch) override {
    order = o.shuffle ? data::permutation(n, m.m_core->seed, rng_stream::shuffle + std::uint64_t(epoch))
                      : std::vector<std::int64_t>(std::size_t(n));
    if (!o.shuffle) std::iota(order.begin(), order.end(), std::int64_t{0});
    std::fill(epoch_sums.begin(), epoch_sums.end(), 0.0);
    std::fill(seen_w.begin(), seen_w.end(), 0.0);
    if (m.m_comm)  // each rank fills the outputs of its events; the sum over the ranks has them all
      for (auto& e : epoch_out) std::fill(e.begin(), e.end(), T(0));
    return (n + bs - 1) / bs;
  }
  bool train_batch(int, std::int64_t b, detail::BatchReport& r) override {
    const std::int64_t b0 = b * bs;
    if (b0 >= n) return false;
    const std::int64_t B = std::min(bs, n - b0);
    std::vector<double> nk(norm);
    for (auto& v : nk) v = double(B) * v;  // B times the mean weight, also for the last, short batch
    // a data-parallel rank trains its part [lo, hi) of the batch; the gradients, normalised by
    // the whole batch's nk, are summed over the ranks before the step (in run_batch)
    const auto [lo, hi] = m.m_comm ? detail::rank_part(b0, B, m.m_comm->rank(), ranks) : std::pair{b0, b0 + B};
    m.m_first_sample = lo - b0;  // the dropout masks of events [lo, hi) of the whole batch
    if (hi > lo) m.run_batch(train, order.data() + lo, hi - lo, nk.data(), true, true, sums.data(), &wp);
    else m.step_without_events(sums.data());
    if (m.m_comm) m.m_comm->allreduce_sum(sums.data(), std::int64_t(sums.size()));
    double running = 0, batch = 0;
    for (std::size_t k = 0; k < m.num_outputs(); ++k) {
      for (std::int64_t i = 0; i < B; ++i) seen_w[k] += double(wp[k][order[std::size_t(b0 + i)]]);
      epoch_sums[k] += sums[k];
      running += m.m_outputs[k].opt.weight * epoch_sums[k] / seen_w[k];
      batch += m.m_outputs[k].opt.weight * sums[k] / nk[k];
      if (!epoch_out[k].empty() && hi > lo) collect(k, lo, hi - lo);
    }
    r = {b0 + B, running, batch};
    return true;
  }
  void end_epoch(int, Logs& logs) override {
    if (m.m_comm)
      for (auto& e : epoch_out) m.m_comm->allreduce_sum(e.data(), std::int64_t(e.size()));
    double total = 0;
    for (std::size_t k = 0; k < m.num_outputs(); ++k) {
      const double l = epoch_sums[k] / wsum[k];
      total += m.m_outputs[k].opt.weight * l;
      if (m.num_outputs() > 1) logs[m.log_key(k, "loss")] = l;
      const std::int64_t C = m.m_outputs[k].cols;
      if (!epoch_out[k].empty()) {
        const Tensor<T, cpu>& tg = train.targets().at(m.output_names()[k]);
        const std::vector<T> s = metrics::scores_for_metrics(m.m_outputs[k].opt.loss, epoch_out[k].data(), n, C);
        for (const auto& met : m.m_outputs[k].opt.metrics)
          logs[m.log_key(k, metrics::metric_name(met))] = metrics::evaluate_metric(
              met, s, n, C, tg.data(), tg.size() / n, wp[k]);
      }
    }
    logs["loss"] = total;
    m.validation_logs(val, o.validation_batch_size, logs, o.class_weight);
  }

 private:
  // the batch's outputs of output k, into the epoch's outputs in event order (training metrics)
  void collect(std::size_t k, std::int64_t b0, std::int64_t B) {
    const std::int64_t C = m.m_outputs[k].cols;
    host.resize(std::size_t(B * C));
    std::vector<const T*> none(m.num_inputs(), nullptr);  // outputs are never inputs here (checked in fit)
    detail::copy_bytes<cpu, Device>(host.data(), m.m_core->output(m.m_arena.data(), B, none.data(), k),
                                    sizeof(T) * host.size());
    for (std::int64_t i = 0; i < B; ++i)
      std::copy_n(host.data() + i * C, C, epoch_out[k].data() + order[std::size_t(b0 + i)] * C);
  }
  Model& m;
  const data::NamedDataset<T>& train;
  const data::NamedDataset<T>* val;
  const ModelFitOptions<T>& o;
  std::int64_t n;
  int ranks;           // of a data-parallel fit, else 1
  std::int64_t bs;     // events per step, over all ranks
  std::vector<Tensor<T, cpu>> w;  // each output's event weights times its class weights
  std::vector<const T*> wp;
  std::vector<double> wsum, norm, sums, epoch_sums, seen_w;
  std::vector<std::vector<T>> epoch_out;
  std::vector<T> host;
  std::vector<std::int64_t> order;
};

/// Epochs of a Model on the batches of a NamedBatchSource (the streaming fit).
template <class T, class Device>
class Model<T, Device>::SourceRunner final : public detail::EpochRunner {
 public:
  /// Epochs of m on the batches of `src`, validated on `val` when given, with the options of fit.
  SourceRunner(Model& m, data::NamedBatchSource<T>& src, const data::NamedDataset<T>* val, const ModelFitOptions<T>& o)
      : m(m), src(src), val(val), o(o), n(src.size()), bs(std::min(o.batch_size, n)), wsum(src.sum_of_weights()),
        idx(std::size_t(std::max<std::int64_t>(bs, 0))), sums(m.num_outputs() + 1), epoch_sums(m.num_outputs()) {
    if (m.m_comm) {  // data-parallel: each rank streams its own shard; n and wsum are the totals
      double totals[2] = {double(n), wsum};
      m.m_comm->allreduce_sum(totals, 2);
      n = std::int64_t(totals[0]);
      wsum = totals[1];
      bs = std::min(o.batch_size, std::max<std::int64_t>(src.size(), 1));
      idx.resize(std::size_t(bs));
    }
    HEPNN_CHECK(n > 0 && wsum > 0, "fit: the batch source has ", n, " events of weight sum ", wsum,
                "; both must be positive");
    mean_w = wsum / double(n);
    std::iota(idx.begin(), idx.end(), std::int64_t{0});
  }
  /// Starts the source's pass of this epoch; returns its number of batches.
  std::int64_t begin_epoch(int epoch) override {
    src.start_epoch(epoch, o.shuffle);
    std::fill(epoch_sums.begin(), epoch_sums.end(), 0.0);
    seen_w = 0;
    seen = 0;
    drained = false;
    if (!m.m_comm) return (n + bs - 1) / bs;
    // data-parallel: the epoch lasts as long as the largest shard (for the progress display)
    std::int64_t batches = (src.size() + bs - 1) / bs;
    m.m_comm->allreduce_max(&batches, 1);
    return batches;
  }
  /// Trains the source's next batch; false when the pass is over.
  bool train_batch(int, std::int64_t, detail::BatchReport& r) override {
    const bool have = !drained && src.next(bs, batch);
    drained = !have;
    const std::int64_t B = have ? batch.size() : 0;
    if (have) {
      HEPNN_CHECK(B > 0 && B <= bs, "fit: the batch source gave a batch of ", B, " events, asked for 1 to ", bs);
      m.check_source_batch(batch, "fit (batch source)");
    }
    double Bg = double(B);  // the step's events over all ranks: a rank whose shard is drained adds 0
    if (m.m_comm) {  // and where this rank's start in the step's whole batch (rank 0's first, ...)
      std::vector<double> counts(std::size_t(m.m_comm->size()), 0.0);
      counts[std::size_t(m.m_comm->rank())] = double(B);
      m.m_comm->allreduce_sum(counts.data(), std::int64_t(counts.size()));
      Bg = std::accumulate(counts.begin(), counts.end(), 0.0);
      m.m_first_sample = std::int64_t(std::accumulate(counts.begin(), counts.begin() + m.m_comm->rank(), 0.0));
    }
    if (Bg == 0) return false;
    const double norm = Bg * mean_w;  // the step's events times the mean weight of the whole set, as fit in memory
    const std::vector<double> norms(m.num_outputs(), norm);
    if (have) m.run_batch(batch, idx.data(), B, norms.data(), true, true, sums.data());
    else m.step_without_events(sums.data());
    const std::size_t no = m.num_outputs();
    sums[no] = 0;
    if (have) {
      const Tensor<T, cpu>& w = batch.weights();
      sums[no] = std::accumulate(w.begin(), w.end(), 0.0);
    }
    if (m.m_comm) m.m_comm->allreduce_sum(sums.data(), std::int64_t(sums.size()));
    seen_w += sums[no];
    seen += std::int64_t(Bg);
    double running = 0, batch_loss = 0;
    for (std::size_t k = 0; k < m.num_outputs(); ++k) {
      epoch_sums[k] += sums[k];
      running += m.m_outputs[k].opt.weight * epoch_sums[k] / seen_w;
      batch_loss += m.m_outputs[k].opt.weight * sums[k] / norm;
    }
    r = {seen, running, batch_loss};
    return true;
  }
  /// Events per epoch (over all ranks of a data-parallel fit).
  std::int64_t events() const { return n; }
  /// The epoch's losses (total and per output) and validation logs; checks every event came.
  void end_epoch(int epoch, Logs& logs) override {
    HEPNN_CHECK(seen == n, "fit: the batch source gave ", seen, " events in epoch ", epoch + 1, ", expected ", n);
    double total = 0;
    for (std::size_t k = 0; k < m.num_outputs(); ++k) {
      const double l = epoch_sums[k] / wsum;
      total += m.m_outputs[k].opt.weight * l;
      if (m.num_outputs() > 1) logs[m.log_key(k, "loss")] = l;
    }
    logs["loss"] = total;
    m.validation_logs(val, o.validation_batch_size, logs);
  }

 private:
  Model& m;
  data::NamedBatchSource<T>& src;
  const data::NamedDataset<T>* val;
  const ModelFitOptions<T>& o;
  std::int64_t n, bs;
  double wsum, mean_w = 0, seen_w = 0;
  std::int64_t seen = 0;
  bool drained = false;  // this rank's source has given its last batch of the epoch
  std::vector<std::int64_t> idx;
  std::vector<double> sums, epoch_sums;
  data::NamedDataset<T> batch;
};

template <class T, class Device>
void Model<T, Device>::validation_logs(const data::NamedDataset<T>* val, std::int64_t batch_size, Logs& logs,
                                       const std::map<std::string, std::map<int, double>>& class_weight) const {
  if (!val) return;
  std::vector<Tensor<T, cpu>> outs;
  if (m_comm) {  // data-parallel: each rank predicts its part, the sum over the ranks has all
    const auto [lo, hi] = detail::rank_part(0, val->size(), m_comm->rank(), m_comm->size());
    std::map<std::string, Tensor<T, cpu>> part;
    if (hi > lo) part = predict_checked(ordered(val->slice(lo, hi).inputs()), batch_size);
    for (std::size_t k = 0; k < num_outputs(); ++k) {
      const std::int64_t row = output_shape(k).size();
      outs.emplace_back(output_shape(k).with_batch(val->size()), T(0));
      if (hi > lo) std::copy_n(part.at(output_names()[k]).data(), (hi - lo) * row, outs.back().data() + lo * row);
      m_comm->allreduce_sum(outs.back().data(), outs.back().size());
    }
  } else {
    auto out = predict_checked(ordered(val->inputs()), batch_size);
    for (const auto& name : output_names()) outs.push_back(std::move(out.at(name)));
  }
  if (class_weight.empty()) {  // the events' own weights: nothing to copy
    for (const auto& [k, v] : score(outs, *val, "val_")) logs[k] = v;
    return;
  }
  const std::vector<Tensor<T, cpu>> w = class_weighted(*val, class_weight);
  std::vector<const T*> wp;
  for (const auto& t : w) wp.push_back(t.data());
  for (const auto& [k, v] : score(outs, *val, "val_", &wp)) logs[k] = v;
}

template <class T, class Device>
void Model<T, Device>::check_fit_options(const ModelFitOptions<T>& o) const {
  require_compiled("fit");
  HEPNN_CHECK(o.epochs >= 0 && o.initial_epoch >= 0, "fit: epochs (", o.epochs, ") and initial_epoch (",
              o.initial_epoch, ") must be >= 0");
  HEPNN_CHECK(o.batch_size > 0, "fit: batch_size must be positive, got ", o.batch_size);
  HEPNN_CHECK(o.validation_split >= 0 && o.validation_split < 1, "fit: validation_split must be in [0, 1), got ",
              o.validation_split);
  HEPNN_CHECK(!(o.validation.ptr && o.validation_split > 0), "fit: give validation data or validation_split, not both");
  for (std::size_t k = 0; k < num_outputs(); ++k)
    HEPNN_CHECK(std::find(m_core->topo.input_tensors.begin(), m_core->topo.input_tensors.end(),
                          m_core->topo.output_tensors[k]) == m_core->topo.input_tensors.end(),
                "fit: output '", output_names()[k], "' is an input of the model; it has nothing to learn");
  for (const auto& [name, cw] : o.class_weight) {
    HEPNN_CHECK(std::find(output_names().begin(), output_names().end(), name) != output_names().end(),
                "fit: class_weight for '", name, "', which is not an output of the model (outputs: ",
                detail::join(output_names()), ")");
    for (const auto& [c, f] : cw)
      HEPNN_CHECK(std::isfinite(f) && f >= 0, "fit: class_weight of output '", name, "', class ", c, " is ", f,
                  "; factors must be finite and >= 0");
  }
}

template <class T, class Device>
History Model<T, Device>::fit(data::NamedBatchSource<T>& src, const ModelFitOptions<T>& o) {
  check_fit_options(o);
  HEPNN_CHECK(o.validation_split == 0, "fit: a batch source cannot be split; give validation data in memory "
              "(ModelFitOptions::validation)");
  HEPNN_CHECK(o.class_weight.empty(), "fit: class_weight is not supported with a batch source (write the factors "
              "into the file's event weights)");
  if (o.validation.ptr) check_data(*o.validation.ptr, "fit (validation data)", true);
  ParallelScope parallel(*this, o.communicator, o.bucket_bytes);
  // data-parallel: the shards differ by design, so no fingerprint of the training data is compared
  if (m_comm) agree_with_ranks(o, 0, 0, o.validation.ptr);
  SourceRunner runner(*this, src, o.validation.ptr, o);
  detail::OptimizerControl<T, Device> control(m_optimizer, m_core->params, m_core->state);
  control.comm = m_comm;
  const int verbose = m_comm && m_comm->rank() != 0 ? 0 : o.verbose;  // rank 0 shows the progress
  return detail::run_epochs(runner, control, o.callbacks, verbose, o.initial_epoch, o.epochs, runner.events());
}

template <class T, class Device>
Logs Model<T, Device>::evaluate(data::NamedBatchSource<T>& src, EvaluateOptions o) const {
  require_compiled("evaluate");
  HEPNN_CHECK(o.batch_size > 0, "Model '", m_name, "'::evaluate: batch_size must be positive, got ", o.batch_size);
  src.start_epoch(0, false);
  data::NamedDataset<T> batch;
  std::vector<double> loss(num_outputs(), 0.0);
  double wsum = 0;
  std::int64_t b = 0;
  while (src.next(o.batch_size, batch)) {
    ++b;
    const std::string who = "evaluate (batch source, batch " + std::to_string(b) + ")";
    check_source_batch(batch, who);
    auto out = predict_checked(ordered(batch.inputs()), o.batch_size);
    for (std::size_t k = 0; k < num_outputs(); ++k) {
      const Tensor<T, cpu>& tg = batch.targets().at(output_names()[k]);
      loss[k] += detail::loss_on_host(m_outputs[k].opt.loss, batch.size(), m_outputs[k].cols, tg.size() / batch.size(),
                                      out.at(output_names()[k]).data(), tg.data(), batch.weights().data(), 1.0,
                                      static_cast<T*>(nullptr));
    }
    const Tensor<T, cpu>& w = batch.weights();
    wsum += std::accumulate(w.begin(), w.end(), 0.0);
  }
  HEPNN_CHECK(wsum > 0, "Model '", m_name, "'::evaluate: the sum of weights of the batch source is ", wsum,
              "; it must be positive");
  Logs logs;
  double total = 0;
  for (std::size_t k = 0; k < num_outputs(); ++k) {
    total += m_outputs[k].opt.weight * loss[k] / wsum;
    if (num_outputs() > 1) logs[log_key(k, "loss")] = loss[k] / wsum;
  }
  logs["loss"] = total;
  return logs;
}

template <class T, class Device>
History Model<T, Device>::fit(const data::NamedDataset<T>& train_in, const ModelFitOptions<T>& o) {
  check_fit_options(o);
  check_data(train_in, "fit (training data)", true);
  data::NamedDataset<T> split_train, split_val;
  const data::NamedDataset<T>* train = &train_in;
  const data::NamedDataset<T>* val = o.validation.ptr;
  if (o.validation_split > 0) {  // the last events, before any shuffling (as Keras does)
    const std::int64_t n_val = std::int64_t(std::llround(o.validation_split * double(train_in.size())));
    HEPNN_CHECK(n_val > 0 && n_val < train_in.size(), "fit: validation_split ", o.validation_split, " of ",
                train_in.size(), " events leaves an empty part");
    split_train = train_in.slice(0, train_in.size() - n_val);
    split_val = train_in.slice(train_in.size() - n_val, train_in.size());
    train = &split_train;
    val = &split_val;
  }
  if (val) check_data(*val, "fit (validation data)", true);
  ParallelScope parallel(*this, o.communicator, o.bucket_bytes);
  if (m_comm) agree_with_ranks(o, train->size(), detail::fingerprint(train), val);
  Runner runner(*this, *train, val, o);
  detail::OptimizerControl<T, Device> control(m_optimizer, m_core->params, m_core->state);
  control.comm = m_comm;
  const int verbose = m_comm && m_comm->rank() != 0 ? 0 : o.verbose;  // rank 0 shows the progress
  return detail::run_epochs(runner, control, o.callbacks, verbose, o.initial_epoch, o.epochs, train->size());
}

}  // namespace hepnn
