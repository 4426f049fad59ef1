/// @file data/fingerprint.hpp
/// @brief A fingerprint of a data set's names and values, by which the ranks of a data-parallel
/// fit check that they hold the same validation data (graph/model_parallel.hpp). It is its own
/// header so that graph/model_fit.hpp sees it whichever of the two is included first.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <cstring>

#include "hepnn/data/named_dataset.hpp"

namespace hepnn::inline HEPNN_ABI {
namespace detail {

/// A 63-bit fingerprint of bytes (not cryptographic: it tells whether the ranks hold the same data).
inline std::int64_t fingerprint(const void* p, std::size_t bytes, std::uint64_t h = 0x243f6a8885a308d3ull) {
  const auto* c = static_cast<const unsigned char*>(p);
  std::size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, c + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (; i < bytes; ++i) h = (h ^ c[i]) * 0x100000001b3ull;
  return std::int64_t(h >> 1);
}

/// The fingerprint of a data set's names and values (0 for none).
template <class T>
std::int64_t fingerprint(const data::NamedDataset<T>* d) {
  if (!d) return 0;
  std::uint64_t h = 0x243f6a8885a308d3ull;
  for (const auto* part : {&d->inputs(), &d->targets()})
    for (const auto& [name, t] : *part) {
      h = std::uint64_t(fingerprint(name.data(), name.size(), h));
      h = std::uint64_t(fingerprint(t.data(), sizeof(T) * std::size_t(t.size()), h));
    }
  for (const auto& [name, t] : d->output_weights()) h = std::uint64_t(fingerprint(t.data(), sizeof(T) * std::size_t(t.size()), h));
  const Tensor<T, cpu>& w = d->weights();
  return fingerprint(w.data(), sizeof(T) * std::size_t(w.size()), h);
}

}  // namespace detail
}  // namespace hepnn::inline HEPNN_ABI
