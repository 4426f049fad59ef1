/// @file graph/model_parallel.hpp
/// @brief The data-parallel parts of Model::fit (ModelFitOptions::communicator; included by
/// graph/model_train.hpp): the ranks' agreement check, rank 0's weights, the gradient sum and the
/// moving statistics' average. docs/distributed.md describes the scheme.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <utility>
#include <vector>

#include "hepnn/data/fingerprint.hpp"
#include "hepnn/graph/model.hpp"
#include "hepnn/train/communicator.hpp"

namespace hepnn::inline HEPNN_ABI {

/// Makes a fit data-parallel over `c` (when it has more than one rank) while it runs, and
/// single-process again however the fit ends.
template <class T, class Device>
class Model<T, Device>::ParallelScope {
 public:
  /// m's fit is data-parallel over c while this object lives (when c has more than one rank).
  ParallelScope(Model& m, Communicator* c, std::int64_t bucket_bytes) : m(m) {
    HEPNN_CHECK(bucket_bytes >= 0, "fit: bucket_bytes must be >= 0, got ", bucket_bytes);
    m.m_comm = c && c->size() > 1 ? c : nullptr;
    if (m.m_comm) m.plan_buckets(bucket_bytes);
  }
  ~ParallelScope() {
    m.m_comm = nullptr;
    m.m_buckets.clear();
  }
  ParallelScope(const ParallelScope&) = delete;
  ParallelScope& operator=(const ParallelScope&) = delete;

