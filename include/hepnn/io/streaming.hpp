/// @file io/streaming.hpp
/// @brief Training from HDF5 files larger than memory: StreamingSource (a Sequential's features,
/// targets and weights) and NamedStreamingSource (a functional Model's inputs and targets by
/// name) read contiguous chunks of rows on a background thread (prefetch) and shuffle within a
/// window of several chunks (io/row_stream.hpp). shuffle_file (io/shuffle_file.hpp, included
/// here) rewrites a file in random order out of core.
///
/// Memory: a source keeps at most prefetch_chunks + window_chunks chunk buffers (reused from
/// chunk to chunk and epoch to epoch) and one batch; the chunk size follows from
/// memory_budget_bytes (see io/row_stream.hpp), and buffer_bytes_peak() reports the most it held.
#pragma once
#include "hepnn/core/config.hpp"
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "hepnn/data/batch_source.hpp"
#include "hepnn/io/data_file.hpp"
#include "hepnn/io/hdf5.hpp"
#include "hepnn/io/named_data.hpp"
#include "hepnn/io/row_stream.hpp"

namespace hepnn::inline HEPNN_ABI::io {

/// Empty dataset names mean "as the file records" (see io::DataSpec): a file written by
/// write_dataset streams with its weights unless ignore_weights is set.
struct StreamOptions {
  std::string features = {};                  // one (N, ...) dataset; empty: the file's role, else "features"
  std::string targets = {};                   // empty: the file's role, else "targets"
  std::string weights = {};                   // empty: the file's role, else "weights" if present, else weights 1
  std::int64_t memory_budget_bytes = 64 << 20;  // for all of the reader's row buffers together
  int window_chunks = 4;                      // rows are shuffled within this many chunks
  int prefetch_chunks = 2;                    // chunks read ahead on the background thread
  std::uint64_t seed = 42;
  bool ignore_weights = false;                // train unweighted although the file has weights (deliberate)
  /// Read only rows [N shard / shards, N (shard + 1) / shards) of the file's N: one shard per rank
  /// of a data-parallel fit (ModelFitOptions::communicator; docs/distributed.md).
  int shard = 0;
  int shards = 1;  ///< the number of shards (1: the whole file)
};

namespace detail {
/// The first row and the row count of shard `shard` of `shards` of n rows (contiguous, sizes
/// differing by at most one), after checking the two numbers.
inline std::pair<std::int64_t, std::int64_t> shard_rows(std::int64_t n, int shard, int shards, const std::string& who) {
  HEPNN_CHECK(shards >= 1 && shard >= 0 && shard < shards, who, ": shard ", shard, " of ", shards,
              " does not exist (shards >= 1, 0 <= shard < shards)");
  const std::int64_t first = n * shard / shards;
  return {first, n * (shard + 1) / shards - first};
}
}  // namespace detail

namespace detail {
/// Fills in the dataset names a streaming reader or the shuffle left empty (see io::resolve);
/// streaming needs each role as one (N, ...) dataset, not as columns.
inline void resolve_streamed(const h5::File& f, std::string& features, std::string& targets, std::string& weights,
                             bool ignore_weights, const char* who) {
  const ResolvedSpec r = resolve(f, DataSpec{.features = features, .targets = targets, .weights = weights,
                                             .ignore_weights = ignore_weights});
  HEPNN_CHECK(r.features.columns.empty() && r.targets.columns.empty(), who, " '", f.path(),
              "': the file stores features or targets as 1-D columns; streaming reads one (N, ...) dataset per role "
              "(name it in the options, or rewrite the file with io::write_dataset)");
  features = r.features.name;
  targets = r.targets.name;
  weights = r.weights;
}

/// The weights dataset `name` of f (when not empty) has shape (n,).
inline void check_stream_weights(const h5::File& f, const std::string& name, std::int64_t n, const std::string& what) {
  if (name.empty()) return;
  const h5::DatasetInfo wi = f.info(name);
  HEPNN_CHECK(wi.shape.size() == 1 && wi.shape[0] == n, f.where(name), what, " must have shape (", n, ",), got ",
              h5::shape_str(wi.shape));
}
}  // namespace detail

/// A BatchSource over an HDF5 file: each epoch visits the chunks in a random order (Philox keyed
/// by seed and epoch), and within each window of window_chunks chunks the rows in random order.
/// The order depends only on the seed and the epoch, never on thread timing.
template <class T>
class StreamingSource final : public data::BatchSource<T> {
 public:
  StreamingSource(std::string path, StreamOptions o)
      : m_o(std::move(o)), m_file(std::move(path), h5::File::Mode::read), m_stream(open()) {
    m_wsum = m_o.weights.empty() ? double(m_n)
                                 : detail::sum_of_rows<T>(m_file, m_o.weights, m_n, m_stream.chunk_rows(), m_first);
  }
  StreamingSource(const StreamingSource&) = delete;
  StreamingSource& operator=(const StreamingSource&) = delete;

