// The one CUDA translation unit of the hepnn::cuda target: every kernel and cuBLAS call of the
// CUDA backend, for float and double. Programs that use Tensor<T, cuda> or Sequential<T, cuda>
// link it; their own sources stay plain C++.
#include "hepnn/backend/cuda/all.cuh"
