/// @file io/streaming.hpp
/// @brief Training from HDF5 files larger than memory: StreamingSource reads contiguous chunks
/// of rows on a background thread (prefetch) and shuffles within a window of several chunks;
/// shuffle_file rewrites a file in random order out of core (two-pass bucket shuffle).
///
/// Memory: StreamingSource keeps at most prefetch_chunks + window_chunks + 1 chunks of rows;
/// their size follows from memory_budget_bytes, and buffer_bytes_peak() reports the most it held.
#pragma once
#include "hepnn/core/config.hpp"
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "hepnn/core/philox.hpp"
#include "hepnn/data/batch_source.hpp"
#include "hepnn/io/data_file.hpp"
#include "hepnn/io/hdf5.hpp"

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
};

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
/// "b<k>/" (built step by step: GCC 12 warns falsely on "b" + std::to_string(k) at -O3)
inline std::string bucket_group(int k) {
  std::string g(1, 'b');
  g += std::to_string(k);
  g += '/';
  return g;
}
/// Rows of features, targets and weights read in one piece.
template <class T>
struct Chunk {
  std::vector<T> x, y, w;
  std::int64_t rows = 0;
  std::size_t bytes() const { return (x.capacity() + y.capacity() + w.capacity()) * sizeof(T); }
};
}  // namespace detail

/// A BatchSource over an HDF5 file: each epoch visits the chunks in a random order (Philox keyed
/// by seed and epoch), and within each window of window_chunks chunks the rows in random order.
/// The order depends only on the seed and the epoch, never on thread timing.
template <class T>
class StreamingSource final : public data::BatchSource<T> {
 public:
  StreamingSource(std::string path, StreamOptions o) : m_o(std::move(o)), m_file(std::move(path), h5::File::Mode::read) {
    detail::resolve_streamed(m_file, m_o.features, m_o.targets, m_o.weights, m_o.ignore_weights, "StreamingSource");
    const h5::DatasetInfo xi = m_file.info(m_o.features), yi = m_file.info(m_o.targets);
    HEPNN_CHECK(!xi.shape.empty() && xi.shape.size() <= std::size_t(Shape::max_rank), m_file.where(m_o.features),
                "features need shape (N, ...) of rank 1 to ", Shape::max_rank, ", got ", h5::shape_str(xi.shape));
    HEPNN_CHECK(!yi.shape.empty() && yi.shape[0] == xi.shape[0], m_file.where(m_o.targets), "has shape ",
                h5::shape_str(yi.shape), " but the features have ", xi.shape[0], " rows");
    m_n = xi.shape[0];
    for (std::size_t i = 1; i < xi.shape.size(); ++i) m_xshape.push_back(xi.shape[i]);
    m_xrow = m_xshape.size();
    m_yrow = yi.size() / std::max<std::int64_t>(1, m_n);
    if (yi.shape.size() == 1 || m_n == 0) m_yrow = 1;
    if (!m_o.weights.empty()) {
      const h5::DatasetInfo wi = m_file.info(m_o.weights);
      HEPNN_CHECK(wi.shape.size() == 1 && wi.shape[0] == m_n, m_file.where(m_o.weights), "weights must have shape (",
                  m_n, ",), got ", h5::shape_str(wi.shape));
    }
    HEPNN_CHECK(m_o.window_chunks >= 1 && m_o.prefetch_chunks >= 1, "StreamingSource: window_chunks and prefetch_chunks must be >= 1");
    const std::int64_t row_bytes = (m_xrow + m_yrow + 1) * std::int64_t(sizeof(T));
    // chunks alive at once: the reader's (queue and the one it fills: prefetch_chunks), the
    // window with the parts it is built from, or the window with a batch (each <= window_chunks)
    const std::int64_t pieces = m_o.prefetch_chunks + 2 * std::int64_t(m_o.window_chunks);
    m_chunk_rows = m_o.memory_budget_bytes / (pieces * row_bytes);
    HEPNN_CHECK(m_chunk_rows >= 1, "StreamingSource '", m_file.path(), "': a memory budget of ", m_o.memory_budget_bytes,
                " bytes does not hold ", pieces, " rows of ", row_bytes, " bytes");
    m_chunk_rows = std::min(m_chunk_rows, std::max<std::int64_t>(1, m_n));
    m_chunks = (m_n + m_chunk_rows - 1) / m_chunk_rows;
    // the weight sum, read chunk by chunk
    m_wsum = double(m_n);
    if (!m_o.weights.empty()) {
      m_wsum = 0;
      std::vector<T> w(static_cast<std::size_t>(m_chunk_rows));
      for (std::int64_t r = 0; r < m_n; r += m_chunk_rows) {
        const std::int64_t k = std::min(m_chunk_rows, m_n - r);
        m_file.read_rows<T>(m_o.weights, r, k, w.data());
        for (std::int64_t i = 0; i < k; ++i) m_wsum += double(w[std::size_t(i)]);
      }
    }
  }
  ~StreamingSource() override { stop(); }
  StreamingSource(const StreamingSource&) = delete;
  StreamingSource& operator=(const StreamingSource&) = delete;

