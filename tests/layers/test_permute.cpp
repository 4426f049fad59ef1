/// @file tests/layers/test_permute.cpp
/// @brief Permute: output shapes, every value where the index arithmetic puts it (ranks 2 to 4,
/// against an independent loop), gradient against finite differences, bad dims, file config.
#include <catch2/catch.hpp>
#include <array>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "hepnn/layers/permute.hpp"
#include "support/gradcheck.hpp"

using hepnn::cpu;
using hepnn::Pass;
using hepnn::Permute;
using hepnn::Shape;
using hepnn::test::random_vector;

namespace {
// y[b][j...] = x[b][i...] with j_k = i_{dims[k]}, by nested loops over the input
template <class T>
std::vector<T> reference_permute(const std::vector<T>& x, std::int64_t batch, const std::vector<std::int64_t>& in,
                                 const std::vector<std::int64_t>& dims) {
  const std::size_t r = in.size();
  std::int64_t size = 1;
  for (auto e : in) size *= e;
  std::vector<std::int64_t> out(r), out_stride(r, 1);
  for (std::size_t k = 0; k < r; ++k) out[k] = in[std::size_t(dims[k])];
  for (std::size_t k = r - 1; k-- > 0;) out_stride[k] = out_stride[k + 1] * out[k + 1];
  std::vector<T> y(x.size());
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t lin = 0; lin < size; ++lin) {
      std::vector<std::int64_t> i(r);
      std::int64_t rest = lin;
      for (std::size_t k = r; k-- > 0;) {
        i[k] = rest % in[k];
        rest /= in[k];
      }
      std::int64_t o = 0;
      for (std::size_t k = 0; k < r; ++k) o += i[std::size_t(dims[k])] * out_stride[k];
      y[std::size_t(b * size + o)] = x[std::size_t(b * size + lin)];
    }
  return y;
}
}  // namespace

TEMPLATE_TEST_CASE("permute: shapes and every value against nested loops", "[layers]", float, double) {
  using T = TestType;
  std::mt19937 rng(11);
  struct Case {
    std::vector<std::int64_t> in, dims;
  };
  const std::vector<Case> cases = {{{3, 5}, {1, 0}},
                                   {{4, 3, 2}, {2, 0, 1}},  // channels-last to channels-first
                                   {{2, 3, 4}, {1, 2, 0}},  // and back
                                   {{2, 3, 4}, {0, 1, 2}},
                                   {{2, 3, 4, 5}, {3, 1, 0, 2}},
                                   {{7}, {0}}};
  for (const Case& c : cases) {
    Shape in;
    for (auto e : c.in) in.push_back(e);
    auto layer = Permute{c.dims}.build<T, cpu>(in, "permute_1");
    CHECK(layer->type() == "Permute");
    CHECK(layer->num_params() == 0);
    Shape expect;
    for (auto d : c.dims) expect.push_back(c.in[std::size_t(d)]);
    CHECK(layer->output_shape() == expect);
    const std::int64_t batch = 3;
    std::vector<T> x(std::size_t(batch * in.size()));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = T(i);  // distinct values: a misplaced one shows
    std::vector<T> y(x.size(), T(-1));
    layer->forward(batch, x.data(), y.data(), nullptr, Pass{});
    CHECK(y == reference_permute(x, batch, c.in, c.dims));
  }
}

TEST_CASE("permute: gradient against finite differences", "[layers]") {
  std::mt19937 rng(5);
  auto layer = Permute{{2, 0, 1}}.build<double, cpu>(Shape{3, 2, 4}, "permute_1");
  const std::int64_t batch = 2;
  const auto x = random_vector<double>(rng, std::size_t(batch * 24));
  const auto r = random_vector<double>(rng, x.size());
  auto L = [&](const std::vector<double>& v) {
    std::vector<double> y(v.size());
    layer->forward(batch, v.data(), y.data(), nullptr, Pass{});
    double s = 0;
    for (std::size_t i = 0; i < y.size(); ++i) s += r[i] * y[i];
    return s;
  };
  std::vector<double> y(x.size()), dx(x.size(), std::numeric_limits<double>::quiet_NaN());
  layer->forward(batch, x.data(), y.data(), nullptr, Pass{});
  layer->backward(batch, x.data(), y.data(), r.data(), dx.data(), nullptr, Pass{});
  hepnn::test::check_gradient(L, x, dx, "permute dx");
}

TEST_CASE("permute: bad dims are errors naming the layer", "[layers]") {
  CHECK_THROWS_WITH((Permute{{0, 1}, "p"}.build<double, cpu>(Shape{2, 3, 4}, "x")),
                    Catch::Contains("Permute 'p'") && Catch::Contains("has 3"));
  CHECK_THROWS_WITH((Permute{{0, 0, 1}}.build<double, cpu>(Shape{2, 3, 4}, "permute_1")),
                    Catch::Contains("each axis 0..2 once"));
  CHECK_THROWS_WITH((Permute{{1, 2, 3}}.build<double, cpu>(Shape{2, 3, 4}, "permute_1")),
                    Catch::Contains("each axis 0..2 once"));
  CHECK_THROWS_WITH((Permute{{-1, 0, 1}}.build<double, cpu>(Shape{2, 3, 4}, "permute_1")),
                    Catch::Contains("each axis 0..2 once"));
  const auto c = hepnn::detail::build_layer<float, cpu>(Permute{{2, 0, 1}, "to_nchw"}, {Shape{5, 5, 3}}, "p")->config();
  CHECK(c.type == "Permute");
  CHECK(Permute::from_config(c).dims == std::vector<std::int64_t>{2, 0, 1});
}
