/// @file train/sequential_fit.hpp
/// @brief Sequential's fit on a data set and on a batch source, both through the one epoch
/// loop of train/epoch_loop.hpp, plus train_on_batch, loss_and_gradients and evaluate on a batch
/// source (included by train/sequential.hpp).
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <numeric>

#include "hepnn/train/epoch_loop.hpp"
#include "hepnn/train/sequential.hpp"

namespace hepnn::inline HEPNN_ABI {

/// What both fits share at the end of an epoch: the validation loss and metrics.
template <class T, class Device>
void Sequential<T, Device>::validation_logs(const data::Dataset<T>* val, const T* val_weights,
                                            std::int64_t batch_size, Logs& logs) const {
  if (!val) return;
  for (const auto& [k, v] : score(predict_checked(val->features(), batch_size), val->targets(), val_weights, "val_"))
    logs[k] = v;
}

/// The epochs of fit on events in memory: a new permutation each epoch (keyed by the seed and
/// the epoch), class weights, training metrics from the batches' outputs.
template <class T, class Device>
class Sequential<T, Device>::DatasetRunner final : public detail::EpochRunner {
 public:
  /// Epochs of m on `train`, validated on `val` when given, with the options of fit.
  DatasetRunner(Sequential& m, const data::Dataset<T>& train, const data::Dataset<T>* val, const FitOptions<T>& o)
      : m(m), train(train), val(val), o(o), n(train.size()), bs(std::min(o.batch_size, n)),
        out_row(m.output_shape().size()), weights(m.effective_weights(train, o.class_weight)) {
    wsum = std::accumulate(weights.begin(), weights.end(), 0.0);
    HEPNN_CHECK(wsum > 0, "fit: the training events' sum of weights is ", wsum, "; it must be positive");
    if (val) {
      val_weights = m.effective_weights(*val, o.class_weight);
      const double vs = std::accumulate(val_weights.begin(), val_weights.end(), 0.0);
      HEPNN_CHECK(vs > 0, "fit: the validation events' sum of weights is ", vs, "; it must be positive");
    }
    mean_w = wsum / double(n);
    if (!m.m_metrics.empty()) {
      epoch_out.resize(std::size_t(n * out_row));
      batch_out.resize(std::size_t(bs * out_row));  // reused every batch
    }
    m.ensure(m.m_train, bs, true);
  }
  /// Starts an epoch (its order of events); returns its number of batches.
  std::int64_t begin_epoch(int epoch) override {
    if (o.shuffle) {
      order = data::permutation(n, m.m_seed, rng_stream::shuffle + std::uint64_t(epoch));
    } else {
      order.resize(std::size_t(n));
      std::iota(order.begin(), order.end(), std::int64_t{0});
    }
    loss_sum = seen_w = 0;
    return (n + bs - 1) / bs;
  }
  /// Trains the next batch; false when the epoch has none left.
  bool train_batch(int, std::int64_t b, detail::BatchReport& r) override {
    const std::int64_t b0 = b * bs;
    if (b0 >= n) return false;
    const std::int64_t B = std::min(bs, n - b0);
    const std::int64_t* idx = order.data() + b0;
    const double batch_loss = m.train_batch(train, weights.data(), idx, B, double(B) * mean_w, true, true);
    if (!epoch_out.empty()) {  // the outputs, in event order, for the training metrics
      detail::copy_bytes<cpu, Device>(batch_out.data(), m.m_train.act.back().data(), sizeof(T) * std::size_t(B * out_row));
      for (std::int64_t i = 0; i < B; ++i)
        std::copy_n(batch_out.data() + i * out_row, out_row, epoch_out.data() + idx[i] * out_row);
    }
    loss_sum += batch_loss;
    for (std::int64_t i = 0; i < B; ++i) seen_w += double(weights[std::size_t(idx[i])]);
    r = {b0 + B, loss_sum / seen_w, batch_loss / (double(B) * mean_w)};
    return true;
  }
  /// The epoch's loss, training metrics and validation logs.
  void end_epoch(int, Logs& logs) override {
    logs["loss"] = loss_sum / wsum;
    if (!epoch_out.empty()) {
      const std::vector<T> s = metrics::scores_for_metrics(m.m_loss, epoch_out.data(), n, out_row);
      for (const auto& met : m.m_metrics)
        logs[metrics::metric_name(met)] = metrics::evaluate_metric(met, s, n, out_row, train.targets().data(),
                                                                   m.target_cols(train), weights.data());
    }
    m.validation_logs(val, val_weights.data(), o.validation_batch_size, logs);
  }

