/// @file backend/cpu/eigen.hpp
/// @brief Eigen/Core as every hepnn header includes it.
///
/// - The intrinsics come first through core/intrin.hpp, which keeps GCC 12's false
///   -Wmaybe-uninitialized warnings inside them (GCC bug 105593) out of the user's build.
/// - Eigen's own OpenMP threading must be off: hepnn threads its products itself, in chunks
///   that do not depend on the thread count (backend/cpu/parallel.hpp). That is
///   EIGEN_DONT_PARALLELIZE, which only works when it is defined before the *first* inclusion
///   of Eigen in a translation unit, so it is not defined here (a header cannot know whether
///   Eigen came before it): the CMake targets hepnn::hepnn define it for every source that
///   links them, and a build without CMake passes -DEIGEN_DONT_PARALLELIZE (docs/building.md).
///   When it is missing, hepnn's products still run on one Eigen thread each:
///   gemm.hpp sets Eigen::setNbThreads(1) on first use.
/// - Eigen 3.4.0's own code warns in a -Wall build when its include directory is not a system
///   one (a plain -I, as in a build without CMake): "unused variable 'r'" in the AVX and AVX-512
///   bfloat16 ploadquad. That warning is silenced for Eigen's headers only, as above.
#pragma once
#include "hepnn/core/intrin.hpp"

#if defined(__GNUC__)  // GCC and clang
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-variable"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#endif
#include <Eigen/Core>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
