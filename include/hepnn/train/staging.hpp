/// @file train/staging.hpp
/// @brief Host staging buffers for the batches that training sends to the model's device.
///
/// On the CPU a batch is gathered into plain vectors and the layers read it in place. On a GPU
/// it is gathered into page-locked (pinned) memory and copied with asynchronous copies on
/// hepnn's stream, in two slots used in turn: while the GPU runs the backward pass and the
/// optimizer update of batch k, the host already gathers batch k + 1 into the other slot. An
/// event recorded after a slot's copies guards it: the host waits for that event before it
/// writes the slot again, so a copy never reads a half-written batch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"

namespace hepnn::detail {

/// Pointers to one batch on the host: features x, targets y, weights w.
template <class T>
struct StagedBatch {
  T* x = nullptr;
  T* y = nullptr;
  T* w = nullptr;
  std::int64_t nx = 0, ny = 0, nw = 0;
  int slot = 0;
};

template <class T, class Device>
class BatchStaging;

template <class T>
class BatchStaging<T, cpu> {
 public:
  StagedBatch<T> next(std::int64_t nx, std::int64_t ny, std::int64_t nw) {
    m_x.resize(std::size_t(nx));
    m_y.resize(std::size_t(ny));
    m_w.resize(std::size_t(nw));
    return {m_x.data(), m_y.data(), m_w.data(), nx, ny, nw, 0};
  }

 private:
  std::vector<T> m_x, m_y, m_w;
};

template <class T>
class BatchStaging<T, cuda> {
 public:
  /// A slot with room for the batch; waits until the slot's previous copies have finished.
  StagedBatch<T> next(std::int64_t nx, std::int64_t ny, std::int64_t nw) {
    m_current ^= 1;
    Slot& s = m_slots[m_current];
    if (s.done) s.done->synchronize();
    const std::size_t need = std::size_t(nx + ny + nw);
    if (need > s.capacity) {
      s.memory.reset(static_cast<T*>(backend::cuda::allocate_pinned(sizeof(T) * need * 5 / 4)));
      s.capacity = need * 5 / 4;
    }
    T* base = s.memory.get();
    return {base, base + nx, base + nx + ny, nx, ny, nw, m_current};
  }
  /// Queues the copies of a staged batch to device buffers and marks its slot busy until they finish.
  void send(const StagedBatch<T>& b, T* x, T* y, T* w) {
    backend::cuda::copy_host_to_device_async(x, b.x, sizeof(T) * std::size_t(b.nx));
    backend::cuda::copy_host_to_device_async(y, b.y, sizeof(T) * std::size_t(b.ny));
    backend::cuda::copy_host_to_device_async(w, b.w, sizeof(T) * std::size_t(b.nw));
    Slot& s = m_slots[b.slot];
    if (!s.done) s.done = std::make_unique<backend::cuda::Event>();
    s.done->record();
  }

 private:
  struct PinnedDelete {
    void operator()(T* p) const noexcept { backend::cuda::deallocate_pinned(p); }
  };
  struct Slot {
    std::unique_ptr<T, PinnedDelete> memory;
    std::size_t capacity = 0;
    std::unique_ptr<backend::cuda::Event> done;
  };
  Slot m_slots[2];
  int m_current = 1;
};

}  // namespace hepnn::detail