  std::int64_t size() const override { return m_n; }
  double sum_of_weights() const override { return m_wsum; }
  std::int64_t chunk_rows() const { return m_chunk_rows; }
  /// The most bytes the reader's row buffers (queue, window, batch) held at once so far.
  std::int64_t buffer_bytes_peak() const { return m_peak.load(); }
  std::int64_t memory_budget_bytes() const { return m_o.memory_budget_bytes; }

  void start_epoch(int epoch, bool shuffle) override {
    stop();
    m_epoch = epoch;
    m_shuffle = shuffle;
    m_order = shuffle ? data::permutation(m_chunks, m_o.seed, rng_stream::shuffle + (std::uint64_t(epoch) << 20))
                      : std::vector<std::int64_t>();
    if (!shuffle) {
      m_order.resize(std::size_t(m_chunks));
      for (std::int64_t i = 0; i < m_chunks; ++i) m_order[std::size_t(i)] = i;
    }
    if (m_window.rows) release(std::int64_t(sizeof(T)) * m_window.rows * (std::int64_t(m_xrow) + m_yrow + 1));
    m_window = detail::Chunk<T>{};
    m_window_pos = 0;
    m_windows_done = 0;
    m_taken = 0;
    m_stop = false;
    m_error = nullptr;
    m_queue.clear();
    m_started = true;
    m_thread = std::thread([this] { produce(); });
  }

  bool next(std::int64_t batch_size, data::Dataset<T>& batch) override {
    HEPNN_CHECK(m_started, "StreamingSource: call start_epoch first");
    release(m_batch_bytes);  // the caller's previous batch is replaced below
    m_batch_bytes = 0;
    batch = data::Dataset<T>();
    if (m_window_pos >= m_window.rows && !fill_window()) {
      stop();
      m_started = false;
      return false;
    }
    const std::int64_t B = std::min(batch_size, m_window.rows - m_window_pos);
    Shape xs;
    xs.push_back(B);
    for (auto d : m_xshape.dims()) xs.push_back(d);
    Tensor<T, cpu> x(xs), y(Shape{B, m_yrow}), w(Shape{B});
    m_batch_bytes = std::int64_t(sizeof(T)) * B * (std::int64_t(m_xrow) + m_yrow + 1);
    account(m_batch_bytes);
    for (std::int64_t i = 0; i < B; ++i) {
      const std::int64_t r = m_perm[std::size_t(m_window_pos + i)];
      std::copy_n(m_window.x.data() + r * m_xrow, m_xrow, x.data() + i * m_xrow);
      std::copy_n(m_window.y.data() + r * m_yrow, m_yrow, y.data() + i * m_yrow);
      w.data()[i] = m_window.w[std::size_t(r)];
    }
    m_window_pos += B;
    batch = data::Dataset<T>(std::move(x), std::move(y), std::move(w));
    return true;
  }

 private:
  struct RowShape {
    std::vector<std::int64_t> d;
    void push_back(std::int64_t v) { d.push_back(v); }
    std::size_t size() const {
      std::int64_t n = 1;
      for (auto v : d) n *= v;
      return std::size_t(n);
    }
    const std::vector<std::int64_t>& dims() const { return d; }
  };

  void account(std::int64_t b) {
    const std::int64_t now = m_live.fetch_add(b) + b;
    std::int64_t p = m_peak.load();
    while (now > p && !m_peak.compare_exchange_weak(p, now)) {
    }
  }
  void release(std::int64_t b) { m_live.fetch_sub(b); }

