/// @file backend/cuda/batchnorm.cuh
/// @brief Batch normalisation on the GPU: one block per channel, sums in double over a fixed
/// tree (the same result on every run), the formulas of backend/cpu/batchnorm.hpp. nvcc only.
#pragma once
#include <cstdint>

#include "hepnn/backend/cuda/element.hpp"
#include "hepnn/backend/cuda/elementwise.cuh"

namespace hepnn::backend::cuda {

namespace kernels {

inline constexpr int bn_threads = 256;

/// Sum over the block of one double per thread (all threads must call it); result in every thread.
__device__ inline double block_sum(double v, double* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = bn_threads / 2; s > 0; s /= 2) {
    if (int(threadIdx.x) < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  const double r = sh[0];
  __syncthreads();
  return r;
}

template <class T>
__global__ void bn_forward_training(std::int64_t B, std::int64_t C, std::int64_t inner, const T* __restrict__ x,
                                    const T* __restrict__ gamma, const T* __restrict__ beta, T eps, T* __restrict__ y,
                                    T* __restrict__ xhat, T* __restrict__ mean, T* __restrict__ var) {
  __shared__ double sh[bn_threads];
  const std::int64_t c = blockIdx.x, n = B * inner;
  double s = 0;
  for (std::int64_t e = threadIdx.x; e < n; e += bn_threads) s += double(x[((e / inner) * C + c) * inner + e % inner]);
  const double m = block_sum(s, sh) / double(n);
  double ss = 0;
  for (std::int64_t e = threadIdx.x; e < n; e += bn_threads) {
    const double d = double(x[((e / inner) * C + c) * inner + e % inner]) - m;
    ss += d * d;
  }
  const double v = block_sum(ss, sh) / double(n);
  if (threadIdx.x == 0) {
    mean[c] = T(m);
    var[c] = T(v);
  }
  const double inv = 1.0 / sqrt(v + double(eps));
  const T ga = gamma ? gamma[c] : T(1), be = beta ? beta[c] : T(0);
  for (std::int64_t e = threadIdx.x; e < n; e += bn_threads) {
    const std::int64_t o = ((e / inner) * C + c) * inner + e % inner;
    const T h = T((double(x[o]) - m) * inv);
    if (xhat) xhat[o] = h;
    y[o] = ga * h + be;
  }
}

template <class T>
__global__ void bn_forward_inference(std::int64_t B, std::int64_t C, std::int64_t inner, const T* __restrict__ x,
                                     const T* __restrict__ gamma, const T* __restrict__ beta,
                                     const T* __restrict__ mean, const T* __restrict__ var, T eps, T* __restrict__ y,
                                     T* __restrict__ xhat) {
  HEPNN_GRID_STRIDE(o, B * C * inner)
  y[o] = element::batchnorm_inference_at(C, inner, x, gamma, beta, mean, var, eps, xhat, o);
}

template <class T>
__global__ void bn_backward(std::int64_t B, std::int64_t C, std::int64_t inner, const T* __restrict__ dy,
                            const T* __restrict__ xhat, const T* __restrict__ gamma, const T* __restrict__ var, T eps,
                            bool training, T* __restrict__ dx, T* __restrict__ dgamma, T* __restrict__ dbeta) {
  __shared__ double sh[bn_threads];
  const std::int64_t c = blockIdx.x, n = B * inner;
  double sd = 0, sdh = 0;
  for (std::int64_t e = threadIdx.x; e < n; e += bn_threads) {
    const std::int64_t o = ((e / inner) * C + c) * inner + e % inner;
    sd += double(dy[o]);
    sdh += double(dy[o]) * double(xhat[o]);
  }
  sd = block_sum(sd, sh);
  sdh = block_sum(sdh, sh);
  if (threadIdx.x == 0) {
    if (dgamma) dgamma[c] = T(sdh);
    if (dbeta) dbeta[c] = T(sd);
  }
  if (!dx) return;
  const double scale = double(gamma ? gamma[c] : T(1)) / sqrt(double(var[c]) + double(eps));
  const double md = training ? sd / double(n) : 0.0, mdh = training ? sdh / double(n) : 0.0;
  for (std::int64_t e = threadIdx.x; e < n; e += bn_threads) {
    const std::int64_t o = ((e / inner) * C + c) * inner + e % inner;
    dx[o] = T(scale * (double(dy[o]) - md - double(xhat[o]) * mdh));
  }
}

template <class T>
__global__ void bn_update_moving(std::int64_t C, const T* __restrict__ mean, const T* __restrict__ var, T momentum,
                                 T* __restrict__ moving_mean, T* __restrict__ moving_var) {
  HEPNN_GRID_STRIDE(c, C) {
    moving_mean[c] = momentum * moving_mean[c] + (T(1) - momentum) * mean[c];
    moving_var[c] = momentum * moving_var[c] + (T(1) - momentum) * var[c];
  }
}

}  // namespace kernels

template <class T>
void batchnorm_forward_training(std::int64_t B, std::int64_t C, std::int64_t inner, const T* x, const T* gamma,
                                const T* beta, T eps, T* y, T* xhat, T* mean, T* var) {
  if (C == 0) return;
  HEPNN_CHECK(C <= 0x7fffffff, "cuda::batchnorm: too many channels (", C, ")");
  detail::launch("bn_forward_training", unsigned(C), kernels::bn_threads, kernels::bn_forward_training<T>, B, C, inner,
                 x, gamma, beta, eps, y, xhat, mean, var);
}

template <class T>
void batchnorm_forward_inference(std::int64_t B, std::int64_t C, std::int64_t inner, const T* x, const T* gamma,
                                 const T* beta, const T* mean, const T* var, T eps, T* y, T* xhat) {
  const std::int64_t n = B * C * inner;
  if (n == 0) return;
  detail::launch("bn_forward_inference", detail::blocks_for(n, 4), detail::threads_per_block,
                 kernels::bn_forward_inference<T>, B, C, inner, x, gamma, beta, mean, var, eps, y, xhat);
}

template <class T>
void batchnorm_backward(std::int64_t B, std::int64_t C, std::int64_t inner, const T* dy, const T* xhat, const T* gamma,
                        const T* var, T eps, bool training, T* dx, T* dgamma, T* dbeta) {
  if (C == 0) return;
  detail::launch("bn_backward", unsigned(C), kernels::bn_threads, kernels::bn_backward<T>, B, C, inner, dy, xhat, gamma,
                 var, eps, training, dx, dgamma, dbeta);
}

template <class T>
void batchnorm_update_moving(std::int64_t C, const T* mean, const T* var, T momentum, T* moving_mean, T* moving_var) {
  if (C == 0) return;
  detail::launch("bn_update_moving", detail::blocks_for(C), detail::threads_per_block, kernels::bn_update_moving<T>, C,
                 mean, var, momentum, moving_mean, moving_var);
}

}  // namespace hepnn::backend::cuda
