/// @file core/tensor.hpp
/// @brief Tensor<T, Device>: owning, contiguous, row-major, rank <= 5.
///
/// No math lives here: operations are in `ops/`. Copies are explicit (`clone()`, `to<D>()`).
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <initializer_list>
#include <utility>
#include <vector>

#include "hepnn/core/shape.hpp"
#include "hepnn/core/storage.hpp"

namespace hepnn::inline HEPNN_ABI {

template <class T, class Device = cpu>
class Tensor {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "Tensor: T must be float or double");
  static_assert(is_device_v<Device>, "Tensor: Device must be hepnn::cpu or hepnn::cuda");

 public:
  using value_type = T;
  using device_type = Device;

  /// An empty tensor of shape (0,).
  Tensor() : m_shape{0} {}
  /// Uninitialised tensor of the given shape.
  explicit Tensor(const Shape& shape) : m_shape(shape), m_storage(static_cast<std::size_t>(shape.size())) {}
  /// Tensor of the given shape filled with `value` (host tensors only).
  Tensor(const Shape& shape, T value) : Tensor(shape) { fill(value); }
  /// Host tensor from values (row-major); the sizes must agree.
  Tensor(const Shape& shape, std::initializer_list<T> values) : Tensor(shape, std::vector<T>(values)) {}
  Tensor(const Shape& shape, const std::vector<T>& values) : Tensor(shape) {
    static_assert(std::is_same_v<Device, cpu>, "Tensor: construct on the cpu, then copy with to<cuda>()");
    HEPNN_CHECK(static_cast<index_t>(values.size()) == shape.size(), "Tensor: shape ", shape.str(), " needs ",
                shape.size(), " values, got ", values.size());
    std::copy(values.begin(), values.end(), m_storage.data());
  }

  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;
  /// A moved-from tensor is empty, shape (0,), like a default-constructed one.
  Tensor(Tensor&& o) noexcept : m_shape(std::exchange(o.m_shape, empty_shape())), m_storage(std::move(o.m_storage)) {}
  Tensor& operator=(Tensor&& o) noexcept {
    if (this != &o) {
      m_shape = std::exchange(o.m_shape, empty_shape());
      m_storage = std::move(o.m_storage);
    }
    return *this;
  }

  const Shape& shape() const { return m_shape; }
  int rank() const { return m_shape.rank(); }
  index_t size() const { return m_shape.size(); }
  index_t dim(int i) const {
    HEPNN_CHECK(i >= 0 && i < rank(), "Tensor: dimension ", i, " out of range for shape ", m_shape.str());
    return m_shape[i];
  }
  bool empty() const { return size() == 0; }
  T* data() { return m_storage.data(); }
  const T* data() const { return m_storage.data(); }

  /// Element access for host tensors (row-major multi-index).
  template <class... I>
  T& operator()(I... idx) {
    static_assert(std::is_same_v<Device, cpu>, "Tensor: element access is for host tensors");
    return data()[offset(idx...)];
  }
  template <class... I>
  const T& operator()(I... idx) const {
    static_assert(std::is_same_v<Device, cpu>, "Tensor: element access is for host tensors");
    return data()[offset(idx...)];
  }
  T* begin() { return data(); }
  T* end() { return data() + size(); }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size(); }

  void fill(T value) {
    static_assert(std::is_same_v<Device, cpu>, "Tensor: fill is for host tensors");
    std::fill(begin(), end(), value);
  }
  /// Same data, new shape with the same number of elements.
  void reshape(const Shape& shape) {
    HEPNN_CHECK(shape.size() == size(), "Tensor: cannot reshape ", m_shape.str(), " to ", shape.str());
    m_shape = shape;
  }
  /// An explicit deep copy on the same device.
  Tensor clone() const { return to<Device>(); }
  /// An explicit deep copy on another (or the same) device.
  template <class D>
  Tensor<T, D> to() const {
    Tensor<T, D> out(m_shape);
    detail::copy_bytes<D, Device>(out.data(), data(), static_cast<std::size_t>(size()) * sizeof(T));
    return out;
  }
  /// Contents as a host vector.
  std::vector<T> to_vector() const {
    std::vector<T> v(static_cast<std::size_t>(size()));
    detail::copy_bytes<cpu, Device>(v.data(), data(), v.size() * sizeof(T));
    return v;
  }

 private:
  template <class... I>
  index_t offset(I... idx) const {
    const index_t ids[] = {static_cast<index_t>(idx)...};
    constexpr int n = sizeof...(I);
    HEPNN_CHECK(n == rank(), "Tensor: ", n, " indices for a tensor of shape ", m_shape.str());
    index_t off = 0;
    for (int i = 0; i < n; ++i) {
      HEPNN_CHECK(ids[i] >= 0 && ids[i] < m_shape[i], "Tensor: index ", ids[i], " out of range in dimension ", i,
                  " of shape ", m_shape.str());
      off = off * m_shape[i] + ids[i];
    }
    return off;
  }

  static Shape empty_shape() noexcept { return Shape{0}; }  // the (0,) shape of Tensor()

  Shape m_shape;
  Storage<T, Device> m_storage;
};

}  // namespace hepnn
