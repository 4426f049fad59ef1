/// @file precompiled.hpp
/// @brief Explicit instantiation declarations for the float and double CPU models, used with the
/// optional compiled library `hepnn::precompiled` (docs/building.md, "Compile time").
///
/// hepnn stays header-only: nothing here changes a program that does not define
/// `HEPNN_PRECOMPILED`. With it (linking `hepnn::precompiled` in CMake defines it), the umbrella
/// header `hepnn/hepnn.hpp` includes this file, and the `extern template` declarations below tell
/// the compiler that the library (src/instantiate_cpu.cpp) holds the code of `Sequential<T, cpu>`,
/// its layers, optimizer and batch staging, and the matrix product, for T = float and double.
/// The user's translation unit then compiles the calls to them and not their bodies.
///
/// The declarations are made inside hepnn's ABI namespace (core/config.hpp), as the library's
/// definitions are: a library built with other settings (OpenBLAS or not, another instruction
/// set, zlib, OpenMP) defines names of another namespace, and the program fails to link instead
/// of mixing two configurations' code.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>

#include "hepnn/backend/cpu/gemm.hpp"
#include "hepnn/core/device.hpp"
#include "hepnn/core/tensor.hpp"
#include "hepnn/data/dataset.hpp"
#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/batchnorm.hpp"
#include "hepnn/layers/conv2d.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/dropout.hpp"
#include "hepnn/layers/flatten.hpp"
#include "hepnn/layers/pooling.hpp"
#include "hepnn/layers/permute.hpp"
#include "hepnn/layers/reshape.hpp"
#include "hepnn/optim/optimizer.hpp"
#include "hepnn/train/sequential.hpp"
#include "hepnn/train/staging.hpp"

/// Declares (HEPNN_INSTANTIATE_EXTERN = extern) or defines (empty, in src/instantiate_cpu.cpp)
/// the instantiations for one scalar type on the CPU.
#define HEPNN_INSTANTIATE_CPU(HEPNN_EXTERN, T)                                                                  \
  namespace hepnn::backend::cpu::inline HEPNN_ABI {                                                             \
  HEPNN_EXTERN template void gemm<T>(bool, bool, std::int64_t, std::int64_t, std::int64_t, T, const T*, const T*, \
                                     T, T*);                                                                     \
  }                                                                                                              \
  namespace hepnn::inline HEPNN_ABI {                                                                            \
  HEPNN_EXTERN template class Tensor<T, cpu>;                                                                    \
  HEPNN_EXTERN template class data::Dataset<T>;                                                                  \
  HEPNN_EXTERN template class ActivationLayer<T, cpu>;                                                           \
  HEPNN_EXTERN template class SoftmaxLayer<T, cpu>;                                                              \
  HEPNN_EXTERN template class BatchNormalizationLayer<T, cpu>;                                                   \
  HEPNN_EXTERN template class Conv2DLayer<T, cpu>;                                                               \
  HEPNN_EXTERN template class DenseLayer<T, cpu>;                                                                \
  HEPNN_EXTERN template class DropoutLayer<T, cpu>;                                                              \
  HEPNN_EXTERN template class FlattenLayer<T, cpu>;                                                              \
  HEPNN_EXTERN template class Pool2DLayer<T, cpu>;                                                               \
  HEPNN_EXTERN template class GlobalAveragePooling2DLayer<T, cpu>;                                               \
  HEPNN_EXTERN template class ReshapeLayer<T, cpu>;                                                              \
  HEPNN_EXTERN template class Optimizer<T, cpu>;                                                                 \
  HEPNN_EXTERN template class Sequential<T, cpu>;                                                                \
  }

#if defined(HEPNN_PRECOMPILED) && !defined(HEPNN_INSTANTIATING_PRECOMPILED)
HEPNN_INSTANTIATE_CPU(extern, float)
HEPNN_INSTANTIATE_CPU(extern, double)
#endif
