/// @file ops/sequence_kind.hpp
/// @brief The pooling over sequence elements every backend implements, as plain data.
#pragma once

namespace hepnn {

/// Pooling over the real elements of a padded sequence (GlobalSumPooling1D, ...).
enum class SequencePool { sum, mean, max };

}  // namespace hepnn
