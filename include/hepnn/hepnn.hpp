/// @file hepnn.hpp
/// @brief Umbrella header for user programs and tutorials: everything hepnn offers on the CPU.
/// Library code never includes it; include the single headers to keep compile times down.
#pragma once

#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/core/device.hpp"
#include "hepnn/core/error.hpp"
#include "hepnn/core/philox.hpp"
#include "hepnn/core/shape.hpp"
#include "hepnn/core/tensor.hpp"
#include "hepnn/core/version.hpp"
#include "hepnn/data/csv.hpp"
#include "hepnn/data/dataset.hpp"
#include "hepnn/data/idx.hpp"
#include "hepnn/data/input_transform.hpp"
#include "hepnn/data/preprocessing.hpp"
#include "hepnn/init/initializers.hpp"
#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/batchnorm.hpp"
#include "hepnn/layers/conv2d.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/dropout.hpp"
#include "hepnn/layers/flatten.hpp"
#include "hepnn/layers/input.hpp"
#include "hepnn/layers/layer_config.hpp"
#include "hepnn/layers/padding.hpp"
#include "hepnn/layers/pooling.hpp"
#include "hepnn/layers/reshape.hpp"
#include "hepnn/losses/compute.hpp"
#include "hepnn/losses/loss.hpp"
#include "hepnn/metrics/metrics.hpp"
#include "hepnn/ops/batchnorm.hpp"
#include "hepnn/ops/conv.hpp"
#include "hepnn/ops/elementwise.hpp"
#include "hepnn/ops/gemm.hpp"
#include "hepnn/ops/loss.hpp"
#include "hepnn/ops/optim.hpp"
#include "hepnn/ops/pooling.hpp"
#include "hepnn/optim/optimizer.hpp"
#include "hepnn/optim/schedule.hpp"
#include "hepnn/train/callbacks.hpp"
#include "hepnn/train/history.hpp"
#include "hepnn/train/metric_spec.hpp"
#include "hepnn/train/progress.hpp"
#include "hepnn/train/sequential.hpp"

// With the compiled library hepnn::precompiled (which defines HEPNN_PRECOMPILED for the programs
// that link it): the float and double CPU models are compiled there, not in every program.
#if defined(HEPNN_PRECOMPILED)
#include "hepnn/precompiled.hpp"
#endif
