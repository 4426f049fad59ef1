/// @file core/error.hpp
/// @brief hepnn::Error and the checks that raise it.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace hepnn {

/// Every failure hepnn reports is a hepnn::Error; its message says what was wrong and where
/// (layer, expected and actual shape, file, batch).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error("hepnn: " + what) {}
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace hepnn

/// Throws hepnn::Error with the streamed message when `cond` is false.
#define HEPNN_CHECK(cond, ...)                                         \
  do {                                                                 \
    if (!(cond)) throw ::hepnn::Error(::hepnn::detail::concat(__VA_ARGS__)); \
  } while (0)
