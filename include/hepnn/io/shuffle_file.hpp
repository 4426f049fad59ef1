/// @file io/shuffle_file.hpp
/// @brief shuffle_file rewrites an HDF5 data file in random order out of core (two-pass bucket
/// shuffle), so that io::StreamingSource's windowed shuffle sees well-mixed chunks.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cstdio>
#include <string>
#include <unistd.h>
#include <vector>

#include "hepnn/core/philox.hpp"
#include "hepnn/io/data_file.hpp"
#include "hepnn/io/hdf5.hpp"
#include "hepnn/io/streaming.hpp"

namespace hepnn::inline HEPNN_ABI::io {

namespace detail {
/// "b<k>/" (built step by step: GCC 12 warns falsely on "b" + std::to_string(k) at -O3)
inline std::string bucket_group(int k) {
  std::string g(1, 'b');
  g += std::to_string(k);
  g += '/';
  return g;
}
}  // namespace detail

/// Dataset names as in StreamOptions: empty means "as the file records"; the output file uses the
/// same names and records them.
struct ShuffleOptions {
  std::string features = {};                     ///< the features dataset; empty: the file's role, else "features"
  std::string targets = {};                      ///< the targets dataset; empty: the file's role, else "targets"
  std::string weights = {};                      ///< the weights dataset; empty: the file's role, else "weights" if present
  std::int64_t memory_budget_bytes = 256 << 20;  ///< for the rows held at once (a bucket is a quarter of it)
  std::uint64_t seed = 42;                       ///< keys the buckets and their permutations
  bool ignore_weights = false;                   ///< leave the weights out of the output (deliberate)
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
