/// @file data/preprocessing.hpp
/// @brief Preprocessing fitted on the training part only: standardisation and min-max scaling
/// (as InputTransforms that a model stores and applies in predict), stratified splits, and
/// event-weight normalisation per class.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "hepnn/data/dataset.hpp"
#include "hepnn/data/input_transform.hpp"

namespace hepnn::inline HEPNN_ABI::data {

/// x' = (x - mean) / std per input element, mean and (population) std over the rows of x.
/// Constant elements get scale 1. Fit on the training part only, then model.set_input_transform.
template <class T>
InputTransform<T> fit_standardization(const Tensor<T, cpu>& x) {
  HEPNN_CHECK(x.rank() >= 1 && x.shape()[0] > 0, "fit_standardization: needs at least one row, got shape ",
              x.shape().str());
  const std::int64_t n = x.shape()[0], row = x.size() / n;
  std::vector<double> mean(std::size_t(row), 0.0), var(std::size_t(row), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < row; ++j) mean[std::size_t(j)] += double(x.data()[i * row + j]);
  for (auto& m : mean) m /= double(n);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < row; ++j) {
      const double d = double(x.data()[i * row + j]) - mean[std::size_t(j)];
      var[std::size_t(j)] += d * d;
    }
  InputTransform<T> t{"standardize", {}, {}};
  for (std::int64_t j = 0; j < row; ++j) {
    const double sd = std::sqrt(var[std::size_t(j)] / double(n));
    HEPNN_CHECK(std::isfinite(mean[std::size_t(j)]) && std::isfinite(sd), "fit_standardization: element ", j,
                " has a non-finite mean or spread");
    t.shift.push_back(T(mean[std::size_t(j)]));
    t.scale.push_back(sd > 0 ? T(1.0 / sd) : T(1));
  }
  return t;
}

/// x' = (x - min) / (max - min) per input element, into [0, 1] on the rows of x. Constant
/// elements get scale 1.
template <class T>
InputTransform<T> fit_minmax(const Tensor<T, cpu>& x) {
  HEPNN_CHECK(x.rank() >= 1 && x.shape()[0] > 0, "fit_minmax: needs at least one row, got shape ", x.shape().str());
  const std::int64_t n = x.shape()[0], row = x.size() / n;
  std::vector<T> lo(x.data(), x.data() + row), hi = lo;
  for (std::int64_t i = 1; i < n; ++i)
    for (std::int64_t j = 0; j < row; ++j) {
      lo[std::size_t(j)] = std::min(lo[std::size_t(j)], x.data()[i * row + j]);
      hi[std::size_t(j)] = std::max(hi[std::size_t(j)], x.data()[i * row + j]);
    }
  InputTransform<T> t{"minmax", lo, {}};
  for (std::int64_t j = 0; j < row; ++j) {
    const double r = double(hi[std::size_t(j)]) - double(lo[std::size_t(j)]);
    t.scale.push_back(r > 0 ? T(1.0 / r) : T(1));
  }
  return t;
}

/// The class of each event: the rounded target for one target column, the argmax otherwise.
template <class T>
std::vector<int> class_labels(const Dataset<T>& d) {
  const std::int64_t n = d.size(), tc = n ? d.targets().size() / n : 0;
  std::vector<int> c(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const T* t = d.targets().data() + i * tc;
    c[std::size_t(i)] = tc == 1 ? int(std::lround(double(t[0]))) : int(std::max_element(t, t + tc) - t);
  }
  return c;
}

/// Train / validation / test parts in random order (Philox keyed by seed). With stratify, each
/// class is split in the same fractions, so every part has the class mixture of the whole.
template <class T>
Split<T> split(const Dataset<T>& d, SplitFractions f, std::uint64_t seed, bool stratify = false) {
  HEPNN_CHECK(f.validation >= 0 && f.test >= 0 && f.validation + f.test < 1, "split: validation (", f.validation,
              ") and test (", f.test, ") fractions must be >= 0 and sum to less than 1");
  if (!stratify) return d.shuffled(seed).split(f);
  const std::vector<int> labels = class_labels(d);
  std::map<int, std::vector<std::int64_t>> by_class;
  const std::vector<std::int64_t> order = permutation(d.size(), seed, rng_stream::dataset_shuffle);
  for (std::int64_t i : order) by_class[labels[std::size_t(i)]].push_back(i);
  std::vector<std::int64_t> parts[3];
  for (const auto& [c, idx] : by_class) {
    const auto n = std::int64_t(idx.size());
    const auto n_test = std::int64_t(std::llround(f.test * double(n)));
    const auto n_val = std::int64_t(std::llround(f.validation * double(n)));
    const std::int64_t n_train = n - n_test - n_val;
    parts[0].insert(parts[0].end(), idx.begin(), idx.begin() + n_train);
    parts[1].insert(parts[1].end(), idx.begin() + n_train, idx.begin() + n_train + n_val);
    parts[2].insert(parts[2].end(), idx.begin() + n_train + n_val, idx.end());
  }
  // classes were appended one after the other: mix each part again
  for (int p = 0; p < 3; ++p) {
    const auto perm = permutation(std::int64_t(parts[p].size()), seed, rng_stream::dataset_shuffle + 1 + std::uint64_t(p));
    std::vector<std::int64_t> mixed(parts[p].size());
    for (std::size_t i = 0; i < perm.size(); ++i) mixed[i] = parts[p][std::size_t(perm[i])];
    parts[p] = std::move(mixed);
  }
  return Split<T>{d.subset(parts[0]), d.subset(parts[1]), d.subset(parts[2])};
}

/// Scales the event weights of each class so that their mean is 1 within the class (signal and
/// background then weigh the same in the loss, whatever their cross sections). requires: each
/// class's weights sum to a positive number.
template <class T>
void normalize_weights_per_class(Dataset<T>& d) {
  const std::vector<int> labels = class_labels(d);
  std::map<int, std::pair<double, std::int64_t>> sums;
  for (std::int64_t i = 0; i < d.size(); ++i) {
    auto& s = sums[labels[std::size_t(i)]];
    s.first += double(d.weights().data()[i]);
    ++s.second;
  }
  for (const auto& [c, s] : sums)
    HEPNN_CHECK(s.first > 0, "normalize_weights_per_class: the weights of class ", c, " sum to ", s.first,
                "; they must sum to a positive number");
  Tensor<T, cpu> w(Shape{d.size()});
  for (std::int64_t i = 0; i < d.size(); ++i) {
    const auto& s = sums[labels[std::size_t(i)]];
    w.data()[i] = T(double(d.weights().data()[i]) * double(s.second) / s.first);
  }
  d = Dataset<T>(std::move(d.features()), std::move(d.targets()), std::move(w));
}

}  // namespace hepnn::data
