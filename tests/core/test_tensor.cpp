/// @file tests/core/test_tensor.cpp
/// @brief Shape and Tensor: construction, element access, copies, reshapes, errors.
#include <catch2/catch.hpp>
#include <cstdint>
#include <sstream>
#include <utility>
#include <vector>

#include "hepnn/core/tensor.hpp"

using hepnn::Shape;
using hepnn::Tensor;
using Catch::Contains;

TEST_CASE("shape: size, rank and str", "[core]") {
  const Shape scalar;
  CHECK(scalar.rank() == 0);
  CHECK(scalar.size() == 1);
  CHECK(scalar.str() == "()");

  const Shape v{7};
  CHECK(v.rank() == 1);
  CHECK(v.size() == 7);
  CHECK(v.str() == "(7,)");

  const Shape m{2, 3, 4};
  CHECK(m.rank() == 3);
  CHECK(m[0] == 2);
  CHECK(m[1] == 3);
  CHECK(m[2] == 4);
  CHECK(m.size() == 24);
  CHECK(m.str() == "(2, 3, 4)");

  const Shape with_zero{5, 0, 3};
  CHECK(with_zero.size() == 0);

  std::ostringstream os;
  os << m;
  CHECK(os.str() == "(2, 3, 4)");
}

TEST_CASE("shape: tail and with_batch", "[core]") {
  const Shape s{8, 3, 4};
  CHECK(s.tail() == Shape{3, 4});
  CHECK(s.tail().tail() == Shape{4});
  CHECK(s.tail().tail().tail() == Shape{});
  CHECK(Shape{}.tail() == Shape{});
  CHECK(Shape{3, 4}.with_batch(8) == s);
  CHECK(Shape{}.with_batch(5) == Shape{5});
  CHECK(s.with_batch(2).tail() == s);
  CHECK(Shape{3, 4} != Shape{4, 3});
  CHECK(Shape{3, 4} != Shape{3, 4, 1});
}

TEST_CASE("shape: rank above five and negative extents throw", "[core]") {
  CHECK_NOTHROW(Shape{1, 2, 3, 4, 5});
  CHECK_THROWS_AS((Shape{1, 2, 3, 4, 5, 6}), hepnn::Error);
  CHECK_THROWS_WITH((Shape{1, 2, 3, 4, 5, 6}), Contains("rank 6") && Contains("maximum of 5"));
  CHECK_THROWS_AS(Shape({1, 2, 3, 4, 5}).with_batch(2), hepnn::Error);
  Shape s{1, 2, 3, 4, 5};
  CHECK_THROWS_AS(s.push_back(6), hepnn::Error);
  CHECK(s.rank() == 5);
  CHECK_THROWS_WITH((Shape{2, -1}), Contains("negative extent -1"));
}

TEMPLATE_TEST_CASE("tensor: default tensor is empty", "[core]", float, double) {
  Tensor<TestType> t;
  CHECK(t.empty());
  CHECK(t.size() == 0);
  CHECK(t.rank() == 1);
  CHECK(t.shape() == Shape{0});
  CHECK(t.to_vector().empty());
  CHECK(t.begin() == t.end());
  const Tensor<TestType> c = t.clone();
  CHECK(c.empty());
}

TEMPLATE_TEST_CASE("tensor: construction from values, row-major element access", "[core]", float, double) {
  using T = TestType;
  Tensor<T> t(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(t.rank() == 2);
  CHECK(t.size() == 6);
  CHECK(t.dim(0) == 2);
  CHECK(t.dim(1) == 3);
  CHECK_FALSE(t.empty());
  CHECK(t(0, 0) == T(1));
  CHECK(t(0, 2) == T(3));
  CHECK(t(1, 0) == T(4));
  CHECK(t(1, 2) == T(6));
  t(1, 1) = T(-7.5);
  CHECK(t.data()[4] == T(-7.5));
  CHECK(t.to_vector() == std::vector<T>{1, 2, 3, 4, -7.5, 6});
  const Tensor<T>& ct = t;
  CHECK(ct(1, 1) == T(-7.5));

  Tensor<T> r3(Shape{2, 3, 4}, T(0));
  r3(1, 2, 3) = T(9);
  CHECK(r3.data()[1 * 12 + 2 * 4 + 3] == T(9));

  const Tensor<T> filled(Shape{3, 2}, T(2.5));
  for (T x : filled) CHECK(x == T(2.5));

  const Tensor<T> from_vector(Shape{4}, std::vector<T>{4, 3, 2, 1});
  CHECK(from_vector(3) == T(1));

  // storage is 64-byte aligned
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % hepnn::storage_alignment == 0);
}