  std::int64_t size() const override { return m_n; }
  double sum_of_weights() const override { return m_wsum; }
  std::int64_t chunk_rows() const { return m_stream.chunk_rows(); }
  /// The most bytes the reader's row buffers (queue, window, batch) held at once so far.
  std::int64_t buffer_bytes_peak() const { return m_stream.buffer_bytes_peak(); }
  std::int64_t memory_budget_bytes() const { return m_o.memory_budget_bytes; }

  void start_epoch(int epoch, bool shuffle) override { m_stream.start_epoch(epoch, shuffle); }

  /// The next batch into `batch`. When `batch` holds the previous batch of the same size (as in
  /// a training loop), its tensors are written over instead of allocated again.
  bool next(std::int64_t batch_size, data::Dataset<T>& batch) override {
    const std::int64_t B = m_stream.next(batch_size, "StreamingSource");
    if (B == 0) {
      batch = data::Dataset<T>();
      return false;
    }
    Shape xs;
    xs.push_back(B);
    for (auto d : m_xshape) xs.push_back(d);
    const Shape ys{B, m_yrow};
    if (!(batch.weighted() && batch.features().shape() == xs && batch.targets().shape() == ys &&
          batch.weights().size() == B))
      batch = data::Dataset<T>(Tensor<T, cpu>(xs), Tensor<T, cpu>(ys), Tensor<T, cpu>(Shape{B}));
    m_stream.copy({batch.features().data(), batch.targets().data(), batch.weights().data()});
    return true;
  }

 private:
  /// Resolves and checks the datasets (in the constructor, before the reader is made).
  detail::RowStream<T> open() {
    detail::resolve_streamed(m_file, m_o.features, m_o.targets, m_o.weights, m_o.ignore_weights, "StreamingSource");
    const h5::DatasetInfo xi = m_file.info(m_o.features), yi = m_file.info(m_o.targets);
    HEPNN_CHECK(!xi.shape.empty() && xi.shape.size() <= std::size_t(Shape::max_rank), m_file.where(m_o.features),
                "features need shape (N, ...) of rank 1 to ", Shape::max_rank, ", got ", h5::shape_str(xi.shape));
    HEPNN_CHECK(!yi.shape.empty() && yi.shape[0] == xi.shape[0], m_file.where(m_o.targets), "has shape ",
                h5::shape_str(yi.shape), " but the features have ", xi.shape[0], " rows");
    m_n = xi.shape[0];
    std::int64_t xrow = 1;
    for (std::size_t i = 1; i < xi.shape.size(); ++i) {
      m_xshape.push_back(xi.shape[i]);
      xrow *= xi.shape[i];
    }
    m_yrow = yi.size() / std::max<std::int64_t>(1, m_n);
    if (yi.shape.size() == 1 || m_n == 0) m_yrow = 1;
    detail::check_stream_weights(m_file, m_o.weights, m_n, "weights");
    std::tie(m_first, m_n) = detail::shard_rows(m_n, m_o.shard, m_o.shards, "StreamingSource '" + m_file.path() + "'");
    return detail::RowStream<T>(m_file, {{m_o.features, xrow}, {m_o.targets, m_yrow}, {m_o.weights, 1}}, m_n,
                                {m_o.memory_budget_bytes, m_o.window_chunks, m_o.prefetch_chunks, m_o.seed, m_first},
                                "StreamingSource");
  }

