/// @file train/staging.hpp
/// @brief Host staging buffers for the batches that training sends to the model's device.
///
/// On the CPU a batch is gathered into plain vectors and the layers read it in place. On a GPU
/// it is gathered into page-locked (pinned) memory and copied on hepnn's copy stream into device
/// memory, in two slots used in turn: while the GPU runs the backward pass and the optimizer
/// update of batch k, the host gathers batch k + 1 into the other slot and its copy runs beside
/// that compute. Events order everything: the compute stream waits for a slot's copies before
/// the forward pass reads them; the copy stream waits until the compute stream has finished the
/// step that read the slot before overwriting it; the host waits for a slot's previous copies
/// before it writes the slot's pinned memory again.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/core/device.hpp"
#include "hepnn/core/storage.hpp"

namespace hepnn::inline HEPNN_ABI::detail {

/// Pointers to one batch (in host staging memory, or its copy on the device): features x,
/// targets y, weights w, and the staging slot they belong to.
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
  BatchStaging() = default;
  BatchStaging(BatchStaging&&) noexcept = default;
  BatchStaging& operator=(BatchStaging&& o) noexcept {
    if (this != &o) {
      drain();
      for (int k = 0; k < 2; ++k) m_slots[k] = std::move(o.m_slots[k]);
      m_current = o.m_current;
    }
    return *this;
  }
  ~BatchStaging() { drain(); }

  /// A slot with room for the batch; waits until the slot's previous copies have finished
  /// reading its pinned memory.
  StagedBatch<T> next(std::int64_t nx, std::int64_t ny, std::int64_t nw) {
    m_current ^= 1;
    Slot& s = m_slots[m_current];
    if (s.copied) s.copied->synchronize();
    const std::size_t need = std::size_t(nx + ny + nw);
    if (need > s.capacity) {
      // the compute stream may still read the old device block: wait before giving it back
      if (s.consumed) s.consumed->synchronize();
      const std::size_t cap = need + need / 4;
      s.host.reset(static_cast<T*>(backend::cuda::allocate_pinned(sizeof(T) * cap)));
      s.device = Storage<T, cuda>(cap);
      s.capacity = cap;
    }
    T* base = s.host.get();
    return {base, base + nx, base + nx + ny, nx, ny, nw, m_current};
  }

  /// Queues the batch's copies on the copy stream (after the compute stream has finished with
  /// this slot's device memory) and makes the compute stream wait for them. Returns the device
  /// copy of the batch, valid for the work queued until release().
  StagedBatch<T> send(const StagedBatch<T>& b) {
    Slot& s = m_slots[b.slot];
    if (!s.copied) {
      s.copied = std::make_unique<backend::cuda::Event>();
      s.consumed = std::make_unique<backend::cuda::Event>();
    }
    s.consumed->wait_on(backend::cuda::Queue::copy);
    T* d = s.device.data();
    constexpr auto q = backend::cuda::Queue::copy;
    backend::cuda::copy_host_to_device_async(d, b.x, sizeof(T) * std::size_t(b.nx), q);
    backend::cuda::copy_host_to_device_async(d + b.nx, b.y, sizeof(T) * std::size_t(b.ny), q);
    backend::cuda::copy_host_to_device_async(d + b.nx + b.ny, b.w, sizeof(T) * std::size_t(b.nw), q);
    s.copied->record(q);
    s.copied->wait_on(backend::cuda::Queue::compute);
    return {d, d + b.nx, d + b.nx + b.ny, b.nx, b.ny, b.nw, b.slot};
  }

  /// Marks the end of the compute work that reads the slot's device copy (call after the step).
  void release(const StagedBatch<T>& b) {
    Slot& s = m_slots[b.slot];
    if (s.consumed) s.consumed->record(backend::cuda::Queue::compute);
  }

 private:
  struct PinnedDelete {
    void operator()(T* p) const noexcept { backend::cuda::deallocate_pinned(p); }
  };
  struct Slot {
    std::unique_ptr<T, PinnedDelete> host;
    Storage<T, cuda> device;
    std::size_t capacity = 0;
    std::unique_ptr<backend::cuda::Event> copied;    // recorded on the copy stream after the copies
    std::unique_ptr<backend::cuda::Event> consumed;  // recorded on the compute stream after the step
  };
  /// Before the memory goes: no copy may still read the pinned buffers or write the device ones,
  /// and no kernel may still read the device ones.
  void drain() noexcept {
    for (Slot& s : m_slots) {
      try {
        if (s.copied) s.copied->synchronize();
        if (s.consumed) s.consumed->synchronize();
      } catch (...) {  // a failing device at teardown: nothing better to do than to free
      }
    }
  }
  Slot m_slots[2];
  int m_current = 1;
};

}  // namespace hepnn::detail
