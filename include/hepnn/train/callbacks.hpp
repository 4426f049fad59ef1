/// @file train/callbacks.hpp
/// @brief Callbacks: EarlyStopping, ReduceLROnPlateau, CSVLogger, LambdaCallback, and the
/// interface for user-written ones.
///
/// Callback options are plain structs (`EarlyStopping{.patience = 5}`); fit turns each into a
/// fresh implementation object, so the same options can be reused across fits.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "hepnn/train/history.hpp"
#include "hepnn/train/metric_spec.hpp"

namespace hepnn::inline HEPNN_ABI {

/// What a callback may do to the running fit. Device- and type-free.
class TrainingControl {
 public:
  virtual ~TrainingControl() = default;
  /// The learning rate the next step will use.
  virtual double learning_rate() const = 0;
  /// Factor on top of the optimizer's schedule (ReduceLROnPlateau).
  virtual double learning_rate_factor() const = 0;
  virtual void set_learning_rate_factor(double f) = 0;
  /// Ends training after the current epoch; the reason goes to History::stop_reason.
  virtual void stop_training(const std::string& reason) = 0;
  /// A copy of the parameters (exact for float and double), and putting one back.
  virtual std::vector<double> get_weights() const = 0;
  virtual void set_weights(const std::vector<double>& w) = 0;
  /// Prints one line through fit's progress display (nothing with `verbose = 0`), so that
  /// callbacks can say what they did without breaking the progress bar.
  virtual void message(const std::string& /*line*/) {}
  /// This process's rank in a data-parallel fit (ModelFitOptions::communicator), else 0. Every
  /// rank runs the callbacks with the same logs; those that write files (CSVLogger,
  /// ModelCheckpoint) write on rank 0 only.
  virtual int rank() const { return 0; }
};

/// Base class of every callback implementation; override what you need.
class CallbackBase {
 public:
  virtual ~CallbackBase() = default;
  virtual void on_train_begin(TrainingControl&) {}
  virtual void on_epoch_begin(int /*epoch*/, TrainingControl&) {}
  virtual void on_batch_end(int /*epoch*/, std::int64_t /*batch*/, double /*loss*/, TrainingControl&) {}
  virtual void on_epoch_end(int /*epoch*/, const Logs&, TrainingControl&) {}
  virtual void on_train_end(TrainingControl&) {}
};

namespace detail {
/// "max" for keys that grow when better (accuracy, auc, efficiencies, r2), else "min".
inline bool monitor_maximises(const std::string& key, const std::string& mode) {
  if (mode == "max") return true;
  if (mode == "min") return false;
  HEPNN_CHECK(mode == "auto", "callback mode must be 'auto', 'min' or 'max', got '", mode, "'");
  if (const auto custom = metrics::custom_metric_maximises(key)) return *custom;
  for (const char* up : {"acc", "auc", "eff", "r2"})
    if (key.find(up) != std::string::npos) return true;
  return false;
}
inline double monitored(const Logs& logs, const std::string& key, const char* who) {
  auto it = logs.find(key);
  if (it == logs.end()) {
    std::string keys;
    for (const auto& [k, v] : logs) keys += (keys.empty() ? "" : ", ") + k;
    throw Error(std::string(who) + ": monitored quantity '" + key + "' is not in the logs (" + keys +
                "); pass validation data or monitor another key");
  }
  return it->second;
}
}  // namespace detail

/// Stops when `monitor` has not improved by more than min_delta for `patience` epochs in a row
/// (Keras's meaning: with patience 3 and the best value at epoch 10, the last epoch run is 13);
/// with restore_best the weights of the best epoch are put back at the end. Both events print a
/// line through fit's progress display (silent with `verbose = 0`) and stopping is recorded in
/// History::stop_reason.
struct EarlyStopping {
  std::string monitor = "val_loss";
  int patience = 0;
  double min_delta = 0.0;
  std::string mode = "auto";
  bool restore_best = false;

  std::shared_ptr<CallbackBase> make() const {
    struct Impl : CallbackBase {
      EarlyStopping o;
      bool maximise;
      double best = 0;
      int best_epoch = -1, wait = 0;
      std::vector<double> best_weights;
      explicit Impl(EarlyStopping opts) : o(std::move(opts)), maximise(detail::monitor_maximises(o.monitor, o.mode)) {}
      void on_epoch_end(int epoch, const Logs& logs, TrainingControl& c) override {
        const double v = detail::monitored(logs, o.monitor, "EarlyStopping");
        const bool better = best_epoch < 0 || (maximise ? v > best + o.min_delta : v < best - o.min_delta);
        if (better && std::isfinite(v)) {
          best = v;
          best_epoch = epoch;
          wait = 0;
          if (o.restore_best) best_weights = c.get_weights();
        } else if (++wait >= o.patience) {
          // Epochs are counted from 1 in everything printed, as in the progress display.
          const std::string why = detail::concat(o.monitor, " did not improve for ", wait,
                                                 wait == 1 ? " epoch" : " epochs", " (best ", best, " at epoch ",
                                                 best_epoch + 1, ")");
          c.stop_training("EarlyStopping: " + why);
          c.message(detail::concat("Epoch ", epoch + 1, ": early stopping. ", why));
        }
      }
      void on_train_end(TrainingControl& c) override {
        if (o.restore_best && !best_weights.empty()) {
          c.set_weights(best_weights);
          c.message(detail::concat("EarlyStopping: restored the weights of epoch ", best_epoch + 1, " (", o.monitor,
                                   " ", best, ")"));
        }
      }
    };
    HEPNN_CHECK(patience >= 0, "EarlyStopping: patience must be >= 0, got ", patience);
    return std::make_shared<Impl>(*this);
  }
};

/// Multiplies the learning rate by `factor` when `monitor` stalls for `patience` epochs.
struct ReduceLROnPlateau {
  std::string monitor = "val_loss";
  double factor = 0.1;
  int patience = 10;
  double min_delta = 1e-4;
  int cooldown = 0;
  double min_lr = 0.0;
  std::string mode = "auto";

