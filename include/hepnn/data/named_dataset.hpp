/// @file data/named_dataset.hpp
/// @brief NamedDataset: the data of a model with several inputs and outputs, by name.
///
/// Each input is a tensor (N, sample shape...) under the input's name, each output's targets a
/// tensor (N, ...) under the output's name. Event weights (N) are shared by every output unless
/// an output has weights of its own. A model checks the names against its inputs and outputs:
/// a missing or an extra name is an error, never a silently unused column.
#pragma once
#include "hepnn/core/config.hpp"
#include <map>
#include <string>
#include <vector>

#include "hepnn/data/dataset.hpp"

namespace hepnn::inline HEPNN_ABI::data {

template <class T>
class NamedDataset {
 public:
  using Tensors = std::map<std::string, Tensor<T, cpu>>;
  NamedDataset() = default;
  /// requires: every tensor has the same leading (event) extent; weights, when given, are (N);
  /// targets of rank 1 become (N, 1).
  NamedDataset(Tensors inputs, Tensors targets, Tensor<T, cpu> weights = {}, Tensors output_weights = {})
      : m_inputs(std::move(inputs)), m_targets(std::move(targets)), m_w(std::move(weights)),
        m_out_w(std::move(output_weights)) {
    HEPNN_CHECK(!m_inputs.empty(), "NamedDataset: no inputs");
    m_n = -1;
    auto check = [&](const std::string& kind, const std::string& name, const Tensor<T, cpu>& t) {
      HEPNN_CHECK(t.rank() >= 1, "NamedDataset: ", kind, " '", name, "' needs a leading event axis, got shape ",
                  t.shape().str());
      if (m_n < 0) m_n = t.shape()[0];
      HEPNN_CHECK(t.shape()[0] == m_n, "NamedDataset: ", kind, " '", name, "' has ", t.shape()[0], " events (shape ",
                  t.shape().str(), "), the first tensor has ", m_n);
    };
    for (const auto& [k, t] : m_inputs) check("input", k, t);
    for (auto& [k, t] : m_targets) {
      if (t.rank() == 1) t.reshape(Shape{t.size(), 1});
      check("targets", k, t);
    }
    if (m_w.empty()) {
      m_w = Tensor<T, cpu>(Shape{m_n}, T(1));
    } else {
      HEPNN_CHECK(m_w.rank() == 1 && m_w.size() == m_n, "NamedDataset: weights have shape ", m_w.shape().str(),
                  ", expected (", m_n, ",)");
    }
    for (const auto& [k, t] : m_out_w) {
      HEPNN_CHECK(m_targets.count(k), "NamedDataset: weights for output '", k, "', which has no targets");
      HEPNN_CHECK(t.rank() == 1 && t.size() == m_n, "NamedDataset: weights of output '", k, "' have shape ",
                  t.shape().str(), ", expected (", m_n, ",)");
    }
  }
  NamedDataset(NamedDataset&&) noexcept = default;
  NamedDataset& operator=(NamedDataset&&) noexcept = default;

  std::int64_t size() const { return m_n < 0 ? 0 : m_n; }
  bool empty() const { return size() == 0; }
  const Tensors& inputs() const { return m_inputs; }
  const Tensors& targets() const { return m_targets; }
  /// The event weights shared by the outputs (ones when none were given).
  const Tensor<T, cpu>& weights() const { return m_w; }
  /// The weights of output `name`: its own, or the shared ones.
  const Tensor<T, cpu>& weights(const std::string& name) const {
    auto it = m_out_w.find(name);
    return it == m_out_w.end() ? m_w : it->second;
  }
  const Tensors& output_weights() const { return m_out_w; }

  /// The events idx, in that order.
  NamedDataset subset(const std::vector<std::int64_t>& idx) const {
    auto pick = [&](const Tensors& ts) {
      Tensors out;
      for (const auto& [k, t] : ts) out.emplace(k, gather(t, idx));
      return out;
    };
    return NamedDataset(pick(m_inputs), pick(m_targets), gather(m_w, idx), pick(m_out_w));
  }
  /// Events [begin, end).
  NamedDataset slice(std::int64_t begin, std::int64_t end) const {
    HEPNN_CHECK(0 <= begin && begin <= end && end <= size(), "NamedDataset::slice: [", begin, ", ", end,
                ") is outside [0, ", size(), ")");
    std::vector<std::int64_t> idx(static_cast<std::size_t>(end - begin));
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = begin + std::int64_t(i);
    return subset(idx);
  }
  NamedDataset shuffled(std::uint64_t seed) const { return subset(permutation(size(), seed, rng_stream::dataset_shuffle)); }

 private:
  static Tensor<T, cpu> gather(const Tensor<T, cpu>& t, const std::vector<std::int64_t>& idx) {
    Shape s = t.shape();
    s[0] = std::int64_t(idx.size());
    Tensor<T, cpu> out(s);
    Dataset<T>::gather_rows(t, idx.data(), std::int64_t(idx.size()), out.data());
    return out;
  }
  Tensors m_inputs, m_targets;
  Tensor<T, cpu> m_w;
  Tensors m_out_w;
  std::int64_t m_n = 0;
};

}  // namespace hepnn::data
