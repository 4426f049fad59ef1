/// @file backend/cuda/all.cuh
/// @brief The whole CUDA backend: include this in exactly ONE .cu file of a program (or link
/// the `hepnn::cuda` CMake target, whose one source file does just that). It defines every
/// function that backend/cuda/api.hpp declares, for float and double; the rest of the program
/// is plain C++ compiled by any compiler.
#pragma once
#if !defined(__CUDACC__)
#error "hepnn/backend/cuda/all.cuh holds CUDA kernels: compile it with nvcc (one .cu file), or link hepnn::cuda"
#endif

#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/backend/cuda/attention.cuh"
#include "hepnn/backend/cuda/batchnorm.cuh"
#include "hepnn/backend/cuda/conv.cuh"
#include "hepnn/backend/cuda/elementwise.cuh"
#include "hepnn/backend/cuda/gemm.cuh"
#include "hepnn/backend/cuda/loss.cuh"
#include "hepnn/backend/cuda/optim.cuh"
#include "hepnn/backend/cuda/pooling.cuh"
#include "hepnn/backend/cuda/recurrent.cuh"
#include "hepnn/backend/cuda/runtime.cuh"
#include "hepnn/backend/cuda/sequence.cuh"

namespace hepnn::backend::cuda {

#define HEPNN_CUDA_INSTANTIATE(T)                                                                                     \
  template void gemm<T>(bool, bool, std::int64_t, std::int64_t, std::int64_t, T, const T*, const T*, T, T*);           \
  template void bias_add_forward<T>(std::int64_t, std::int64_t, const T*, T*);                                        \
  template void bias_add_backward<T>(std::int64_t, std::int64_t, const T*, T*);                                       \
  template void activation_forward<T>(Activation, T, std::int64_t, const T*, T*);                                     \
  template void activation_backward<T>(Activation, T, std::int64_t, const T*, const T*, const T*, T*);                \
  template void bias_activation_forward<T>(Activation, T, std::int64_t, std::int64_t, const T*, T*, T*);              \
  template void softmax_forward<T>(std::int64_t, std::int64_t, const T*, T*, bool);                                   \
  template void softmax_backward<T>(std::int64_t, std::int64_t, const T*, const T*, T*, bool);                        \
  template void dropout_forward<T>(std::int64_t, T, std::uint64_t, std::uint64_t, const T*, T*, std::uint64_t);       \
  template void dropout_backward<T>(std::int64_t, T, std::uint64_t, std::uint64_t, const T*, T*, std::uint64_t);      \
  template void gaussian_sample<T>(std::int64_t, std::uint64_t, std::uint64_t, const T*, const T*, T*, std::uint64_t); \
  template double sum<T>(std::int64_t, const T*, bool);                                                               \
  template void scale<T>(std::int64_t, T, T*);                                                                        \
  template bool all_finite<T>(std::int64_t, const T*);                                                                \
  template void axpby<T>(std::int64_t, T, const T*, T, T*);                                                           \
  template void multiply<T>(std::int64_t, const T*, const T*, T, T*);                                                 \
  template void copy_2d<T>(std::int64_t, std::int64_t, const T*, std::int64_t, T*, std::int64_t);                     \
  template void permute<T>(const PermuteGeometry&, std::int64_t, const T*, T*);                                       \
  template void lstm_cell_forward<T>(std::int64_t, std::int64_t, T*, const T*, const T*, const T*, std::int64_t, T*,  \
                                     T*);                                                                             \
  template void lstm_cell_backward<T>(std::int64_t, std::int64_t, T*, const T*, const T*, const T*, std::int64_t,     \
                                      const T*, const T*, std::int64_t, T*, T*);                                      \
  template void gru_cell_forward<T>(std::int64_t, std::int64_t, T*, const T*, const T*, const T*, std::int64_t, T*); \
  template void gru_cell_backward<T>(std::int64_t, std::int64_t, T*, T*, const T*, const T*, std::int64_t, const T*,  \
                                     const T*, std::int64_t, T*);                                                     \
  template void attention_forward<T>(std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, const T*, \
                                     const T*, const T*, const T*, T, T*, T*);                                        \
  template void attention_backward<T>(std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t,         \
                                      const T*, const T*, const T*, const T*, const T*, T, T*, T*, T*, T*);           \
  template void zero_fill<T>(std::int64_t, T*);                                                                        \
  template void mask_from_value<T>(std::int64_t, std::int64_t, T, const T*, T*);                                      \
  template std::int64_t mask_from_lengths<T>(std::int64_t, std::int64_t, const T*, T*);                               \
  template void apply_mask<T>(std::int64_t, std::int64_t, const T*, const T*, T*);                                    \
  template void sequence_pool_forward<T>(SequencePool, std::int64_t, std::int64_t, std::int64_t, const T*, const T*,  \
                                         T*);                                                                         \
  template void sequence_pool_backward<T>(SequencePool, std::int64_t, std::int64_t, std::int64_t, const T*,           \
                                          const T*, const T*, const T*, T*);                                          \
  template void layer_norm_forward<T>(std::int64_t, std::int64_t, T, const T*, const T*, const T*, T*, T*);           \
  template void layer_norm_backward<T>(std::int64_t, std::int64_t, const T*, const T*, const T*, const T*, T*, T*,    \
                                       T*);                                                                           \
  template double loss_forward_backward<T>(const LossParams&, std::int64_t, std::int64_t, std::int64_t, const T*,     \
                                           const T*, const T*, double, T*);                                           \
  template void sgd_update<T>(std::int64_t, T*, const T*, T*, T, T, bool, T);                                         \
  template void adam_update<T>(std::int64_t, T*, const T*, T*, T*, T, T, T, T, std::int64_t, T, bool);                \
  template void rmsprop_update<T>(std::int64_t, T*, const T*, T*, T, T, T, T);                                        \
  template void adagrad_update<T>(std::int64_t, T*, const T*, T*, T, T, T);                                           \
  template void im2col<T>(const Conv2DGeometry&, std::int64_t, const T*, T*);                                         \
  template void col2im<T>(const Conv2DGeometry&, std::int64_t, const T*, T*);                                         \
  template void conv2d_forward<T>(const Conv2DGeometry&, std::int64_t, const T*, const T*, const T*, T*, T*);         \
  template void conv2d_backward<T>(const Conv2DGeometry&, std::int64_t, const T*, const T*, const T*, T*, T*, T*, T*); \
  template void maxpool2d_forward<T>(const Conv2DGeometry&, std::int64_t, const T*, T*, T*);                          \
  template void maxpool2d_backward<T>(const Conv2DGeometry&, std::int64_t, const T*, const T*, T*);                   \
  template void avgpool2d_forward<T>(const Conv2DGeometry&, std::int64_t, const T*, T*);                              \
  template void avgpool2d_backward<T>(const Conv2DGeometry&, std::int64_t, const T*, T*);                             \
  template void batchnorm_forward_training<T>(std::int64_t, std::int64_t, std::int64_t, const T*, const T*, const T*, \
                                              T, T*, T*, T*, T*);                                                     \
  template void batchnorm_forward_inference<T>(std::int64_t, std::int64_t, std::int64_t, const T*, const T*,          \
                                               const T*, const T*, const T*, T, T*, T*);                              \
  template void batchnorm_backward<T>(std::int64_t, std::int64_t, std::int64_t, const T*, const T*, const T*,         \
                                      const T*, T, bool, T*, T*, T*);                                                 \
  template void batchnorm_update_moving<T>(std::int64_t, const T*, const T*, T, T*, T*);

HEPNN_CUDA_INSTANTIATE(float)
HEPNN_CUDA_INSTANTIATE(double)
#undef HEPNN_CUDA_INSTANTIATE

}  // namespace hepnn::backend::cuda