 private:
  Sequential& m;
  const data::Dataset<T>& train;
  const data::Dataset<T>* val;
  const FitOptions<T>& o;
  std::int64_t n, bs, out_row;
  std::vector<T> weights, val_weights, epoch_out, batch_out;
  double wsum = 0, mean_w = 0, loss_sum = 0, seen_w = 0;
  std::vector<std::int64_t> order;
};

/// The epochs of fit on a batch source: the source orders the events (start_epoch) and hands
/// out the batches; an epoch must give every event once.
template <class T, class Device>
class Sequential<T, Device>::SourceRunner final : public detail::EpochRunner {
 public:
  /// Epochs of m on the batches of `src`, validated on `val` when given, with the options of fit.
  SourceRunner(Sequential& m, data::BatchSource<T>& src, const data::Dataset<T>* val, const FitOptions<T>& o)
      : m(m), src(src), val(val), o(o), n(src.size()), bs(std::min(o.batch_size, n)), wsum(src.sum_of_weights()),
        idx(std::size_t(bs)) {
    HEPNN_CHECK(n > 0 && wsum > 0, "fit: the batch source has ", n, " events of weight sum ", wsum,
                "; both must be positive");
    mean_w = wsum / double(n);
    std::iota(idx.begin(), idx.end(), std::int64_t{0});
    m.ensure(m.m_train, bs, true);
  }
  /// Starts an epoch (its order of events); returns its number of batches.
  std::int64_t begin_epoch(int epoch) override {
    src.start_epoch(epoch, o.shuffle);
    loss_sum = seen_w = 0;
    seen = 0;
    return (n + bs - 1) / bs;
  }
  /// Trains the next batch; false when the epoch has none left.
  bool train_batch(int, std::int64_t, detail::BatchReport& r) override {
    if (!src.next(bs, batch)) return false;
    m.check_dataset(batch, "fit (batch source)");
    const std::int64_t B = batch.size();
    HEPNN_CHECK(B <= bs, "fit: the batch source gave a batch of ", B, " events, asked for at most ", bs);
    const double batch_loss = m.train_batch(batch, batch.weights().data(), idx.data(), B, double(B) * mean_w, true, true);
    loss_sum += batch_loss;
    seen_w += batch.sum_of_weights();
    seen += B;
    r = {seen, loss_sum / seen_w, batch_loss / (double(B) * mean_w)};
    return true;
  }
  /// The epoch's loss, training metrics and validation logs.
  void end_epoch(int epoch, Logs& logs) override {
    HEPNN_CHECK(seen == n, "fit: the batch source gave ", seen, " events in epoch ", epoch + 1, ", expected ", n);
    logs["loss"] = loss_sum / wsum;
    m.validation_logs(val, val ? val->weights().data() : nullptr, o.validation_batch_size, logs);
  }

 private:
  Sequential& m;
  data::BatchSource<T>& src;
  const data::Dataset<T>* val;
  const FitOptions<T>& o;
  std::int64_t n, bs;
  double wsum, mean_w = 0, loss_sum = 0, seen_w = 0;
  std::int64_t seen = 0;
  std::vector<std::int64_t> idx;
  data::Dataset<T> batch;
};

template <class T, class Device>
History Sequential<T, Device>::fit(const data::Dataset<T>& train_in, const FitOptions<T>& o) {
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
  DatasetRunner runner(*this, *train, val, o);
  detail::OptimizerControl<T, Device> control(m_optimizer, parameters(), state());
  return detail::run_epochs(runner, control, o.callbacks, o.verbose, o.initial_epoch, o.epochs, train->size());
}

template <class T, class Device>
History Sequential<T, Device>::fit(data::BatchSource<T>& src, const FitOptions<T>& o) {
  require_compiled("fit");
  HEPNN_CHECK(o.epochs >= 0 && o.initial_epoch >= 0 && o.batch_size > 0,
              "fit: epochs, initial_epoch must be >= 0 and batch_size > 0");
  HEPNN_CHECK(o.validation_split == 0 && o.class_weight.empty(),
              "fit: with a batch source, give validation data instead of validation_split; class_weight is not supported");
  const data::Dataset<T>* val = o.validation.ptr;
  if (val) check_dataset(*val, "fit (validation data)");
  SourceRunner runner(*this, src, val, o);
  detail::OptimizerControl<T, Device> control(m_optimizer, parameters(), state());
  return detail::run_epochs(runner, control, o.callbacks, o.verbose, o.initial_epoch, o.epochs, src.size());
}

template <class T, class Device>
double Sequential<T, Device>::train_on_batch(const data::Dataset<T>& batch) {
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

template <class T, class Device>
double Sequential<T, Device>::loss_and_gradients(const Tensor<T, cpu>& x, const Tensor<T, cpu>& y,
                                                 const Tensor<T, cpu>* w, bool training) {
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

template <class T, class Device>
Logs Sequential<T, Device>::evaluate(data::BatchSource<T>& src, EvaluateOptions o) const {
  require_compiled("evaluate");
  src.start_epoch(0, false);
  data::Dataset<T> batch;
  double loss = 0, wsum = 0;
  while (src.next(o.batch_size, batch)) {
    check_dataset(batch, "evaluate (batch source)");
    const Tensor<T, cpu> out = predict_checked(batch.features(), o.batch_size);
    loss += detail::loss_on_host(m_loss, batch.size(), output_shape().size(), target_cols(batch), out.data(),
                                 batch.targets().data(), batch.weights().data(), 1.0, static_cast<T*>(nullptr));
    wsum += batch.sum_of_weights();
  }
  HEPNN_CHECK(wsum > 0, "evaluate: the sum of weights is ", wsum, "; it must be positive");
  return Logs{{"loss", loss / wsum}};
}

}  // namespace hepnn
