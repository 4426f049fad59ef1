/// @file backend/cuda/api.hpp
/// @brief Plain C++ declarations of the CUDA backend (no CUDA headers here).
///
/// The definitions live in `.cuh` files compiled by nvcc into the one translation unit of the
/// `hepnn::cuda` target (the CUDA backend issue). A CPU-only program never calls these, so it
/// links without them; a program that instantiates `Tensor<T, cuda>` must link `hepnn::cuda`.
#pragma once
#include <cstddef>
#include <string>

namespace hepnn::backend::cuda {

// ---- device, memory and copies ----
/// Number of usable CUDA devices; 0 (never an exception) when there is no GPU or no driver.
int device_count() noexcept;
/// True when device_count() > 0.
inline bool available() noexcept { return device_count() > 0; }
/// Name and compute capability of the device hepnn uses, e.g. "NVIDIA H100 80GB HBM3 (sm_90)".
std::string device_name();
/// Waits until all work hepnn queued on its streams has finished.
void synchronize();
/// Matrix products of float tensors on TF32 tensor cores (10-bit mantissa inputs, FP32
/// accumulation): off by default; process-wide. Double products are never affected.
void set_tf32(bool on) noexcept;
bool tf32() noexcept;

/// Device memory from hepnn's caching allocator: freed blocks are kept and reused, so a training
/// or inference loop that repeats the same shapes calls cudaMalloc only in its first iteration.
void* allocate(std::size_t bytes);
void deallocate(void* ptr, std::size_t bytes) noexcept;
struct MemoryStats {
  std::size_t device_mallocs = 0;     // cudaMalloc calls so far
  std::size_t bytes_in_use = 0;       // handed out and not yet returned
  std::size_t bytes_cached = 0;       // returned, kept for reuse
  std::size_t peak_bytes_in_use = 0;
};
MemoryStats memory_stats();
/// Gives every cached (unused) block back to the driver.
void empty_cache();

/// Page-locked host memory, for staging buffers that copies can overlap with compute.
void* allocate_pinned(std::size_t bytes);
void deallocate_pinned(void* ptr) noexcept;

/// Copies are ordered on hepnn's stream. host -> device returns once `src` may be reused;
/// device -> host returns once `dst` holds the data.
void copy_host_to_device(void* dst, const void* src, std::size_t bytes);
void copy_device_to_host(void* dst, const void* src, std::size_t bytes);
void copy_device_to_device(void* dst, const void* src, std::size_t bytes);
/// hepnn's two streams: every kernel, product and plain copy runs on `compute`; training
/// batches are copied on `copy`, so that the copy of the next batch overlaps the current one's
/// compute. Events order the two.
enum class Queue { compute, copy };

/// host (pinned, from allocate_pinned) -> device without waiting: src must stay untouched until
/// an event recorded on the same queue after this call has completed.
void copy_host_to_device_async(void* dst, const void* src, std::size_t bytes, Queue q = Queue::compute);

/// Events on hepnn's streams: for ordering the copy and compute streams, staging-buffer reuse
/// and timing (benchmarks).
class Event {
 public:
  Event();
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  /// Marks the current end of the queue's work.
  void record(Queue q = Queue::compute);
  /// Blocks the calling thread until the recorded work has finished (immediately when never recorded).
  void synchronize();
  /// Makes work queued later on `q` wait for the recorded work, without blocking the host
  /// (nothing to wait for when never recorded).
  void wait_on(Queue q);
  /// Milliseconds between two recorded events (both must have completed).
  static float elapsed_ms(const Event& start, const Event& stop);

 private:
  void* m_event = nullptr;
  bool m_recorded = false;
};

}  // namespace hepnn::backend::cuda

#include <cstdint>

#include "hepnn/ops/activation_kind.hpp"
#include "hepnn/ops/conv_geometry.hpp"
#include "hepnn/ops/permute_geometry.hpp"
#include "hepnn/ops/loss_kind.hpp"
#include "hepnn/ops/sequence_kind.hpp"

namespace hepnn::backend::cuda {
// The same operations as backend/cpu, with the same names and signatures; pointers are device
// pointers. Declared here so that ops/ can dispatch; defined by the CUDA backend.
template <class T>
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A,
          const T* B, T beta, T* C);
template <class T> void bias_add_forward(std::int64_t rows, std::int64_t cols, const T* b, T* y);
template <class T> void bias_add_backward(std::int64_t rows, std::int64_t cols, const T* dy, T* db);
template <class T> void activation_forward(Activation a, T alpha, std::int64_t n, const T* x, T* y);
template <class T>
void activation_backward(Activation a, T alpha, std::int64_t n, const T* x, const T* y, const T* dy, T* dx);
template <class T>
void bias_activation_forward(Activation a, T alpha, std::int64_t rows, std::int64_t cols, const T* b, T* z, T* y);
template <class T> void softmax_forward(std::int64_t rows, std::int64_t cols, const T* x, T* y, bool log);
template <class T>
void softmax_backward(std::int64_t rows, std::int64_t cols, const T* y, const T* dy, T* dx, bool log);
template <class T>
void dropout_forward(std::int64_t n, T rate, std::uint64_t seed, std::uint64_t stream, const T* x, T* y,
                     std::uint64_t first);
template <class T>
void dropout_backward(std::int64_t n, T rate, std::uint64_t seed, std::uint64_t stream, const T* dy, T* dx,
                      std::uint64_t first);
template <class T>
void gaussian_sample(std::int64_t n, std::uint64_t seed, std::uint64_t stream, const T* mean, const T* log_var, T* z,
                     std::uint64_t first);