  detail::Chunk<T> read_chunk(std::int64_t c) {
    detail::Chunk<T> k;
    const std::int64_t r0 = c * m_chunk_rows;
    k.rows = std::min(m_chunk_rows, m_n - r0);
    account(std::int64_t(sizeof(T)) * k.rows * (std::int64_t(m_xrow) + m_yrow + 1));
    k.x.resize(std::size_t(k.rows) * m_xrow);
    k.y.resize(std::size_t(k.rows * m_yrow));
    k.w.assign(std::size_t(k.rows), T(1));
    m_file.read_rows<T>(m_o.features, r0, k.rows, k.x.data());
    m_file.read_rows<T>(m_o.targets, r0, k.rows, k.y.data());
    if (!m_o.weights.empty()) m_file.read_rows<T>(m_o.weights, r0, k.rows, k.w.data());
    return k;
  }

  void produce() {
    try {
      for (std::int64_t i = 0; i < m_chunks; ++i) {
        {
          std::unique_lock<std::mutex> lock(m_mutex);
          m_cv.wait(lock, [&] { return m_stop || std::int64_t(m_queue.size()) < m_o.prefetch_chunks; });
          if (m_stop) return;
        }
        detail::Chunk<T> k = read_chunk(m_order[std::size_t(i)]);
        std::lock_guard<std::mutex> lock(m_mutex);
        m_queue.push_back(std::move(k));
        m_cv.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_error = std::current_exception();
      m_cv.notify_all();
    }
  }

  /// Concatenates the next window_chunks chunks and draws their random row order.
  bool fill_window() {
    if (m_window.rows) release(std::int64_t(sizeof(T)) * m_window.rows * (std::int64_t(m_xrow) + m_yrow + 1));
    m_window = detail::Chunk<T>{};
    m_window_pos = 0;
    std::vector<detail::Chunk<T>> parts;
    while (int(parts.size()) < m_o.window_chunks && m_taken < m_chunks) {
      std::unique_lock<std::mutex> lock(m_mutex);
      m_cv.wait(lock, [&] { return !m_queue.empty() || m_error; });
      if (m_error) std::rethrow_exception(m_error);
      parts.push_back(std::move(m_queue.front()));
      m_queue.pop_front();
      ++m_taken;
      m_cv.notify_all();
    }
    if (parts.empty()) return false;
    if (parts.size() == 1) {
      m_window = std::move(parts[0]);
    } else {
      for (auto& p : parts) m_window.rows += p.rows;
      // the window takes the parts' rows; the parts are freed as they are copied
      const std::int64_t row = std::int64_t(m_xrow) + m_yrow + 1;
      account(std::int64_t(sizeof(T)) * m_window.rows * row);
      m_window.x.reserve(std::size_t(m_window.rows) * m_xrow);
      m_window.y.reserve(std::size_t(m_window.rows * m_yrow));
      m_window.w.reserve(std::size_t(m_window.rows));
      for (auto& p : parts) {
        release(std::int64_t(sizeof(T)) * p.rows * row);
        m_window.x.insert(m_window.x.end(), p.x.begin(), p.x.end());
        m_window.y.insert(m_window.y.end(), p.y.begin(), p.y.end());
        m_window.w.insert(m_window.w.end(), p.w.begin(), p.w.end());
        p = detail::Chunk<T>{};
      }
    }
    if (m_shuffle) {
      m_perm = data::permutation(m_window.rows, m_o.seed,
                                 rng_stream::shuffle + (std::uint64_t(m_epoch) << 20) + 1 + std::uint64_t(m_windows_done));
    } else {
      m_perm.resize(std::size_t(m_window.rows));
      for (std::int64_t i = 0; i < m_window.rows; ++i) m_perm[std::size_t(i)] = i;
    }
    ++m_windows_done;
    return true;
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      m_stop = true;
      m_cv.notify_all();
    }
    if (m_thread.joinable()) m_thread.join();
    std::lock_guard<std::mutex> lock(m_mutex);
    for (auto& k : m_queue) release(std::int64_t(sizeof(T)) * k.rows * (std::int64_t(m_xrow) + m_yrow + 1));
    m_queue.clear();
  }

