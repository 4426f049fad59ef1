/// @file backend/cuda/elementwise.cuh
/// @brief Bias, activations, softmax, dropout and reductions on the GPU (the CPU versions in
/// backend/cpu/elementwise.hpp are the reference). nvcc only.
#pragma once
#include <cmath>
#include <cstdint>

#include "hepnn/backend/cuda/element.hpp"
#include "hepnn/backend/cuda/runtime.cuh"
#include "hepnn/core/philox.hpp"
#include "hepnn/ops/activation_kind.hpp"

namespace hepnn::backend::cuda {

namespace kernels {

#define HEPNN_GRID_STRIDE(i, n)                                                       \
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += std::int64_t(gridDim.x) * blockDim.x)

template <class T>
__global__ void bias_add_forward(std::int64_t rows, std::int64_t cols, const T* __restrict__ b, T* __restrict__ y) {
  HEPNN_GRID_STRIDE(i, rows * cols) y[i] += b[i % cols];
}

/// Column sums, deterministic: block (32, 8) owns 32 columns; thread row ty adds rows ty, ty + 8,
/// ...; the 8 partial sums are then added in a fixed order.
template <class T>
__global__ void column_sums(std::int64_t rows, std::int64_t cols, const T* __restrict__ dy, T* __restrict__ db,
                            bool accumulate) {
  __shared__ T part[8][33];
  const std::int64_t c = std::int64_t(blockIdx.x) * 32 + threadIdx.x;
  T acc = T(0);
  if (c < cols)
    for (std::int64_t r = threadIdx.y; r < rows; r += 8) acc += dy[r * cols + c];
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    T s = part[0][threadIdx.x];
    for (int k = 1; k < 8; ++k) s += part[k][threadIdx.x];
    db[c] = accumulate ? db[c] + s : s;
  }
}

/// Row sums of a (rows, cols) matrix, one warp per row, fixed shuffle order.
template <class T>
__global__ void row_sums(std::int64_t rows, std::int64_t cols, const T* __restrict__ x, T* __restrict__ out,
                         bool accumulate) {
  const std::int64_t r = std::int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= rows) return;
  T acc = T(0);
  for (std::int64_t c = lane; c < cols; c += 32) acc += x[r * cols + c];
  for (int o = 16; o > 0; o /= 2) acc += __shfl_down_sync(0xffffffffu, acc, o);
  if (lane == 0) out[r] = accumulate ? out[r] + acc : acc;
}

template <class T>
__global__ void activation_forward(Activation a, T alpha, std::int64_t n, const T* x, T* y) {
  HEPNN_GRID_STRIDE(i, n) y[i] = act::forward(a, alpha, x[i]);
}

template <class T>
__global__ void activation_backward(Activation a, T alpha, std::int64_t n, const T* x, const T* y, const T* dy, T* dx) {
  HEPNN_GRID_STRIDE(i, n) dx[i] = dy[i] * act::derivative(a, alpha, x[i], y[i]);
}

/// The common activations specialised at compile time (no switch per element).
template <class T, Activation A>
__global__ void bias_activation_fixed(T alpha, std::int64_t rows, std::int64_t cols, const T* __restrict__ b, T* z,
                                      T* y) {
  HEPNN_GRID_STRIDE(i, rows * cols) {
    const T v = z[i] + b[i % cols];
    z[i] = v;
    y[i] = act::forward(A, alpha, v);
  }
}
template <class T>
__global__ void bias_activation(Activation a, T alpha, std::int64_t rows, std::int64_t cols, const T* __restrict__ b,
                                T* z, T* y) {
  HEPNN_GRID_STRIDE(i, rows * cols) {
    const T v = z[i] + b[i % cols];
    z[i] = v;
    y[i] = act::forward(a, alpha, v);
  }
}

