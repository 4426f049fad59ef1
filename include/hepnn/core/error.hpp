/// @file core/error.hpp
/// @brief hepnn::Error and the checks that raise it.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

#include "hepnn/core/config.hpp"

namespace hepnn {

/// Every failure hepnn reports is a hepnn::Error; its message says what was wrong and where
/// (layer, expected and actual shape, file, batch).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error("hepnn: " + what) {}
};

// Outside the configuration's namespace (core/config.hpp): Error and its message builder are the
// same in every configuration, and the CUDA backend (compiled by nvcc with flags of its own)
// throws the very Error type that user code catches.
namespace error_detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace error_detail

}  // namespace hepnn

namespace hepnn::inline HEPNN_ABI::detail {
using ::hepnn::error_detail::concat;
}  // namespace hepnn::inline HEPNN_ABI::detail

/// Throws hepnn::Error with the streamed message when `cond` is false.
#define HEPNN_CHECK(cond, ...)                                         \
  do {                                                                 \
    if (!(cond)) throw ::hepnn::Error(::hepnn::error_detail::concat(__VA_ARGS__)); \
  } while (0)
