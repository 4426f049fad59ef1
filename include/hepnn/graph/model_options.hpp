/// @file graph/model_options.hpp
/// @brief What a functional Model's compile and fit take: per-output losses, weights and metrics
/// (ModelCompileOptions, OutputOptions) and the options of fit (ModelFitOptions).
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hepnn/data/named_dataset.hpp"
#include "hepnn/losses/compute.hpp"
#include "hepnn/optim/optimizer.hpp"
#include "hepnn/train/callbacks.hpp"
#include "hepnn/train/communicator.hpp"
#include "hepnn/train/metric_spec.hpp"

namespace hepnn::inline HEPNN_ABI {

/// The loss, its weight in the total loss and the metrics of one output of a Model.
struct OutputOptions {
  LossSpec loss = MeanSquaredError{};             ///< this output's loss
  double weight = 1.0;                            ///< factor of this output's loss in the total loss (>= 0)
  std::vector<metrics::MetricSpec> metrics = {};  ///< metrics of this output, logged as "<output>_<metric>"
};

/// What Model::compile takes: the losses and metrics of the outputs, and one optimizer.
struct ModelCompileOptions {
  /// Loss of every output not listed in `outputs`.
  LossSpec loss = MeanSquaredError{};
  /// The optimizer of every trainable parameter (read at compile: frozen layers are left out).
  OptimizerSpec optimizer = Adam{};
  /// Metrics of every output not listed in `outputs`.
  std::vector<metrics::MetricSpec> metrics = {};
  /// Per output, by name: loss, loss weight and metrics.
  std::map<std::string, OutputOptions> outputs = {};
  /// When set, re-initialises the model's own weights from this seed (it also keys dropout and shuffling).
  std::optional<std::uint64_t> seed = {};
};

/// A reference to a named data set in the options of fit (no copy is made).
template <class T>
struct NamedDatasetRef {
  const data::NamedDataset<T>* ptr = nullptr;  ///< the data set, or null for none
  NamedDatasetRef() = default;
  /// Refers to d (implicit, so `.validation = val` reads naturally).
  NamedDatasetRef(const data::NamedDataset<T>& d) : ptr(&d) {}  // NOLINT: implicit on purpose
};

/// What Model::fit takes: as FitOptions, with validation data by name.
template <class T>
struct ModelFitOptions {
  int epochs = 1;                       ///< the last epoch (0-based, exclusive)
  std::int64_t batch_size = 32;         ///< events per optimizer step
  bool shuffle = true;                  ///< reshuffle the training events every epoch
  NamedDatasetRef<T> validation = {};   ///< validation events, or
  double validation_split = 0.0;        ///< the last fraction of the training events (before shuffling)
  std::vector<Callback> callbacks = {};  ///< EarlyStopping, ReduceLROnPlateau, CSVLogger, ...
  int verbose = -1;                     ///< -1 auto (bar on a terminal), 0 silent, 1 bar, 2 one line per epoch
  int initial_epoch = 0;                ///< the first epoch (0-based), when resuming
  std::int64_t validation_batch_size = 1024;  ///< events per batch of the validation predictions
  /// Per output, by name: class -> factor on that output's event weights (Keras' class_weight),
  /// for the training and the validation events. The class of an event is its target (rounded)
  /// for one target column, else the column of the largest target (one-hot rows).
  std::map<std::string, std::map<int, double>> class_weight = {};
  /// Data-parallel training (docs/distributed.md): every rank calls fit with the same model, data
  /// and options; batch_size is per rank, so one step sees size() * batch_size events. Rank 0's
  /// weights are broadcast first, each rank trains on its part of every batch, the gradients
  /// are summed over the ranks before each step, and the logs and validation are reduced.
  /// Null: one process. See hepnn/mpi.hpp for the MPI communicator.
  Communicator* communicator = nullptr;
  /// Data-parallel CPU fits, when > 0: the gradients of the last layers are summed over the ranks
  /// (MPI_Iallreduce) while the backward pass goes on through the first ones, in messages
  /// ("buckets") of at least this many bytes; a layer's gradients are never split. 0 (default):
  /// one sum after the backward pass, which was faster on one machine, where the ranks share its
  /// cores and MPI advances a sum only when called (docs/distributed.md: 3-5% slower with
  /// buckets). Every element is still summed once over the same ranks: bitwise the same training
  /// with 2 ranks, the same to rounding with more. GPU models sum after the backward pass. Every
  /// rank must pass the same value.
  std::int64_t bucket_bytes = 0;
};

}  // namespace hepnn