TEMPLATE_TEST_CASE("tensor: construction and access errors throw hepnn::Error", "[core]", float, double) {
  using T = TestType;
  CHECK_THROWS_AS((Tensor<T>(Shape{2, 2}, {1, 2, 3})), hepnn::Error);
  CHECK_THROWS_WITH((Tensor<T>(Shape{2, 2}, {1, 2, 3})), Contains("(2, 2)") && Contains("needs 4 values, got 3"));

  Tensor<T> t(Shape{2, 3}, T(0));
  CHECK_THROWS_AS(t(2, 0), hepnn::Error);
  CHECK_THROWS_AS(t(0, 3), hepnn::Error);
  CHECK_THROWS_AS(t(-1, 0), hepnn::Error);
  CHECK_THROWS_WITH(t(0, 3), Contains("index 3 out of range in dimension 1") && Contains("(2, 3)"));
  CHECK_THROWS_WITH(t(1), Contains("1 indices for a tensor of shape (2, 3)"));
  CHECK_THROWS_AS(t(0, 0, 0), hepnn::Error);
  CHECK_THROWS_AS(t.dim(2), hepnn::Error);
  CHECK_THROWS_AS(t.dim(-1), hepnn::Error);
}

TEMPLATE_TEST_CASE("tensor: clone is a deep copy", "[core]", float, double) {
  using T = TestType;
  Tensor<T> a(Shape{2, 2}, {1, 2, 3, 4});
  Tensor<T> b = a.clone();
  CHECK(b.shape() == a.shape());
  CHECK(b.data() != a.data());
  CHECK(b.to_vector() == a.to_vector());
  b(0, 0) = T(100);
  a(1, 1) = T(-100);
  CHECK(a(0, 0) == T(1));
  CHECK(b(1, 1) == T(4));
  const Tensor<T> c = a.template to<hepnn::cpu>();
  CHECK(c.data() != a.data());
  CHECK(c.to_vector() == a.to_vector());
}

TEMPLATE_TEST_CASE("tensor: reshape keeps the data and checks the size", "[core]", float, double) {
  using T = TestType;
  Tensor<T> t(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  const T* before = t.data();
  t.reshape(Shape{3, 2});
  CHECK(t.shape() == Shape{3, 2});
  CHECK(t.data() == before);
  CHECK(t(2, 0) == T(5));
  t.reshape(Shape{6});
  CHECK(t(4) == T(5));
  t.reshape(Shape{1, 2, 1, 3, 1});
  CHECK(t(0, 1, 0, 2, 0) == T(6));
  CHECK_THROWS_AS(t.reshape(Shape{4, 2}), hepnn::Error);
  CHECK_THROWS_WITH(t.reshape(Shape{5}), Contains("cannot reshape (1, 2, 1, 3, 1) to (5,)"));
  CHECK(t.shape() == (Shape{1, 2, 1, 3, 1}));  // unchanged after a failed reshape
}

TEMPLATE_TEST_CASE("tensor: move semantics transfer the buffer", "[core]", float, double) {
  using T = TestType;
  Tensor<T> a(Shape{2, 2}, {1, 2, 3, 4});
  const T* buffer = a.data();

  Tensor<T> b(std::move(a));
  CHECK(b.data() == buffer);
  CHECK(b.shape() == Shape{2, 2});
  CHECK(b.to_vector() == std::vector<T>{1, 2, 3, 4});
  // The moved-from tensor is a valid empty tensor, not a shape without a buffer.
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move)
  CHECK(a.to_vector().empty());

  Tensor<T> c(Shape{5}, T(0));
  c = std::move(b);
  CHECK(c.data() == buffer);
  CHECK(c.shape() == Shape{2, 2});
  CHECK(c(1, 0) == T(3));
  CHECK(b.empty());  // NOLINT(bugprone-use-after-move)
  CHECK(b.clone().empty());

  // a moved-from tensor can be assigned to again
  a = Tensor<T>(Shape{3}, {7, 8, 9});
  CHECK(a(2) == T(9));

  std::vector<Tensor<T>> many;
  for (int i = 0; i < 20; ++i) many.push_back(Tensor<T>(Shape{3}, T(i)));
  for (int i = 0; i < 20; ++i) CHECK(many[static_cast<std::size_t>(i)](1) == T(i));
}