  StreamOptions m_o;
  h5::File m_file;
  std::int64_t m_n = 0, m_yrow = 1, m_first = 0;  // m_n rows from file row m_first (the shard)
  std::vector<std::int64_t> m_xshape;
  detail::RowStream<T> m_stream;  // after the file and the shapes: made from them
  double m_wsum = 0;
};

/// Dataset names by the model's input and output names, as in NamedDataSpec: empty maps mean
/// "as the file's hepnn_named_roles attribute records" (a file of io::write_named_dataset).
/// Streaming reads one (N, ...) dataset per name, and event weights shared by the outputs.
struct NamedStreamOptions {
  std::map<std::string, std::string> inputs = {};   ///< input name -> (N, ...) dataset
  std::map<std::string, std::string> targets = {};  ///< output name -> (N, ...) dataset
  std::string weights = {};                         ///< empty: the file's record, else "weights" if present, else 1
  std::int64_t memory_budget_bytes = 64 << 20;      ///< for all of the reader's row buffers together
  int window_chunks = 4;                            ///< rows are shuffled within this many chunks
  int prefetch_chunks = 2;                          ///< chunks read ahead on the background thread
  std::uint64_t seed = 42;                          ///< keys the order of the chunks and rows
  bool ignore_weights = false;                      ///< train unweighted although the file has weights (deliberate)
  /// Read only rows [N shard / shards, N (shard + 1) / shards) of the file's N: one shard per rank
  /// of a data-parallel fit (ModelFitOptions::communicator; docs/distributed.md).
  int shard = 0;
  int shards = 1;  ///< the number of shards (1: the whole file)
};

/// A NamedBatchSource over an HDF5 file: the batches of a functional Model by name, in the order
/// StreamingSource would give them (chunks in a random order, rows shuffled within a window).
/// Every dataset is read row-aligned with the others, so an event's inputs, targets and weight
/// stay together.
template <class T>
class NamedStreamingSource final : public data::NamedBatchSource<T> {
 public:
  /// Opens `path` and checks that every named dataset exists and has the same number of rows.
  NamedStreamingSource(std::string path, NamedStreamOptions o)
      : m_o(std::move(o)), m_file(std::move(path), h5::File::Mode::read), m_stream(open()) {
    m_wsum = m_weights.empty() ? double(m_n)
                               : detail::sum_of_rows<T>(m_file, m_weights, m_n, m_stream.chunk_rows(), m_first);
  }
  NamedStreamingSource(const NamedStreamingSource&) = delete;
  NamedStreamingSource& operator=(const NamedStreamingSource&) = delete;

  std::int64_t size() const override { return m_n; }
  double sum_of_weights() const override { return m_wsum; }
  /// Rows read in one piece (from the memory budget).
  std::int64_t chunk_rows() const { return m_stream.chunk_rows(); }
  /// The most bytes the reader's row buffers (queue, window, batch) held at once so far.
  std::int64_t buffer_bytes_peak() const { return m_stream.buffer_bytes_peak(); }
  /// The input names of the batches, with their datasets.
  const std::map<std::string, std::string>& inputs() const { return m_o.inputs; }
  /// The output names of the batches' targets, with their datasets.
  const std::map<std::string, std::string>& targets() const { return m_o.targets; }

  void start_epoch(int epoch, bool shuffle) override { m_stream.start_epoch(epoch, shuffle); }