  std::shared_ptr<CallbackBase> make() const {
    struct Impl : CallbackBase {
      ReduceLROnPlateau o;
      bool maximise;
      double best = 0;
      bool seen = false;
      int wait = 0, cool = 0;
      explicit Impl(ReduceLROnPlateau opts)
          : o(std::move(opts)), maximise(detail::monitor_maximises(o.monitor, o.mode)) {}
      void on_epoch_end(int, const Logs& logs, TrainingControl& c) override {
        const double v = detail::monitored(logs, o.monitor, "ReduceLROnPlateau");
        if (cool > 0) --cool;
        if (!seen || (maximise ? v > best + o.min_delta : v < best - o.min_delta)) {
          best = v;
          seen = true;
          wait = 0;
        } else if (cool == 0 && ++wait >= o.patience) {
          const double lr = c.learning_rate();
          const double target = std::max(lr * o.factor, o.min_lr);
          if (target < lr) c.set_learning_rate_factor(c.learning_rate_factor() * target / lr);
          cool = o.cooldown;
          wait = 0;
        }
      }
    };
    HEPNN_CHECK(factor > 0 && factor < 1, "ReduceLROnPlateau: factor must be in (0, 1), got ", factor);
    HEPNN_CHECK(patience >= 0, "ReduceLROnPlateau: patience must be >= 0, got ", patience);
    return std::make_shared<Impl>(*this);
  }
};

/// Writes one CSV row per epoch ("epoch" then the log keys, sorted), flushed every epoch.
struct CSVLogger {
  std::string filename;
  bool append = false;

  std::shared_ptr<CallbackBase> make() const {
    struct Impl : CallbackBase {
      CSVLogger o;
      std::ofstream out;
      bool header_done = false;
      explicit Impl(CSVLogger opts) : o(std::move(opts)) {}
      void on_train_begin(TrainingControl& c) override {
        if (c.rank() != 0) return;  // data-parallel fit: rank 0 writes the file
        const bool had = o.append && std::ifstream(o.filename).good();
        out.open(o.filename, o.append ? std::ios::app : std::ios::trunc);
        HEPNN_CHECK(out.good(), "CSVLogger: cannot open '", o.filename, "' for writing");
        header_done = had;
      }
      void on_epoch_end(int epoch, const Logs& logs, TrainingControl& c) override {
        if (c.rank() != 0) return;
        if (!header_done) {
          out << "epoch";
          for (const auto& [k, v] : logs) out << ',' << k;
          out << '\n';
          header_done = true;
        }
        out << epoch;
        out.precision(10);
        for (const auto& [k, v] : logs) out << ',' << v;
        out << '\n';
        out.flush();
        HEPNN_CHECK(out.good(), "CSVLogger: writing '", o.filename, "' failed");
      }
    };
    HEPNN_CHECK(!filename.empty(), "CSVLogger: filename is empty");
    return std::make_shared<Impl>(*this);
  }
};

/// User lambdas for any of the hooks.
struct LambdaCallback {
  std::function<void(TrainingControl&)> on_train_begin = {};
  std::function<void(int epoch, TrainingControl&)> on_epoch_begin = {};
  std::function<void(int epoch, std::int64_t batch, double loss, TrainingControl&)> on_batch_end = {};
  std::function<void(int epoch, const Logs&, TrainingControl&)> on_epoch_end = {};
  std::function<void(TrainingControl&)> on_train_end = {};

  std::shared_ptr<CallbackBase> make() const {
    struct Impl : CallbackBase {
      LambdaCallback o;
      explicit Impl(LambdaCallback opts) : o(std::move(opts)) {}
      void on_train_begin(TrainingControl& c) override { if (o.on_train_begin) o.on_train_begin(c); }
      void on_epoch_begin(int e, TrainingControl& c) override { if (o.on_epoch_begin) o.on_epoch_begin(e, c); }
      void on_batch_end(int e, std::int64_t b, double l, TrainingControl& c) override {
        if (o.on_batch_end) o.on_batch_end(e, b, l, c);
      }
      void on_epoch_end(int e, const Logs& l, TrainingControl& c) override { if (o.on_epoch_end) o.on_epoch_end(e, l, c); }
      void on_train_end(TrainingControl& c) override { if (o.on_train_end) o.on_train_end(c); }
    };
    return std::make_shared<Impl>(*this);
  }
};

/// What FitOptions::callbacks holds: any of the option structs above, or a user's
/// std::shared_ptr to a CallbackBase subclass.
class Callback {
 public:
  template <class Options, class = decltype(std::declval<const Options&>().make())>
  Callback(const Options& o) : m_make([o] { return o.make(); }) {}  // NOLINT: implicit on purpose
  Callback(std::shared_ptr<CallbackBase> impl) : m_make([impl] { return impl; }) {}  // NOLINT
  /// A fresh implementation for one fit (the user's shared object for user callbacks).
  std::shared_ptr<CallbackBase> instantiate() const { return m_make(); }

 private:
  std::function<std::shared_ptr<CallbackBase>()> m_make;
};

}  // namespace hepnn
