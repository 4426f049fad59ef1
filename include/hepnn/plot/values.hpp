/// @file plot/values.hpp
/// @brief plot::Values: a read-only view of per-event numbers from a std::vector, a std::span or a host Tensor.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstddef>
#include <type_traits>
#include <utility>

#include "hepnn/core/device.hpp"

namespace hepnn::inline HEPNN_ABI::plot {

namespace detail {
template <class R>
using element_t = std::remove_cv_t<std::remove_reference_t<decltype(*std::declval<const R&>().data())>>;

template <class R>
concept contiguous_numbers = requires(const R& r) {
  r.data();
  r.size();
} && std::is_arithmetic_v<element_t<R>>;

template <class R>
constexpr bool on_host() {
  if constexpr (requires { typename R::device_type; })
    return std::is_same_v<typename R::device_type, ::hepnn::cpu>;
  else
    return true;
}
}  // namespace detail

/// A read-only view of per-event numbers of any arithmetic type, read as double: anything contiguous with
/// `data()` and `size()` (std::vector, std::span, std::array, hepnn::Tensor<T, cpu> of any shape, read in
/// row-major order, so the (N, 1) scores of `predict` are N values). `{}` is the empty view (for weights:
/// every event weighs 1). A view does not own its data: use it as a function argument only.
class Values {
 public:
  /// The empty view.
  Values() = default;
  /// A view of `r` (a Tensor must be on the cpu: copy a GPU tensor with `to<cpu>()` first).
  template <class R>
    requires detail::contiguous_numbers<R>
  Values(const R& r)  // NOLINT: implicit on purpose, so that vectors, spans and tensors pass as they are
      : m_data(r.data()), m_size(static_cast<std::size_t>(r.size())), m_get(&get<detail::element_t<R>>) {
    static_assert(detail::on_host<R>(), "plot::Values: the tensor is on the GPU; pass t.to<hepnn::cpu>()");
  }

  /// Number of values.
  std::size_t size() const { return m_size; }
  /// Whether there are none.
  bool empty() const { return m_size == 0; }
  /// Value i as a double (unchecked).
  double operator[](std::size_t i) const { return m_get(m_data, i); }

 private:
  template <class T>
  static double get(const void* p, std::size_t i) {
    return static_cast<double>(static_cast<const T*>(p)[i]);
  }
  const void* m_data = nullptr;
  std::size_t m_size = 0;
  double (*m_get)(const void*, std::size_t) = nullptr;
};

}  // namespace hepnn::plot