template <class T>
__device__ T warp_max(T v) {
  for (int o = 16; o > 0; o /= 2) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
template <class T>
__device__ T warp_sum(T v) {
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/// One warp per row.
template <class T>
__global__ void softmax_forward(std::int64_t rows, std::int64_t cols, const T* x, T* y, bool log) {
  const std::int64_t r = std::int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= rows) return;
  const T* xr = x + r * cols;
  T* yr = y + r * cols;
  T mx = -INFINITY;
  for (std::int64_t c = lane; c < cols; c += 32) mx = fmax(mx, xr[c]);
  mx = warp_max(mx);
  T s = T(0);
  for (std::int64_t c = lane; c < cols; c += 32) s += exp(xr[c] - mx);
  s = warp_sum(s);
  if (log) {
    const T ls = ::log(s);  // (x - max) - log(sum), as on the CPU: exact for large x
    for (std::int64_t c = lane; c < cols; c += 32) yr[c] = (xr[c] - mx) - ls;
  } else {
    const T inv = T(1) / s;
    for (std::int64_t c = lane; c < cols; c += 32) yr[c] = exp(xr[c] - mx) * inv;
  }
}

template <class T>
__global__ void softmax_backward(std::int64_t rows, std::int64_t cols, const T* y, const T* dy, T* dx, bool log) {
  const std::int64_t r = std::int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= rows) return;
  const T* yr = y + r * cols;
  const T* dyr = dy + r * cols;
  T* dxr = dx + r * cols;
  T s = T(0);
  for (std::int64_t c = lane; c < cols; c += 32) s += log ? dyr[c] : dyr[c] * yr[c];
  s = warp_sum(s);
  for (std::int64_t c = lane; c < cols; c += 32) dxr[c] = log ? dyr[c] - exp(yr[c]) * s : yr[c] * (dyr[c] - s);
}

/// One Philox block (four numbers) per thread: element i uses number i of (seed, stream),
/// exactly as the CPU does, so the masks are identical.
template <class T>
__global__ void dropout(std::int64_t n, std::uint32_t threshold, T scale, std::uint64_t seed, std::uint64_t stream,
                        const T* x, T* y, std::uint64_t first) {
  HEPNN_GRID_STRIDE(k, (std::int64_t(first % 4) + n + 3) / 4)
  element::dropout_block(n, threshold, scale, seed, stream, x, y, k, first);
}

/// z = mean + exp(log_var / 2) * eps with the CPU's eps (philox_normal of the element index).
template <class T>
__global__ void gaussian_sample(std::int64_t n, std::uint64_t seed, std::uint64_t stream, const T* __restrict__ mean,
                                const T* __restrict__ log_var, T* __restrict__ z, std::uint64_t first) {
  HEPNN_GRID_STRIDE(i, n)
  z[i] = mean[i] + exp(log_var[i] * T(0.5)) * T(philox_normal(seed, stream, first + std::uint64_t(i)));
}

/// Deterministic sums in double: a fixed grid for a given n, a fixed tree inside each block,
/// then one block adds the block results in order.
inline constexpr int reduce_threads = 256;
inline constexpr int reduce_max_blocks = 512;