 private:
  Model& m;
};

namespace detail {

/// Element-wise sum over the ranks of n values on any device (off the CPU: in GPU memory when the
/// communicator sums device buffers, else through the host).
template <class T, class Device>
void allreduce_sum(Communicator& c, T* data, std::int64_t n) {
  if (n == 0) return;
  if constexpr (std::is_same_v<Device, cpu>) {
    c.allreduce_sum(data, n);
  } else if (c.sums_device_buffers()) {
    c.allreduce_sum_device(data, n);  // NCCL: where the gradients are
  } else {
    std::vector<T> host(static_cast<std::size_t>(n));
    copy_bytes<cpu, Device>(host.data(), data, sizeof(T) * host.size());
    c.allreduce_sum(host.data(), n);
    copy_bytes<Device, cpu>(data, host.data(), sizeof(T) * host.size());
  }
}

/// Rank `root`'s n values on every rank, on any device.
template <class T, class Device>
void broadcast(Communicator& c, T* data, std::int64_t n, int root) {
  if (n == 0) return;
  if constexpr (std::is_same_v<Device, cpu>) {
    c.broadcast(data, n, root);
  } else {
    std::vector<T> host(static_cast<std::size_t>(n));
    copy_bytes<cpu, Device>(host.data(), data, sizeof(T) * host.size());
    c.broadcast(host.data(), n, root);
    copy_bytes<Device, cpu>(data, host.data(), sizeof(T) * host.size());
  }
}

}  // namespace detail

template <class T, class Device>
void Model<T, Device>::agree_with_ranks(const ModelFitOptions<T>& o, std::int64_t n_train, std::int64_t train_fingerprint,
                                        const data::NamedDataset<T>* val) {
  Communicator& c = *m_comm;
  // what every rank must have the same of: rank 0's values are broadcast and compared on each rank
  static constexpr const char* what[] = {
      "number of trainable parameters", "parameter buffer size", "number of state values", "training events",
      "validation events", "batch_size", "epochs", "initial_epoch", "shuffle", "optimizer steps taken",
      "model seed", "training data (fingerprint of the values)", "validation data (fingerprint of the values)",
      "bucket_bytes", "number of gradient buckets"};
  constexpr std::size_t nw = sizeof(what) / sizeof(what[0]);
  const std::int64_t mine[nw] = {trainable_size(), m_core->params.size(), m_core->state.size(), n_train,
                                 val ? val->size() : 0, o.batch_size, o.epochs, o.initial_epoch, o.shuffle ? 1 : 0,
                                 m_optimizer.iterations(), std::int64_t(m_core->seed >> 1),
                                 train_fingerprint, detail::fingerprint(val), o.bucket_bytes,
                                 std::int64_t(m_buckets.size())};
  std::int64_t root[nw];
  std::copy(mine, mine + nw, root);
  c.broadcast(root, nw, 0);
  std::int64_t bad = std::equal(mine, mine + nw, root) ? 0 : c.rank() + 1;
  c.allreduce_max(&bad, 1);  // the highest rank that differs from rank 0, + 1: every rank learns it
  if (bad > 0) {
    std::int64_t theirs[nw];
    std::copy(mine, mine + nw, theirs);
    c.broadcast(theirs, nw, int(bad - 1));
    std::size_t i = 0;
    while (i + 1 < nw && theirs[i] == root[i]) ++i;
    throw Error(detail::concat("fit (data-parallel, ", c.size(), " ranks): rank ", bad - 1, " has ", what[i], " ",
                               theirs[i], ", rank 0 has ", root[i],
                               "; every rank must call fit with the same model, data and options"));
  }
  // every rank starts from rank 0's weights and moving statistics
  detail::broadcast<T, Device>(c, m_core->params.data(), m_core->params.size(), 0);
  detail::broadcast<T, Device>(c, m_core->state.data(), m_core->state.size(), 0);
}

template <class T, class Device>
void Model<T, Device>::reduce_gradients() {
  // contiguous trainable segments (the layers of one model) go in one message
  std::size_t i = 0;
  while (i < m_segments.size()) {
    std::size_t j = i + 1;
    std::int64_t n = m_segments[i].size;
    while (j < m_segments.size() && m_segments[j].grads == m_segments[i].grads + n) n += m_segments[j++].size;
    detail::allreduce_sum<T, Device>(*m_comm, m_segments[i].grads, n);
    i = j;
  }
}

/// Which gradients are final after which call of the backward pass, grouped in buckets of at
/// least bucket_bytes (CPU models; elsewhere, and with 0 bytes, no plan: one sum after backward).
/// A layer's gradients are final after its first call (the backward pass runs from the last call
/// to the first, and a shared layer adds to its gradients at each call); a model used as a layer
/// brings its own trainable runs. What the layers do not cover of the trainable segments (the
/// alignment gaps) is summed after the last call, so that every element is summed exactly once.
template <class T, class Device>
void Model<T, Device>::plan_buckets(std::int64_t bucket_bytes) {
  m_buckets.clear();
  if (!std::is_same_v<Device, cpu> || bucket_bytes == 0) return;
  struct Piece {
    T* g;
    std::int64_t n;
    std::size_t after;
  };
  std::vector<Piece> units;
  const Core& core = *m_core;
  for (std::size_t i = 0; i < core.layers.size(); ++i) {
    const auto& calls = core.topo.layers[i].calls;
    if (calls.empty()) continue;
    const std::size_t first = *std::min_element(calls.begin(), calls.end());
    if (core.owned[i]) {
      const std::int64_t n = core.layers[i]->num_params();
      if (n > 0) units.push_back({const_cast<T*>(core.grads.data()) + core.param_offset[i], n, first});
    } else {
      for (const graph::ParamSegment<T>& s : core.submodel_segments(i)) units.push_back({s.grads, s.size, first});
    }
  }
  // the parts of the trainable segments: a place covered twice is final after the earlier call
  std::vector<Piece> pieces;
  for (const auto& seg : m_segments) {
    std::vector<Piece> in;
    for (const Piece& u : units) {
      T* lo = std::max(u.g, seg.grads);
      T* hi = std::min(u.g + u.n, seg.grads + seg.size);
      if (lo < hi) in.push_back({lo, hi - lo, u.after});
    }
    std::sort(in.begin(), in.end(), [](const Piece& a, const Piece& b) { return a.g < b.g; });
    T* at = seg.grads;
    for (const Piece& p : in) {
      if (p.g > at) pieces.push_back({at, p.g - at, 0});  // not a layer's: summed at the end
      if (!pieces.empty() && p.g < pieces.back().g + pieces.back().n && p.g >= pieces.back().g) {
        Piece& q = pieces.back();  // overlaps the previous piece: one piece, final at the later time
        q.n = std::max(q.g + q.n, p.g + p.n) - q.g;
        q.after = std::min(q.after, p.after);
      } else {
        pieces.push_back(p);
      }
      at = std::max(at, p.g + p.n);
    }
    if (at < seg.grads + seg.size) pieces.push_back({at, seg.grads + seg.size - at, 0});
  }
  // started in the order they become final; neighbours in memory share a message until it holds
  // bucket_bytes
  std::stable_sort(pieces.begin(), pieces.end(), [](const Piece& a, const Piece& b) {
    return a.after != b.after ? a.after > b.after : a.g > b.g;
  });
  for (const Piece& p : pieces) {
    if (!m_buckets.empty()) {
      GradBucket& b = m_buckets.back();
      const bool next_to = p.g + p.n == b.grads || b.grads + b.n == p.g;
      if (next_to && std::int64_t(sizeof(T)) * b.n < bucket_bytes) {
        b.grads = std::min(b.grads, p.g);
        b.n += p.n;
        b.after = std::min(b.after, p.after);
        continue;
      }
    }
    m_buckets.push_back({p.g, p.n, p.after});
  }
}

template <class T, class Device>
void Model<T, Device>::backward_and_reduce(T* arena, std::int64_t B, const T* const* in, const Pass& pass,
                                           bool without_events) {
  if (m_buckets.empty()) {  // one sum after the pass
    if (without_events) {
      m_core->take_part_without_events(true, pass);
    } else {
      m_core->backward(arena, B, in, pass, nullptr, false);
    }
    reduce_gradients();
    return;
  }
  Communicator& c = *m_comm;
  std::size_t next = 0;
  const std::function<void(std::size_t)> after_call = [&](std::size_t call) {
    for (; next < m_buckets.size() && m_buckets[next].after >= call; ++next)
      c.start_allreduce_sum(m_buckets[next].grads, m_buckets[next].n);
    c.progress();
  };
  if (without_events) {  // the same collectives in the same order as the ranks with events
    m_core->take_part_without_events(true, pass, &after_call);
  } else {
    m_core->backward(arena, B, in, pass, nullptr, false, &after_call);
  }
  after_call(0);
  c.wait_all();
}

template <class T, class Device>
void Model<T, Device>::average_state() {
  const std::int64_t n = m_core->state.size();
  if (n == 0) return;
  detail::allreduce_sum<T, Device>(*m_comm, m_core->state.data(), n);
  ops::scale<Device>(n, T(1.0 / m_comm->size()), m_core->state.data());
}

template <class T, class Device>
void Model<T, Device>::step_without_events(double* sums) {
  for (const auto& s : m_segments) {
    const std::vector<T> zeros(static_cast<std::size_t>(s.size), T(0));
    detail::copy_bytes<Device, cpu>(s.grads, zeros.data(), sizeof(T) * zeros.size());
  }
  std::fill(sums, sums + num_outputs(), 0.0);
  // the collectives of the passes (synchronized BatchNormalization), with nothing to add
  Pass pass{true, m_core->seed, std::uint64_t(m_optimizer.iterations()), 0};
  pass.comm = m_comm;
  m_core->take_part_without_events(false, pass);
  backward_and_reduce(nullptr, 0, nullptr, pass, true);
  average_state();
  std::vector<typename Optimizer<T, Device>::Segment> segs;
  for (const auto& s : m_segments) segs.push_back({s.params, s.grads, s.size});
  m_optimizer.step(segs.data(), segs.size());
}

}  // namespace hepnn