template <class T> double sum(std::int64_t n, const T* x, bool squares);
template <class T> void scale(std::int64_t n, T s, T* x);
template <class T> bool all_finite(std::int64_t n, const T* x);
template <class T> void axpby(std::int64_t n, T a, const T* x, T b, T* y);
template <class T> void multiply(std::int64_t n, const T* x, const T* y, T beta, T* z);
template <class T>
void copy_2d(std::int64_t rows, std::int64_t cols, const T* src, std::int64_t src_stride, T* dst, std::int64_t dst_stride);
template <class T> void permute(const PermuteGeometry& g, std::int64_t batch, const T* x, T* y);
// Recurrent layers (ops/recurrent.hpp).
template <class T>
void lstm_cell_forward(std::int64_t B, std::int64_t H, T* z, const T* c_prev, const T* h_prev, const T* mask,
                       std::int64_t mask_stride, T* c, T* h);
template <class T>
void lstm_cell_backward(std::int64_t B, std::int64_t H, T* gates, const T* c, const T* c_prev, const T* mask,
                        std::int64_t mask_stride, const T* dh, const T* dy, std::int64_t dy_stride, T* dc,
                        T* dh_carry);
template <class T>
void gru_cell_forward(std::int64_t B, std::int64_t H, T* xw, const T* hu, const T* h_prev, const T* mask,
                      std::int64_t mask_stride, T* h);
template <class T>
void gru_cell_backward(std::int64_t B, std::int64_t H, T* gates, T* hu, const T* h_prev, const T* mask,
                       std::int64_t mask_stride, const T* dh, const T* dy, std::int64_t dy_stride, T* dh_carry);
// Attention (ops/attention.hpp).
template <class T>
void attention_forward(std::int64_t B, std::int64_t heads, std::int64_t L, std::int64_t dk, std::int64_t dv,
                       const T* q, const T* k, const T* v, const T* mask, T scale, T* p, T* o);
template <class T>
void attention_backward(std::int64_t B, std::int64_t heads, std::int64_t L, std::int64_t dk, std::int64_t dv,
                        const T* q, const T* k, const T* v, const T* p, const T* dout, T scale, T* ds, T* dq,
                        T* dkey, T* dval);
// Padded sequences (ops/sequence.hpp).
template <class T> void zero_fill(std::int64_t n, T* y);
template <class T> void mask_from_value(std::int64_t rows, std::int64_t F, T value, const T* x, T* mask);
template <class T> std::int64_t mask_from_lengths(std::int64_t B, std::int64_t L, const T* lengths, T* mask);
template <class T> void apply_mask(std::int64_t rows, std::int64_t F, const T* x, const T* mask, T* y);
template <class T>
void sequence_pool_forward(SequencePool kind, std::int64_t B, std::int64_t L, std::int64_t F, const T* x,
                           const T* mask, T* y);
template <class T>
void sequence_pool_backward(SequencePool kind, std::int64_t B, std::int64_t L, std::int64_t F, const T* x,
                            const T* mask, const T* y, const T* dy, T* dx);
template <class T>
void layer_norm_forward(std::int64_t rows, std::int64_t F, T eps, const T* x, const T* gamma, const T* beta, T* y,
                        T* stats);
template <class T>
void layer_norm_backward(std::int64_t rows, std::int64_t F, const T* x, const T* gamma, const T* stats, const T* dy,
                         T* dx, T* dgamma, T* dbeta);
template <class T>
double loss_forward_backward(const LossParams& p, std::int64_t B, std::int64_t C, std::int64_t target_cols,
                             const T* pred, const T* target, const T* w, double norm, T* dpred);
template <class T>
void sgd_update(std::int64_t n, T* p, const T* g, T* v, T lr, T momentum, bool nesterov, T weight_decay);
template <class T>
void adam_update(std::int64_t n, T* p, const T* g, T* m, T* v, T lr, T beta1, T beta2, T eps, std::int64_t step,
                 T weight_decay, bool decoupled);
template <class T> void rmsprop_update(std::int64_t n, T* p, const T* g, T* s, T lr, T rho, T eps, T weight_decay);
template <class T> void adagrad_update(std::int64_t n, T* p, const T* g, T* a, T lr, T eps, T weight_decay);
// Convolution, pooling and batch normalisation (ops/conv.hpp, ops/pooling.hpp, ops/batchnorm.hpp).
template <class T> void im2col(const Conv2DGeometry& g, std::int64_t S, const T* x, T* col);
template <class T> void col2im(const Conv2DGeometry& g, std::int64_t S, const T* col, T* dx);
std::int64_t conv2d_scratch_size(const Conv2DGeometry& g, std::int64_t batch);
template <class T>
void conv2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, const T* w, const T* b, T* y, T* scratch);
template <class T>
void conv2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db,
                     T* scratch);
template <class T> void maxpool2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, T* y, T* argmax);
template <class T> void maxpool2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* dy, const T* argmax, T* dx);
template <class T> void avgpool2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, T* y);
template <class T> void avgpool2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* dy, T* dx);
template <class T>
void batchnorm_forward_training(std::int64_t B, std::int64_t C, std::int64_t inner, const T* x, const T* gamma,
                                const T* beta, T eps, T* y, T* xhat, T* mean, T* var);
template <class T>
void batchnorm_forward_inference(std::int64_t B, std::int64_t C, std::int64_t inner, const T* x, const T* gamma,
                                 const T* beta, const T* mean, const T* var, T eps, T* y, T* xhat);
template <class T>
void batchnorm_backward(std::int64_t B, std::int64_t C, std::int64_t inner, const T* dy, const T* xhat, const T* gamma,
                        const T* var, T eps, bool training, T* dx, T* dgamma, T* dbeta);
template <class T>
void batchnorm_update_moving(std::int64_t C, const T* mean, const T* var, T momentum, T* moving_mean, T* moving_var);
}  // namespace hepnn::backend::cuda
