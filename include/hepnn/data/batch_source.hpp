/// @file data/batch_source.hpp
/// @brief BatchSource<T>: where fit and evaluate take batches from when the data do not sit in
/// memory (io::StreamingSource reads them from an HDF5 file on a background thread);
/// NamedBatchSource<T>: the same for a functional Model, whose batches hold inputs and targets by
/// name (io::NamedStreamingSource).
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <string>
#include <utility>

#include "hepnn/data/dataset.hpp"
#include "hepnn/data/named_dataset.hpp"

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

/// Batches by name for a functional Model (several inputs and outputs): each batch is a
/// NamedDataset whose inputs and targets carry the model's names. Event weights are shared by
/// the outputs (fit normalises by sum_of_weights(); a batch with per-output weights is an error).
template <class T>
class NamedBatchSource {
 public:
  virtual ~NamedBatchSource() = default;
  /// Number of events in one pass.
  virtual std::int64_t size() const = 0;
  /// Sum of all event weights (fit normalises batches by the mean weight of the whole set).
  virtual double sum_of_weights() const = 0;
  /// Begins a pass; `shuffle` asks for a new random order keyed by the epoch.
  virtual void start_epoch(int epoch, bool shuffle) = 0;
  /// The next batch of at most `batch_size` events; false once the pass is over. Every event
  /// comes exactly once per pass.
  virtual bool next(std::int64_t batch_size, NamedDataset<T>& batch) = 0;
};

/// A BatchSource seen by name: its features become input `input`, its targets the targets of
/// output `output` (how a Model with one input and one output streams from io::StreamingSource).
/// The source is referenced, not copied: it must outlive the view.
template <class T>
class NamedView final : public NamedBatchSource<T> {
 public:
  /// Views `src` with its features under the name `input` and its targets under `output`.
  NamedView(BatchSource<T>& src, std::string input, std::string output)
      : m_src(src), m_input(std::move(input)), m_output(std::move(output)) {}
  std::int64_t size() const override { return m_src.size(); }
  double sum_of_weights() const override { return m_src.sum_of_weights(); }
  void start_epoch(int epoch, bool shuffle) override { m_src.start_epoch(epoch, shuffle); }
  bool next(std::int64_t batch_size, NamedDataset<T>& batch) override {
    batch = NamedDataset<T>();
    if (!m_src.next(batch_size, m_batch)) return false;
    typename NamedDataset<T>::Tensors in, tg;
    in.emplace(m_input, std::move(m_batch.features()));  // the batch is the view's own: moved, not copied
    tg.emplace(m_output, std::move(m_batch.targets()));
    batch = NamedDataset<T>(std::move(in), std::move(tg), std::move(m_batch.weights()));
    m_batch = Dataset<T>();
    return true;
  }

 private:
  BatchSource<T>& m_src;
  std::string m_input, m_output;
  Dataset<T> m_batch;
};

}  // namespace hepnn::data
