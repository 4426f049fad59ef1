/// @file data/batch_source.hpp
/// @brief BatchSource<T>: where fit and evaluate take batches from when the data do not sit in
/// memory (io::StreamingSource reads them from an HDF5 file on a background thread).
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>

#include "hepnn/data/dataset.hpp"

namespace hepnn::inline HEPNN_ABI::data {

template <class T>
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  /// Number of events in one pass.
  virtual std::int64_t size() const = 0;
  /// Sum of all event weights (fit normalises batches by the mean weight of the whole set).
  virtual double sum_of_weights() const = 0;
  /// Begins a pass; `shuffle` asks for a new random order keyed by the epoch.
  virtual void start_epoch(int epoch, bool shuffle) = 0;
  /// The next batch of at most `batch_size` events (features, targets, weights); false once the
  /// pass is over. Every event comes exactly once per pass.
  virtual bool next(std::int64_t batch_size, Dataset<T>& batch) = 0;
};

}  // namespace hepnn::data