template <class T>
__global__ void partial_sums(std::int64_t n, const T* __restrict__ x, bool squares, double* __restrict__ partial) {
  __shared__ double sh[reduce_threads];
  double acc = 0;
  HEPNN_GRID_STRIDE(i, n) {
    const double v = double(x[i]);
    acc += squares ? v * v : v;
  }
  sh[threadIdx.x] = acc;
  __syncthreads();
  for (int s = reduce_threads / 2; s > 0; s /= 2) {
    if (int(threadIdx.x) < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = sh[0];
}

__global__ void final_sum(int n, const double* __restrict__ partial, double* __restrict__ out) {
  __shared__ double sh[reduce_threads];
  double acc = 0;
  for (int i = threadIdx.x; i < n; i += reduce_threads) acc += partial[i];
  sh[threadIdx.x] = acc;
  __syncthreads();
  for (int s = reduce_threads / 2; s > 0; s /= 2) {
    if (int(threadIdx.x) < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = sh[0];
}

template <class T>
__global__ void scale(std::int64_t n, T s, T* x) {
  HEPNN_GRID_STRIDE(i, n) x[i] *= s;
}

template <class T>
__global__ void axpby(std::int64_t n, T a, const T* __restrict__ x, T b, T* __restrict__ y) {
  if (b == T(0)) {
    HEPNN_GRID_STRIDE(i, n) y[i] = a * x[i];
  } else {
    HEPNN_GRID_STRIDE(i, n) y[i] = a * x[i] + b * y[i];
  }
}

template <class T>
__global__ void multiply(std::int64_t n, const T* x, const T* y, T beta, T* z) {  // z may alias x or y
  if (beta == T(0)) {
    HEPNN_GRID_STRIDE(i, n) z[i] = x[i] * y[i];
  } else {
    HEPNN_GRID_STRIDE(i, n) z[i] = x[i] * y[i] + beta * z[i];
  }
}

template <class T>
__global__ void count_nonfinite(std::int64_t n, const T* __restrict__ x, double* __restrict__ flag) {
  HEPNN_GRID_STRIDE(i, n) {
    if (!isfinite(x[i])) *flag = 1.0;  // every writer writes the same value
  }
}

/// One thread per output value: decomposes its per-sample index into the output's axes and
/// gathers the input value at the matching offset.
template <class T>
__global__ void permute(PermuteGeometry g, std::int64_t n, const T* x, T* y) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x) {
    const std::int64_t b = i / g.size;
    std::int64_t r = i - b * g.size, off = 0;
    for (int k = g.rank - 1; k >= 0; --k) {
      const std::int64_t q = r / g.out[k];
      off += (r - q * g.out[k]) * g.stride[k];
      r = q;
    }
    y[i] = x[b * g.size + off];
  }
}

}  // namespace kernels

namespace detail {
/// Sums n device doubles-or-T with the deterministic two-pass reduction, into *out_device.
template <class T>
void reduce_sum(std::int64_t n, const T* x, bool squares, double* partial, double* out_device) {
  const int blocks = int(std::clamp<std::int64_t>((n + kernels::reduce_threads - 1) / kernels::reduce_threads, 1,
                                                  kernels::reduce_max_blocks));
  launch("partial_sums", blocks, kernels::reduce_threads, kernels::partial_sums<T>, n, x, squares, partial);
  launch("final_sum", 1, kernels::reduce_threads, kernels::final_sum, blocks, partial, out_device);
}
/// Copies one device double to the host and waits for it.
inline double read_scalar(const double* device_value) {
  HostScalar& h = HostScalar::get();
  const cudaStream_t s = stream();
  HEPNN_CUDA_CHECK(cudaMemcpyAsync(h.value, device_value, sizeof(double), cudaMemcpyDeviceToHost, s));
  HEPNN_CUDA_CHECK(cudaStreamSynchronize(s));
  return *h.value;
}
}  // namespace detail

template <class T>
void bias_add_forward(std::int64_t rows, std::int64_t cols, const T* b, T* y) {
  if (rows * cols == 0) return;
  detail::launch("bias_add_forward", detail::blocks_for(rows * cols), detail::threads_per_block,
                 kernels::bias_add_forward<T>, rows, cols, b, y);
}

template <class T>
void column_sums(std::int64_t rows, std::int64_t cols, const T* x, T* out, bool accumulate) {
  if (cols == 0) return;
  const dim3 block(32, 8);
  detail::launch("column_sums", unsigned((cols + 31) / 32), block, kernels::column_sums<T>, rows, cols, x, out,
                 accumulate);
}

template <class T>
void row_sums(std::int64_t rows, std::int64_t cols, const T* x, T* out, bool accumulate) {
  if (rows == 0) return;
  constexpr int warps = 8;
  detail::launch("row_sums", unsigned((rows + warps - 1) / warps), warps * 32, kernels::row_sums<T>, rows, cols, x, out,
                 accumulate);
}

template <class T>
void bias_add_backward(std::int64_t rows, std::int64_t cols, const T* dy, T* db) {
  column_sums(rows, cols, dy, db, false);
}

template <class T>
void activation_forward(Activation a, T alpha, std::int64_t n, const T* x, T* y) {
  if (n == 0 || (a == Activation::linear && x == y)) return;
  detail::launch("activation_forward", detail::blocks_for(n, 4), detail::threads_per_block,
                 kernels::activation_forward<T>, a, alpha, n, x, y);
}

template <class T>
void activation_backward(Activation a, T alpha, std::int64_t n, const T* x, const T* y, const T* dy, T* dx) {
  if (n == 0) return;
  detail::launch("activation_backward", detail::blocks_for(n, 4), detail::threads_per_block,
                 kernels::activation_backward<T>, a, alpha, n, x, y, dy, dx);
}

template <class T>
void bias_activation_forward(Activation a, T alpha, std::int64_t rows, std::int64_t cols, const T* b, T* z, T* y) {
  const std::int64_t n = rows * cols;
  if (n == 0) return;
  const unsigned g = detail::blocks_for(n, 4);
  const char* name = "bias_activation_forward";
  switch (a) {
    case Activation::linear:
      detail::launch(name, g, detail::threads_per_block, kernels::bias_activation_fixed<T, Activation::linear>, alpha,
                     rows, cols, b, z, y);
      break;
    case Activation::relu:
      detail::launch(name, g, detail::threads_per_block, kernels::bias_activation_fixed<T, Activation::relu>, alpha,
                     rows, cols, b, z, y);
      break;
    default:
      detail::launch(name, g, detail::threads_per_block, kernels::bias_activation<T>, a, alpha, rows, cols, b, z, y);
  }
}

template <class T>
void softmax_forward(std::int64_t rows, std::int64_t cols, const T* x, T* y, bool log) {
  if (rows * cols == 0) return;
  constexpr int warps = 8;
  detail::launch("softmax_forward", unsigned((rows + warps - 1) / warps), warps * 32, kernels::softmax_forward<T>, rows,
                 cols, x, y, log);
}

template <class T>
void softmax_backward(std::int64_t rows, std::int64_t cols, const T* y, const T* dy, T* dx, bool log) {
  if (rows * cols == 0) return;
  constexpr int warps = 8;
  detail::launch("softmax_backward", unsigned((rows + warps - 1) / warps), warps * 32, kernels::softmax_backward<T>,
                 rows, cols, y, dy, dx, log);
}

/// Inverted dropout on the GPU with the CPU's masks (element i: Philox number first + i).
template <class T>
void dropout_forward(std::int64_t n, T rate, std::uint64_t seed, std::uint64_t stream, const T* x, T* y,
                     std::uint64_t first) {
  if (n == 0) return;
  const T scale = T(1) / (T(1) - rate);
  // the CPU's integer form of "philox_uniform >= rate" (backend/cpu/elementwise.hpp)
  const std::uint32_t threshold = static_cast<std::uint32_t>(std::ceil(double(static_cast<float>(rate)) * 16777216.0));
  detail::launch("dropout", detail::blocks_for((std::int64_t(first % 4) + n + 3) / 4), detail::threads_per_block,
                 kernels::dropout<T>, n, threshold, scale, seed, stream, x, y, first);
}
/// The gradient of dropout_forward: the same mask drawn again and applied to dy.
template <class T>
void dropout_backward(std::int64_t n, T rate, std::uint64_t seed, std::uint64_t stream, const T* dy, T* dx,
                      std::uint64_t first) {
  dropout_forward(n, rate, seed, stream, dy, dx, first);
}

/// z = mean + exp(log_var / 2) * eps, with the CPU's eps.
template <class T>
void gaussian_sample(std::int64_t n, std::uint64_t seed, std::uint64_t stream, const T* mean, const T* log_var, T* z,
                     std::uint64_t first) {
  if (n == 0) return;
  detail::launch("gaussian_sample", detail::blocks_for(n), detail::threads_per_block, kernels::gaussian_sample<T>, n, seed,
                 stream, mean, log_var, z, first);
}

template <class T>
double sum(std::int64_t n, const T* x, bool squares) {
  if (n == 0) return 0.0;
  detail::DeviceScratch scratch(sizeof(double) * (kernels::reduce_max_blocks + 1));
  double* partial = scratch.as<double>();
  detail::reduce_sum(n, x, squares, partial, partial + kernels::reduce_max_blocks);
  return detail::read_scalar(partial + kernels::reduce_max_blocks);
}

template <class T>
void scale(std::int64_t n, T s, T* x) {
  if (n == 0) return;
  detail::launch("scale", detail::blocks_for(n, 4), detail::threads_per_block, kernels::scale<T>, n, s, x);
}

template <class T>
bool all_finite(std::int64_t n, const T* x) {
  if (n == 0) return true;
  detail::DeviceScratch flag(sizeof(double));
  const cudaStream_t s = detail::stream();
  HEPNN_CUDA_CHECK(cudaMemsetAsync(flag.as<double>(), 0, sizeof(double), s));
  detail::launch("count_nonfinite", detail::blocks_for(n, 4), detail::threads_per_block, kernels::count_nonfinite<T>, n,
                 x, flag.as<double>());
  return detail::read_scalar(flag.as<double>()) == 0.0;
}

template <class T>
void axpby(std::int64_t n, T a, const T* x, T b, T* y) {
  if (n == 0) return;
  detail::launch("axpby", detail::blocks_for(n, 4), detail::threads_per_block, kernels::axpby<T>, n, a, x, b, y);
}

template <class T>
void multiply(std::int64_t n, const T* x, const T* y, T beta, T* z) {
  if (n == 0) return;
  detail::launch("multiply", detail::blocks_for(n, 4), detail::threads_per_block, kernels::multiply<T>, n, x, y, beta,
                 z);
}

template <class T>
void copy_2d(std::int64_t rows, std::int64_t cols, const T* src, std::int64_t src_stride, T* dst,
             std::int64_t dst_stride) {
  if (rows == 0 || cols == 0) return;
  HEPNN_CUDA_CHECK(cudaMemcpy2DAsync(dst, std::size_t(dst_stride) * sizeof(T), src, std::size_t(src_stride) * sizeof(T),
                                     std::size_t(cols) * sizeof(T), std::size_t(rows), cudaMemcpyDeviceToDevice,
                                     detail::stream()));
}

/// y = x with each sample's axes reordered (ops::permute).
template <class T>
void permute(const PermuteGeometry& g, std::int64_t batch, const T* x, T* y) {
  const std::int64_t n = batch * g.size;
  if (n == 0) return;
  detail::launch("permute", detail::blocks_for(n, 1), detail::threads_per_block, kernels::permute<T>, g, n, x, y);
}

}  // namespace hepnn::backend::cuda