  bool next(std::int64_t batch_size, data::NamedDataset<T>& batch) override {
    batch = data::NamedDataset<T>();
    const std::int64_t B = m_stream.next(batch_size, "NamedStreamingSource");
    if (B == 0) return false;
    typename data::NamedDataset<T>::Tensors in, tg;
    std::vector<T*> dst;
    std::size_t c = 0;
    auto take = [&](const std::string& name, typename data::NamedDataset<T>::Tensors& into) {
      Shape s;
      s.push_back(B);
      for (auto d : m_shapes[c++]) s.push_back(d);
      Tensor<T, cpu> t(s);
      dst.push_back(t.data());
      into.emplace(name, std::move(t));  // the tensor's storage moves with it: dst stays valid
    };
    for (const auto& [name, ds] : m_o.inputs) take(name, in);
    for (const auto& [name, ds] : m_o.targets) take(name, tg);
    Tensor<T, cpu> w(Shape{B});
    dst.push_back(w.data());
    m_stream.copy(dst);
    batch = data::NamedDataset<T>(std::move(in), std::move(tg), std::move(w));
    return true;
  }

 private:
  detail::RowStream<T> open() {
    const char* who = "NamedStreamingSource";
    NamedDataSpec spec{.weights = m_o.weights, .ignore_weights = m_o.ignore_weights};
    for (const auto& [k, v] : m_o.inputs) spec.inputs.emplace(k, Role{v, {}});
    for (const auto& [k, v] : m_o.targets) spec.targets.emplace(k, Role{v, {}});
    const NamedDataSpec r = detail::resolve_named(m_file, spec, who);
    HEPNN_CHECK(r.output_weights.empty(), who, " '", m_file.path(), "': the file has weights of output '",
                r.output_weights.begin()->first, "'; streaming takes event weights shared by the outputs (read the "
                "file with io::read_named_dataset, or set ignore_weights)");
    m_o.inputs.clear();
    m_o.targets.clear();
    std::vector<detail::StreamColumn> cols;
    std::string first;
    auto add = [&](const std::string& name, const Role& role, std::map<std::string, std::string>& into, const char* what) {
      HEPNN_CHECK(role.columns.empty(), who, " '", m_file.path(), "': ", what, " '", name,
                  "' is stored as 1-D columns; streaming reads one (N, ...) dataset per name");
      const h5::DatasetInfo info = m_file.info(role.name);
      HEPNN_CHECK(!info.shape.empty() && info.shape.size() <= std::size_t(Shape::max_rank), m_file.where(role.name),
                  "(", what, " '", name, "') needs shape (N, ...) of rank 1 to ", Shape::max_rank, ", got ",
                  h5::shape_str(info.shape));
      if (cols.empty()) {
        m_n = info.shape[0];
        first = role.name;
      }
      HEPNN_CHECK(info.shape[0] == m_n, m_file.where(role.name), "(", what, " '", name, "') has ", info.shape[0],
                  " rows but '", first, "' has ", m_n);
      std::vector<std::int64_t> sample(info.shape.begin() + 1, info.shape.end());
      if (sample.empty()) sample.push_back(1);  // a 1-D dataset is one value per event
      std::int64_t row = 1;
      for (auto d : sample) row *= d;
      m_shapes.push_back(sample);
      cols.push_back({role.name, row});
      into.emplace(name, role.name);
    };
    for (const auto& [k, role] : r.inputs) add(k, role, m_o.inputs, "input");
    for (const auto& [k, role] : r.targets) add(k, role, m_o.targets, "targets of");
    m_weights = r.weights;
    detail::check_stream_weights(m_file, m_weights, m_n, "event weights");
    cols.push_back({m_weights, 1});
    std::tie(m_first, m_n) = detail::shard_rows(m_n, m_o.shard, m_o.shards, std::string(who) + " '" + m_file.path() + "'");
    return detail::RowStream<T>(m_file, std::move(cols), m_n,
                                {m_o.memory_budget_bytes, m_o.window_chunks, m_o.prefetch_chunks, m_o.seed, m_first},
                                who);
  }

  NamedStreamOptions m_o;
  h5::File m_file;
  std::int64_t m_n = 0, m_first = 0;  // m_n rows from file row m_first (the shard)
  std::vector<std::vector<std::int64_t>> m_shapes;  // per column: the shape of one event's values
  std::string m_weights;
  detail::RowStream<T> m_stream;  // after the file and the shapes: made from them
  double m_wsum = 0;
};

}  // namespace hepnn::io

#include "hepnn/io/shuffle_file.hpp"