  StreamOptions m_o;
  h5::File m_file;
  std::int64_t m_n = 0, m_yrow = 1, m_chunk_rows = 1, m_chunks = 0;
  RowShape m_xshape;
  std::size_t m_xrow = 1;
  double m_wsum = 0;
  // epoch state
  int m_epoch = 0;
  bool m_shuffle = true;
  std::vector<std::int64_t> m_order, m_perm;
  detail::Chunk<T> m_window;
  std::int64_t m_window_pos = 0, m_windows_done = 0, m_taken = 0;
  // the reader thread
  std::thread m_thread;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<detail::Chunk<T>> m_queue;
  bool m_stop = false;
  std::exception_ptr m_error;
  std::atomic<std::int64_t> m_live{0}, m_peak{0};
  std::int64_t m_batch_bytes = 0;
  bool m_started = false;
};

/// Dataset names as in StreamOptions: empty means "as the file records"; the output file uses the
/// same names and records them.
struct ShuffleOptions {
  std::string features = {};
  std::string targets = {};
  std::string weights = {};
  std::int64_t memory_budget_bytes = 256 << 20;
  std::uint64_t seed = 42;
  bool ignore_weights = false;  // leave the weights out of the output (deliberate)
};

/// Rewrites the data set of `in` to `out` (written atomically) in a uniformly random order,
/// reading and writing only contiguous runs of rows:
///   pass 1 reads `in` chunk by chunk and appends each row to one of K bucket files' datasets
///   (the bucket is drawn per row from Philox(seed, row)); pass 2 reads each bucket whole,
///   permutes it in memory and appends it to `out`. K is chosen so a bucket fits the budget.
/// Returns the number of buckets used. The temporary bucket file lies next to `out`.
template <class T>
int shuffle_file(const std::string& in, const std::string& out, const ShuffleOptions& options = {}) {
  h5::File src(in, h5::File::Mode::read);
  ShuffleOptions o = options;
  detail::resolve_streamed(src, o.features, o.targets, o.weights, o.ignore_weights, "shuffle_file");
  const h5::DatasetInfo xi = src.info(o.features), yi = src.info(o.targets);
  HEPNN_CHECK(!xi.shape.empty() && !yi.shape.empty() && yi.shape[0] == xi.shape[0], src.where(o.targets), "has shape ",
              h5::shape_str(yi.shape), " but the features ", h5::shape_str(xi.shape));
  const std::int64_t n = xi.shape[0];
  const std::int64_t xrow = n ? xi.size() / n : 1, yrow = n ? yi.size() / n : 1;
  const bool weighted = !o.weights.empty();
  if (weighted) {
    const h5::DatasetInfo wi = src.info(o.weights);
    HEPNN_CHECK(wi.shape.size() == 1 && wi.shape[0] == n, src.where(o.weights), "weights must be (", n, ",)");
  }
  const std::int64_t row_bytes = (xrow + yrow + 1) * std::int64_t(sizeof(T));
  // pass 2 holds one bucket twice (rows and permuted rows); a bucket gets a quarter of the budget for slack
  const std::int64_t bucket_rows = std::max<std::int64_t>(1, o.memory_budget_bytes / (4 * row_bytes));
  const int K = int(std::max<std::int64_t>(1, (n + bucket_rows - 1) / bucket_rows));
  const std::int64_t chunk_rows = std::max<std::int64_t>(1, o.memory_budget_bytes / (4 * row_bytes));
  auto bucket_of = [&](std::int64_t r) { return int(philox_u32(o.seed, rng_stream::dataset_shuffle + 7, std::uint64_t(r)) % unsigned(K)); };

  // counts per bucket (a pure function of the seed: no data needed)
  std::vector<std::int64_t> count(std::size_t(K), 0), fill(std::size_t(K), 0);
  for (std::int64_t r = 0; r < n; ++r) ++count[std::size_t(bucket_of(r))];
  auto with_rows = [](std::vector<std::int64_t> s, std::int64_t rows) {
    s[0] = rows;
    return s;
  };

  const std::string tmp = out + ".buckets-" + std::to_string(::getpid());
  struct Remove {
    std::string p;
    ~Remove() { std::remove(p.c_str()); }
  } remove_tmp{tmp};
  {
    h5::File b(tmp, h5::File::Mode::create);
    for (int k = 0; k < K; ++k) {
      const std::string g = detail::bucket_group(k);
      if (count[std::size_t(k)] == 0) continue;
      b.write<T>(g + "x", with_rows(xi.shape, count[std::size_t(k)]), nullptr, chunk_rows);
      b.write<T>(g + "y", with_rows(yi.shape, count[std::size_t(k)]), nullptr, chunk_rows);
      b.write<T>(g + "w", {count[std::size_t(k)]}, nullptr, chunk_rows);
    }
    std::vector<T> x, y, w, sx, sy, sw;
    for (std::int64_t r0 = 0; r0 < n; r0 += chunk_rows) {
      const std::int64_t m = std::min(chunk_rows, n - r0);
      x.resize(std::size_t(m * xrow));
      y.resize(std::size_t(m * yrow));
      w.assign(std::size_t(m), T(1));
      src.read_rows<T>(o.features, r0, m, x.data());
      src.read_rows<T>(o.targets, r0, m, y.data());
      if (weighted) src.read_rows<T>(o.weights, r0, m, w.data());
      // group the chunk's rows by bucket (stable), then one contiguous write per bucket
      std::vector<std::vector<std::int64_t>> rows(static_cast<std::size_t>(K));
      for (std::int64_t i = 0; i < m; ++i) rows[std::size_t(bucket_of(r0 + i))].push_back(i);
      for (int k = 0; k < K; ++k) {
        const auto& ids = rows[std::size_t(k)];
        if (ids.empty()) continue;
        const auto c = std::int64_t(ids.size());
        sx.resize(std::size_t(c * xrow));
        sy.resize(std::size_t(c * yrow));
        sw.resize(std::size_t(c));
        for (std::int64_t j = 0; j < c; ++j) {
          std::copy_n(x.data() + ids[std::size_t(j)] * xrow, xrow, sx.data() + j * xrow);
          std::copy_n(y.data() + ids[std::size_t(j)] * yrow, yrow, sy.data() + j * yrow);
          sw[std::size_t(j)] = w[std::size_t(ids[std::size_t(j)])];
        }
        const std::string g = detail::bucket_group(k);
        b.write_rows<T>(g + "x", fill[std::size_t(k)], c, sx.data());
        b.write_rows<T>(g + "y", fill[std::size_t(k)], c, sy.data());
        b.write_rows<T>(g + "w", fill[std::size_t(k)], c, sw.data());
        fill[std::size_t(k)] += c;
      }
    }
    b.close();
  }
  // pass 2: buckets one after the other, each permuted in memory
  h5::File b(tmp, h5::File::Mode::read);
  detail::atomic_write(out, [&](h5::File& f) {
    f.write<T>(o.features, xi.shape, nullptr, chunk_rows);
    f.write<T>(o.targets, yi.shape, nullptr, chunk_rows);
    if (weighted) f.write<T>(o.weights, {n}, nullptr, chunk_rows);
    write_roles(f, Role{o.features, {}}, Role{o.targets, {}}, weighted ? o.weights : std::string());
    std::int64_t at = 0;
    std::vector<T> x, y, w, px, py, pw;
    for (int k = 0; k < K; ++k) {
      const std::int64_t c = count[std::size_t(k)];
      if (c == 0) continue;
      const std::string g = detail::bucket_group(k);
      x.resize(std::size_t(c * xrow));
      y.resize(std::size_t(c * yrow));
      w.resize(std::size_t(c));
      b.read_rows<T>(g + "x", 0, c, x.data());
      b.read_rows<T>(g + "y", 0, c, y.data());
      b.read_rows<T>(g + "w", 0, c, w.data());
      const auto perm = data::permutation(c, o.seed, rng_stream::dataset_shuffle + 8 + std::uint64_t(k));
      px.resize(x.size());
      py.resize(y.size());
      pw.resize(w.size());
      for (std::int64_t j = 0; j < c; ++j) {
        const std::int64_t s = perm[std::size_t(j)];
        std::copy_n(x.data() + s * xrow, xrow, px.data() + j * xrow);
        std::copy_n(y.data() + s * yrow, yrow, py.data() + j * yrow);
        pw[std::size_t(j)] = w[std::size_t(s)];
      }
      f.write_rows<T>(o.features, at, c, px.data());
      f.write_rows<T>(o.targets, at, c, py.data());
      if (weighted) f.write_rows<T>(o.weights, at, c, pw.data());
      at += c;
    }
  });
  return K;
}

}  // namespace hepnn::io
