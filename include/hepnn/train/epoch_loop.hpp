/// @file train/epoch_loop.hpp
/// @brief The epoch loop of fit, written once: callbacks, the progress display, the error
/// context ("fit: epoch 3, batch 7 of 40: ..."), the learning rate in the logs and the history.
/// A model's fit supplies what differs (an EpochRunner): how batches are trained and what an
/// epoch's logs hold.
#pragma once
#include "hepnn/core/config.hpp"
#include <memory>
#include <string>
#include <vector>

#include "hepnn/core/error.hpp"
#include "hepnn/core/storage.hpp"
#include "hepnn/core/tensor.hpp"
#include "hepnn/optim/optimizer.hpp"
#include "hepnn/train/callbacks.hpp"
#include "hepnn/train/communicator.hpp"
#include "hepnn/train/history.hpp"
#include "hepnn/train/progress.hpp"

namespace hepnn::inline HEPNN_ABI::detail {

/// The TrainingControl of one fit: stopping and messages; a model adds the optimizer and the
/// weights.
class FitControl : public TrainingControl {
 public:
  void stop_training(const std::string& why) override {
    stopped = true;
    reason = why;
  }
  void message(const std::string& line) override {
    if (bar) bar->message(line);
  }
  int rank() const override { return comm ? comm->rank() : 0; }
  bool stopped = false;
  std::string reason;
  ProgressBar* bar = nullptr;
  Communicator* comm = nullptr;  // a data-parallel fit's ranks (null: one process)
};

/// The FitControl of a model trained by one optimizer over flat parameter and state buffers
/// (Sequential and Model): the learning rate, and the weights for EarlyStopping.
template <class T, class Device>
class OptimizerControl final : public FitControl {
 public:
  /// The control of a fit that steps `opt` over `params`, with the non-trainable `state`.
  OptimizerControl(Optimizer<T, Device>& opt, Tensor<T, Device>& params, Tensor<T, Device>& state)
      : m_opt(opt), m_params(params), m_state(state) {}
  double learning_rate() const override { return m_opt.learning_rate(); }
  double learning_rate_factor() const override { return m_opt.factor(); }
  /// Scales the optimizer's learning rate (ReduceLROnPlateau).
  void set_learning_rate_factor(double f) override { m_opt.set_factor(f); }
  /// The parameters followed by the non-trainable state.
  std::vector<double> get_weights() const override {
    const std::vector<T> h = m_params.to_vector(), s = m_state.to_vector();
    std::vector<double> r(h.begin(), h.end());
    r.insert(r.end(), s.begin(), s.end());
    return r;
  }
  /// Puts back what get_weights() gave (EarlyStopping's best weights).
  void set_weights(const std::vector<double>& w) override {
    const std::int64_t np = m_params.size(), ns = m_state.size();
    HEPNN_CHECK(std::int64_t(w.size()) == np + ns, "set_weights: ", w.size(), " values for a model with ", np,
                " parameters and ", ns, " state values");
    const std::vector<T> h(w.begin(), w.begin() + np), s(w.begin() + np, w.end());
    copy_bytes<Device, cpu>(m_params.data(), h.data(), sizeof(T) * h.size());
    if (ns) copy_bytes<Device, cpu>(m_state.data(), s.data(), sizeof(T) * s.size());
  }

 private:
  Optimizer<T, Device>& m_opt;
  Tensor<T, Device>&m_params, &m_state;
};

/// What one trained batch reports to the loop.
struct BatchReport {
  std::int64_t samples_done = 0;  // events of the epoch so far
  double running_loss = 0;        // the epoch's mean loss so far (progress display)
  double batch_loss = 0;          // this batch's mean loss (callbacks)
};

/// What a model's fit supplies to the loop.
class EpochRunner {
 public:
  virtual ~EpochRunner() = default;
  /// Prepares epoch `epoch` (shuffling); returns its number of batches.
  virtual std::int64_t begin_epoch(int epoch) = 0;
  /// Trains batch b of the epoch; false when the epoch has no more batches.
  virtual bool train_batch(int epoch, std::int64_t b, BatchReport& report) = 0;
  /// The epoch's logs after its last batch: loss, training metrics, validation loss and metrics.
  virtual void end_epoch(int epoch, Logs& logs) = 0;
};

/// Runs epochs [initial_epoch, epochs) of `runner` with the callbacks; `samples` events per epoch.
inline History run_epochs(EpochRunner& runner, FitControl& control, const std::vector<Callback>& callbacks,
                          int verbose, int initial_epoch, int epochs, std::int64_t samples) {
  std::vector<std::shared_ptr<CallbackBase>> cbs;
  for (const auto& c : callbacks) cbs.push_back(c.instantiate());
  ProgressBar bar(verbose);
  control.bar = &bar;
  History history;
  for (auto& c : cbs) c->on_train_begin(control);
  for (int epoch = initial_epoch; epoch < epochs && !control.stopped; ++epoch) {
    for (auto& c : cbs) c->on_epoch_begin(epoch, control);
    const std::int64_t batches = runner.begin_epoch(epoch);
    bar.epoch_begin(epoch, epochs, batches, samples);
    for (std::int64_t b = 0;; ++b) {
      BatchReport r;
      try {
        if (!runner.train_batch(epoch, b, r)) break;
      } catch (const Error& e) {
        throw Error(concat("fit: epoch ", epoch + 1, ", batch ", b + 1, " of ", batches, ": ",
                           std::string(e.what()).substr(7)));
      }
      bar.batch_end(b, r.samples_done, r.running_loss);
      for (auto& c : cbs) c->on_batch_end(epoch, b, r.batch_loss, control);
    }
    Logs logs;
    runner.end_epoch(epoch, logs);
    logs["lr"] = control.learning_rate();
    bar.epoch_end(logs);
    history.append(epoch, logs);
    for (auto& c : cbs) c->on_epoch_end(epoch, logs, control);
    if (control.comm) {  // the logs are the same on every rank, and so should the decision be: one stops, all stop
      std::int64_t stop = control.stopped ? 1 : 0;
      control.comm->allreduce_max(&stop, 1);
      if (stop && !control.stopped) control.stop_training("stopped on another rank");
    }
  }
  for (auto& c : cbs) c->on_train_end(control);
  history.stop_reason = control.reason;
  control.bar = nullptr;
  return history;
}

}  // namespace hepnn::detail
