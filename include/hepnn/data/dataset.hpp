/// @file data/dataset.hpp
/// @brief Dataset<T>: features, targets and event weights in host memory; shuffles and splits.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hepnn/core/philox.hpp"
#include "hepnn/core/tensor.hpp"

namespace hepnn::inline HEPNN_ABI::data {

/// A random permutation of [0, n) (Fisher-Yates over Philox numbers of (seed, stream)): step i
/// (from n - 1 down) swaps p[i] with p[r % (i + 1)], r = Philox numbers 2i (high half) and
/// 2i + 1 (low half). The numbers are drawn a block at a time with philox_fill_u32 (the same
/// numbers as one philox_u32 call each, several times faster).
inline std::vector<std::int64_t> permutation(std::int64_t n, std::uint64_t seed, std::uint64_t stream) {
  std::vector<std::int64_t> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), std::int64_t{0});
  constexpr std::int64_t block = 512;  // steps per block of numbers
  std::uint32_t u[2 * block];
  for (std::int64_t hi = n - 1; hi > 0; hi -= block) {
    const std::int64_t lo = std::max<std::int64_t>(1, hi - block + 1);  // steps hi, hi - 1, ..., lo
    philox_fill_u32(seed, stream, 2 * static_cast<std::uint64_t>(lo), 2 * (hi - lo + 1), u);
    for (std::int64_t i = hi; i >= lo; --i) {
      const std::uint32_t* r2 = u + 2 * (i - lo);
      const std::uint64_t r = (static_cast<std::uint64_t>(r2[0]) << 32) | r2[1];
      std::swap(p[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(r % static_cast<std::uint64_t>(i + 1))]);
    }
  }
  return p;
}

/// Throws naming `what`, the row and the column of the first NaN or infinity in t.
template <class T>
void check_finite(const Tensor<T, cpu>& t, const std::string& what) {
  const std::int64_t rows = t.rank() ? t.shape()[0] : 1;
  const std::int64_t cols = rows ? t.size() / rows : 0;
  for (std::int64_t i = 0; i < t.size(); ++i)
    HEPNN_CHECK(std::isfinite(t.data()[i]), what, " contain a non-finite value (", t.data()[i], ") at row ", i / cols,
                ", column ", i % cols);
}

template <class T>
class Dataset;

struct SplitFractions {
  double validation = 0.0;
  double test = 0.0;
};

template <class T>
struct Split;

/// Features (N, ...), targets (N, ...) and per-event weights (N). Move-only; clone() copies.
template <class T>
class Dataset {
 public:
  Dataset() = default;
  /// requires: the first extents agree; weights, when given, are (N). Weights default to 1.
  Dataset(Tensor<T, cpu> features, Tensor<T, cpu> targets, Tensor<T, cpu> weights = {})
      : m_x(std::move(features)), m_y(std::move(targets)), m_w(std::move(weights)) {
    HEPNN_CHECK(m_x.rank() >= 1, "Dataset: features need a leading event axis, got shape ", m_x.shape().str());
    const std::int64_t n = m_x.shape()[0];
    if (m_y.rank() == 1) m_y.reshape(Shape{n == m_y.size() ? n : m_y.size(), 1});
    HEPNN_CHECK(m_y.rank() >= 1 && m_y.shape()[0] == n, "Dataset: ", n, " events of features ", m_x.shape().str(),
                " but targets have shape ", m_y.shape().str());
    if (m_w.empty() && n != 0) {
      m_w = Tensor<T, cpu>(Shape{n}, T(1));
      m_weighted = false;
    } else {
      HEPNN_CHECK(m_w.rank() == 1 && m_w.size() == n, "Dataset: weight vector has shape ", m_w.shape().str(),
                  " but there are ", n, " events; expected (", n, ",)");
      m_weighted = true;
    }
  }

  std::int64_t size() const { return m_x.rank() ? m_x.shape()[0] : 0; }
  bool empty() const { return size() == 0; }
  bool weighted() const { return m_weighted; }
  const Tensor<T, cpu>& features() const { return m_x; }
  const Tensor<T, cpu>& targets() const { return m_y; }
  const Tensor<T, cpu>& weights() const { return m_w; }
  Tensor<T, cpu>& features() { return m_x; }
  Tensor<T, cpu>& targets() { return m_y; }
  Tensor<T, cpu>& weights() { return m_w; }
  double sum_of_weights() const {
    double s = 0;
    for (T w : m_w) s += double(w);
    return s;
  }

  Dataset clone() const { return Dataset(m_x.clone(), m_y.clone(), m_weighted ? m_w.clone() : Tensor<T, cpu>{}); }

  /// The events at the given indices, in that order.
  Dataset subset(const std::vector<std::int64_t>& idx) const {
    return Dataset(gather(m_x, idx), gather(m_y, idx), m_weighted ? gather(m_w, idx) : Tensor<T, cpu>{});
  }
  /// Events [begin, end).
  Dataset slice(std::int64_t begin, std::int64_t end) const {
    HEPNN_CHECK(0 <= begin && begin <= end && end <= size(), "Dataset::slice: [", begin, ", ", end,
                ") is not inside [0, ", size(), ")");
    std::vector<std::int64_t> idx(static_cast<std::size_t>(end - begin));
    std::iota(idx.begin(), idx.end(), begin);
    return subset(idx);
  }
  /// A copy in random order (Philox keyed by seed).
  Dataset shuffled(std::uint64_t seed) const { return subset(permutation(size(), seed, rng_stream::dataset_shuffle)); }
  /// Train / validation / test parts, in this order of the events: train first, test last.
  /// Shuffle first (shuffled(seed)) unless the order is already random.
  Split<T> split(SplitFractions f) const;

  /// Copies rows idx[begin, end) of t into out (rows of t.size() / N elements).
  static void gather_rows(const Tensor<T, cpu>& t, const std::int64_t* idx, std::int64_t count, T* out) {
    const std::int64_t n = t.shape()[0];
    const std::int64_t row = n ? t.size() / n : 0;
    for (std::int64_t i = 0; i < count; ++i)
      std::copy_n(t.data() + idx[i] * row, row, out + i * row);
  }

 private:
  static Tensor<T, cpu> gather(const Tensor<T, cpu>& t, const std::vector<std::int64_t>& idx) {
    Shape s = t.shape();
    s[0] = static_cast<index_t>(idx.size());
    Tensor<T, cpu> out(s);
    for (std::int64_t i : idx)
      HEPNN_CHECK(i >= 0 && i < t.shape()[0], "Dataset: event index ", i, " out of range [0, ", t.shape()[0], ")");
    gather_rows(t, idx.data(), static_cast<std::int64_t>(idx.size()), out.data());
    return out;
  }

  Tensor<T, cpu> m_x, m_y, m_w;
  bool m_weighted = false;
};

template <class T>
struct Split {
  Dataset<T> train, validation, test;
};

template <class T>
Split<T> Dataset<T>::split(SplitFractions f) const {
  HEPNN_CHECK(f.validation >= 0 && f.test >= 0 && f.validation + f.test < 1, "Dataset::split: validation (",
              f.validation, ") and test (", f.test, ") fractions must be >= 0 and sum to less than 1");
  const std::int64_t n = size();
  const auto n_test = static_cast<std::int64_t>(std::llround(f.test * double(n)));
  const auto n_val = static_cast<std::int64_t>(std::llround(f.validation * double(n)));
  const std::int64_t n_train = n - n_test - n_val;
  return Split<T>{slice(0, n_train), slice(n_train, n_train + n_val), slice(n_train + n_val, n)};
}

}  // namespace hepnn::data
