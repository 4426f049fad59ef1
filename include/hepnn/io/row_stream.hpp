/// @file io/row_stream.hpp
/// @brief The reader behind io::StreamingSource and io::NamedStreamingSource: rows of several
/// datasets of one HDF5 file (the same events, row by row), read in contiguous chunks on a
/// background thread (prefetch) and shuffled within a window of several chunks.
///
/// Memory: at most prefetch_chunks + window_chunks chunk buffers (recycled, not reallocated)
/// and one batch are alive; the chunk size follows from the memory budget (and is a multiple of
/// the file's storage chunks when the budget allows), and buffer_bytes_peak() reports the most
/// it held.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "hepnn/core/philox.hpp"
#include "hepnn/data/dataset.hpp"
#include "hepnn/io/hdf5.hpp"

namespace hepnn::inline HEPNN_ABI::io::detail {

/// Asks Linux to back [p, p + bytes) with 2 MiB pages where the system allows it on request
/// (transparent_hugepage = madvise): shuffled rows are read all over a window of tens of MB,
/// and 4 KiB pages would cost a TLB miss per row. Before the first touch; a hint only.
inline void advise_huge_pages(void* p, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t huge = std::uintptr_t(2) << 20;
  const std::uintptr_t first = (reinterpret_cast<std::uintptr_t>(p) + huge - 1) & ~(huge - 1);
  const std::uintptr_t last = (reinterpret_cast<std::uintptr_t>(p) + bytes) & ~(huge - 1);
  if (last > first) (void)madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

/// A hint to load the cache line at p (no effect where the compiler has no such builtin).
inline void hepnn_prefetch(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(p);
#else
  (void)p;
#endif
}

/// One dataset a RowStream reads: `row` values per event. An empty dataset name is a column of
/// ones (the weights of a file without weights).
struct StreamColumn {
  std::string dataset;
  std::int64_t row = 1;
};

/// How a RowStream reads: the memory budget of all its row buffers, the window and prefetch
/// depths, and the seed of its order.
struct StreamParams {
  std::int64_t memory_budget_bytes = 64 << 20;
  int window_chunks = 4;
  int prefetch_chunks = 2;
  std::uint64_t seed = 42;
  std::int64_t first_row = 0;  ///< the stream's rows are the file's rows first_row, first_row + 1, ... (a shard)
};

/// The sum of the n values of the 1-D dataset `name` from row first_row on, read as T (as the
/// batches hold them) chunk_rows at a time.
template <class T>
double sum_of_rows(const h5::File& f, const std::string& name, std::int64_t n, std::int64_t chunk_rows,
                   std::int64_t first_row = 0) {
  double s = 0;
  std::vector<T> v(static_cast<std::size_t>(std::min(chunk_rows, std::max<std::int64_t>(n, 1))));
  for (std::int64_t r = 0; r < n; r += chunk_rows) {
    const std::int64_t k = std::min(chunk_rows, n - r);
    f.template read_rows<T>(name, first_row + r, k, v.data());
    for (std::int64_t i = 0; i < k; ++i) s += double(v[std::size_t(i)]);
  }
  return s;
}

/// Each epoch visits the chunks in a random order (Philox keyed by seed and epoch), and within
/// each window of window_chunks chunks the rows in random order. The order depends only on the
/// seed, the epoch and the chunk size, never on thread timing. Not copyable or movable (its
/// thread refers to it); the file must outlive it.
///
/// Speed (docs/benchmarks.md, "Streaming"): chunk buffers go back to a free list and are read
/// into again, so the pages are touched once, not faulted in for every chunk; the window is the
/// chunks themselves (a permutation over their rows, no copy into one block); a batch copies
/// each run of consecutive rows in one piece (a whole batch when not shuffled); and chunks
/// start at the file's storage chunks, so no checksummed storage chunk is read twice.
template <class T>
class RowStream {
 public:
  /// Streams the n rows of `columns` of `file`; `who` starts the error messages.
  RowStream(const h5::File& file, std::vector<StreamColumn> columns, std::int64_t n, const StreamParams& p,
            const std::string& who)
      : m_file(file), m_cols(std::move(columns)), m_p(p), m_n(n) {
    HEPNN_CHECK(m_p.window_chunks >= 1 && m_p.prefetch_chunks >= 1, who, ": window_chunks and prefetch_chunks must be >= 1");
    for (const auto& c : m_cols) m_row += c.row;
    const std::int64_t row_bytes = m_row * std::int64_t(sizeof(T));
    // chunks alive at once: the reader's (queue and the one it fills: prefetch_chunks), the
    // window with the parts it is built from, or the window with a batch (each <= window_chunks)
    const std::int64_t pieces = m_p.prefetch_chunks + 2 * std::int64_t(m_p.window_chunks);
    m_chunk_rows = m_p.memory_budget_bytes / (pieces * row_bytes);
    HEPNN_CHECK(m_chunk_rows >= 1, who, " '", m_file.path(), "': a memory budget of ", m_p.memory_budget_bytes,
                " bytes does not hold ", pieces, " rows of ", row_bytes, " bytes");
    // Whole storage chunks of the widest column: HDF5 reads a filtered (checksummed or
    // compressed) storage chunk whole, so one cut in two by a chunk boundary is read twice.
    const StreamColumn* widest = nullptr;
    for (const auto& c : m_cols)
      if (!c.dataset.empty() && (!widest || c.row > widest->row)) widest = &c;
    const std::int64_t stored = widest ? m_file.chunk_rows(widest->dataset) : 0;
    if (stored > 1 && m_chunk_rows > stored && m_p.first_row % stored == 0) m_chunk_rows -= m_chunk_rows % stored;
    m_chunk_rows = std::min(m_chunk_rows, std::max<std::int64_t>(1, m_n));
    m_chunks = (m_n + m_chunk_rows - 1) / m_chunk_rows;
  }
  ~RowStream() { stop(); }
  RowStream(const RowStream&) = delete;
  RowStream& operator=(const RowStream&) = delete;

  std::int64_t chunk_rows() const { return m_chunk_rows; }
  std::int64_t buffer_bytes_peak() const { return m_peak.load(); }

  /// Begins a pass over all rows: the chunks in a random order when `shuffle`, else in file order.
  void start_epoch(int epoch, bool shuffle) {
    stop();
    m_epoch = epoch;
    m_shuffle = shuffle;
    m_order = shuffle ? data::permutation(m_chunks, m_p.seed, rng_stream::shuffle + (std::uint64_t(epoch) << 20))
                      : std::vector<std::int64_t>();
    if (!shuffle) {
      m_order.resize(std::size_t(m_chunks));
      for (std::int64_t i = 0; i < m_chunks; ++i) m_order[std::size_t(i)] = i;
    }
    recycle_window();
    m_window_pos = 0;
    m_windows_done = 0;
    m_taken = 0;
    m_stop = false;
    m_error = nullptr;
    m_started = true;
    m_thread = std::thread([this] { produce(); });
  }

  /// Moves on to the next batch of at most `batch_size` rows and returns its size; 0 once the
  /// pass is over. The rows of the batch stay readable through copy() until the next call.
  std::int64_t next(std::int64_t batch_size, const std::string& who) {
    HEPNN_CHECK(m_started, who, ": call start_epoch first");
    release(m_batch_bytes);  // the caller's previous batch is replaced
    m_batch_bytes = 0;
    m_batch = 0;
    if (m_window_pos >= m_window_rows && !fill_window()) {
      stop();
      m_started = false;
      return 0;
    }
    m_batch_pos = m_window_pos;
    m_batch = std::min(batch_size, m_window_rows - m_window_pos);
    m_batch_bytes = bytes(m_batch);
    account(m_batch_bytes);
    m_window_pos += m_batch;
    return m_batch;
  }
  /// Copies the current batch's rows of every column c to dst[c] (batch size times the
  /// column's row values each).
  void copy(const std::vector<T*>& dst) const {
    HEPNN_CHECK(dst.size() == m_cols.size(), "RowStream::copy: ", dst.size(), " destinations for ", m_cols.size(),
                " columns");
    const std::size_t nc = m_cols.size();
    auto part_of = [&](std::int64_t g) {  // the part holding window row g (at most window_chunks)
      std::size_t p = 0;
      while (g >= m_part_start[p + 1]) ++p;
      return p;
    };
    if (!m_shuffle) {  // file order: runs of whole parts, every column of a run in one piece each
      for (std::int64_t i = 0; i < m_batch;) {
        const std::int64_t g = m_batch_pos + i;  // window rows in order: no permutation
        const std::size_t p = part_of(g);
        const std::int64_t len = std::min(m_batch - i, m_part_start[p + 1] - g);
        for (std::size_t c = 0; c < nc; ++c) {
          const std::int64_t row = m_cols[c].row;
          std::copy_n(m_parts[p].cols[c].data() + (g - m_part_start[p]) * row, len * row, dst[c] + i * row);
        }
        i += len;
      }
      return;
    }
    // Shuffled rows are scattered over the window (tens of MB). One column at a time (measured
    // faster than every column of a row together), asking for the row a few rows ahead so that
    // its cache misses overlap with the copies before it.
    constexpr std::int64_t ahead = 8;
    const std::int64_t* perm = m_perm.data() + m_batch_pos;
    for (std::size_t c = 0; c < nc; ++c) {
      const std::int64_t row = m_cols[c].row;
      auto source = [&](std::int64_t g) {
        const std::size_t p = part_of(g);
        return m_parts[p].cols[c].data() + (g - m_part_start[p]) * row;
      };
      T* out = dst[c];
      for (std::int64_t i = 0; i < m_batch; ++i) {
        if (i + ahead < m_batch) {
          const char* next = reinterpret_cast<const char*>(source(perm[i + ahead]));
          for (std::int64_t b = 0; b < row * std::int64_t(sizeof(T)); b += 64) hepnn_prefetch(next + b);
        }
        const T* src = source(perm[i]);
        if (row == 1)
          out[i] = *src;
        else
          std::copy_n(src, row, out + i * row);
      }
    }
  }

 private:
  struct Chunk {
    std::vector<std::vector<T>> cols;
    std::int64_t rows = 0;
  };
  std::int64_t bytes(std::int64_t rows) const { return std::int64_t(sizeof(T)) * rows * m_row; }
  void account(std::int64_t b) {
    const std::int64_t now = m_live.fetch_add(b) + b;
    std::int64_t p = m_peak.load();
    while (now > p && !m_peak.compare_exchange_weak(p, now)) {
    }
  }
  void release(std::int64_t b) { m_live.fetch_sub(b); }

  /// A chunk buffer from the free list, or a new one of a whole chunk's capacity (counted once).
  Chunk take_buffer() {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      if (!m_free.empty()) {
        Chunk k = std::move(m_free.back());
        m_free.pop_back();
        return k;
      }
    }
    Chunk k;
    k.cols.resize(m_cols.size());
    for (std::size_t j = 0; j < m_cols.size(); ++j) {
      k.cols[j].reserve(std::size_t(m_chunk_rows * m_cols[j].row));
      advise_huge_pages(k.cols[j].data(), k.cols[j].capacity() * sizeof(T));
    }
    account(bytes(m_chunk_rows));
    return k;
  }

  Chunk read_chunk(std::int64_t c) {
    Chunk k = take_buffer();
    const std::int64_t r0 = c * m_chunk_rows;
    k.rows = std::min(m_chunk_rows, m_n - r0);
    for (std::size_t j = 0; j < m_cols.size(); ++j) {
      k.cols[j].resize(std::size_t(k.rows * m_cols[j].row));  // within the capacity: no allocation
      if (m_cols[j].dataset.empty())
        std::fill(k.cols[j].begin(), k.cols[j].end(), T(1));
      else
        m_file.read_rows<T>(m_cols[j].dataset, m_p.first_row + r0, k.rows, k.cols[j].data());
    }
    return k;
  }

  /// The window's chunks go back to the free list.
  void recycle_window() {
    std::lock_guard<std::mutex> lock(m_mutex);
    for (auto& k : m_parts) m_free.push_back(std::move(k));
    m_parts.clear();
    m_part_start.assign(1, 0);
    m_window_rows = 0;
  }

  void produce() {
    try {
      for (std::int64_t i = 0; i < m_chunks; ++i) {
        {
          std::unique_lock<std::mutex> lock(m_mutex);
          m_cv.wait(lock, [&] { return m_stop || std::int64_t(m_queue.size()) < m_p.prefetch_chunks; });
          if (m_stop) return;
        }
        Chunk k = read_chunk(m_order[std::size_t(i)]);
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

  /// Takes the next window_chunks chunks as the window (its rows are theirs, in the order
  /// taken) and draws the window's random row order.
  bool fill_window() {
    recycle_window();
    m_window_pos = 0;
    while (int(m_parts.size()) < m_p.window_chunks && m_taken < m_chunks) {
      std::unique_lock<std::mutex> lock(m_mutex);
      m_cv.wait(lock, [&] { return !m_queue.empty() || m_error; });
      if (m_error) std::rethrow_exception(m_error);
      m_parts.push_back(std::move(m_queue.front()));
      m_queue.pop_front();
      m_window_rows += m_parts.back().rows;
      m_part_start.push_back(m_window_rows);
      ++m_taken;
      m_cv.notify_all();
    }
    if (m_parts.empty()) return false;
    if (m_shuffle)  // in file order the window's rows are served as they are: no permutation
      m_perm = data::permutation(m_window_rows, m_p.seed,
                                 rng_stream::shuffle + (std::uint64_t(m_epoch) << 20) + 1 + std::uint64_t(m_windows_done));
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
    for (auto& k : m_queue) m_free.push_back(std::move(k));  // kept for the next pass
    m_queue.clear();
  }

  const h5::File& m_file;
  std::vector<StreamColumn> m_cols;
  StreamParams m_p;
  std::int64_t m_n = 0, m_row = 0, m_chunk_rows = 1, m_chunks = 0;
  // epoch state
  int m_epoch = 0;
  bool m_shuffle = true;
  std::vector<std::int64_t> m_order, m_perm;
  std::vector<Chunk> m_parts;                    // the window: its chunks, in the order taken
  std::vector<std::int64_t> m_part_start{0};     // window row of each part's first row, then the total
  std::int64_t m_window_rows = 0;
  std::int64_t m_window_pos = 0, m_windows_done = 0, m_taken = 0, m_batch_pos = 0, m_batch = 0;
  // the reader thread
  std::thread m_thread;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<Chunk> m_queue;
  std::vector<Chunk> m_free;  // chunk buffers to read into again (their bytes stay counted as live)
  bool m_stop = false;
  std::exception_ptr m_error;
  std::atomic<std::int64_t> m_live{0}, m_peak{0};
  std::int64_t m_batch_bytes = 0;
  bool m_started = false;
};

}  // namespace hepnn::io::detail
