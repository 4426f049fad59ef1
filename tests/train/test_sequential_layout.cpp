// Sequential's parameter layout is made once, after the last add (a model of L layers built or
// loaded layer by layer initialises each layer once, not L times), and fit on a batch source
// runs the same epoch loop as fit in memory: same errors with epoch and batch, and a source
// that breaks its contract is an error, not an overflow.
#include <catch2/catch.hpp>

#include <string>

#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/train/sequential.hpp"

using namespace hepnn;
using Catch::Matchers::Contains;

namespace {

int g_initialized = 0;  // layers initialised by CountedScale so far

// y = a x elementwise, one parameter a initialised to 2; counts its initialisations.
class CountedScaleLayer final : public Layer<double, cpu> {
 public:
  CountedScaleLayer(std::string name, const Shape& in) : Layer<double, cpu>(std::move(name), in) { m_output_shape = in; }
  std::string type() const override { return "CountedScale"; }
  std::vector<ParamInfo> params() const override { return {{"a", Shape{1}}}; }
  void initialize(double* p, std::uint64_t, std::uint64_t) const override {
    p[0] = 2.0;
    ++g_initialized;
  }
  void forward(std::int64_t batch, const double* x, double* y, double*, const Pass&) const override {
    for (std::int64_t i = 0; i < batch * m_input_shape.size(); ++i) y[i] = m_params[0] * x[i];
  }
  void backward(std::int64_t batch, const double* x, const double*, const double* dy, double* dx, double*,
                const Pass&) override {
    double g = 0;
    for (std::int64_t i = 0; i < batch * m_input_shape.size(); ++i) {
      g += x[i] * dy[i];
      if (dx) dx[i] = m_params[0] * dy[i];
    }
    m_grads[0] = g;
  }
};

struct CountedScale {
  static constexpr const char* type_name = "counted_scale";
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<CountedScaleLayer>(auto_name, in);
  }
};

// A batch source over a data set that can break its contract in one of several ways.
class TestSource final : public data::BatchSource<double> {
 public:
  enum class Fault { none, extra_events, oversized_batch, wrong_shape, nan_on_second_batch };
  TestSource(data::Dataset<double> d, Fault f) : m_d(std::move(d)), m_fault(f) {}
  std::int64_t size() const override { return m_d.size(); }
  double sum_of_weights() const override { return m_d.sum_of_weights(); }
  void start_epoch(int, bool) override { m_pos = 0, m_calls = 0; }
  bool next(std::int64_t bs, data::Dataset<double>& batch) override {
    const std::int64_t end = m_fault == Fault::extra_events ? m_d.size() + bs : m_d.size();
    if (m_pos >= end) return false;
    const std::int64_t take = m_fault == Fault::oversized_batch ? 2 * bs : bs;
    const std::int64_t a = m_pos % m_d.size(), b = std::min(a + take, m_d.size());
    batch = m_d.slice(a, b);
    m_pos += b - a;
    if (m_fault == Fault::wrong_shape)
      batch = data::Dataset<double>(Tensor<double>(Shape{b - a, 3}, 0.5), batch.targets().clone());
    if (m_fault == Fault::nan_on_second_batch && ++m_calls == 2) {
      Tensor<double> x = batch.features().clone();
      x(0, 1) = std::nan("");
      batch = data::Dataset<double>(std::move(x), batch.targets().clone());
    }
    return true;
  }

 private:
  data::Dataset<double> m_d;
  Fault m_fault;
  std::int64_t m_pos = 0;
  int m_calls = 0;
};

data::Dataset<double> line_data(std::int64_t n) {
  Tensor<double> x(Shape{n, 2}), y(Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    x(i, 0) = double(i) / double(n);
    x(i, 1) = 1.0 - x(i, 0);
    y(i, 0) = 0.5 * x(i, 0) - x(i, 1);
  }
  return data::Dataset<double>(std::move(x), std::move(y));
}

}  // namespace

TEST_CASE("sequential layout: made once after the last add, not once per add", "[train][layout]") {
  g_initialized = 0;
  Sequential<double> m(Input{2});
  for (int i = 0; i < 5; ++i) m.add(CountedScale{});
  CHECK(g_initialized == 0);  // nothing laid out or initialised yet
  CHECK(m.num_params() == 5);
  CHECK(g_initialized == 5);  // each layer once
  const Tensor<double> x(Shape{1, 2}, {1.0, -3.0});
  CHECK(m.predict(x).to_vector() == std::vector<double>{32.0, -96.0});  // 2^5
  CHECK(g_initialized == 5);
  m.add(CountedScale{});  // the model changed: all layers are drawn again, once, at the next use
  CHECK(g_initialized == 5);
  CHECK(m.predict(x).to_vector() == std::vector<double>{64.0, -192.0});
  CHECK(g_initialized == 11);
  m.initialize(7);
  CHECK(g_initialized == 17);
}

TEST_CASE("sequential layout: a model built by add equals the one built at once, bitwise", "[train][layout]") {
  Sequential<double> at_once(Input{2}, Dense{8, Activation::tanh}, Dense{3}, Softmax{});
  Sequential<double> by_add(Input{2});
  by_add.add(Dense{8, Activation::tanh});
  by_add.add(Dense{3}).add(Softmax{});
  CHECK(by_add.parameters().to_vector() == at_once.parameters().to_vector());
  for (std::size_t i = 0; i < 3; ++i) CHECK(by_add.parameter_offset(i) == at_once.parameter_offset(i));
  // a seed given before the first use is the one the layers are drawn from
  Sequential<double> seeded(Input{2}, Dense{8, Activation::tanh}, Dense{3}, Softmax{});
  seeded.initialize(11);
  at_once.initialize(11);
  CHECK(seeded.parameters().to_vector() == at_once.parameters().to_vector());
  CHECK(seeded.parameters().to_vector() != by_add.parameters().to_vector());
  // add after compile: compile again; the new layer's parameters join the optimizer's
  by_add.compile({.loss = CategoricalCrossEntropy{}});
  by_add.add(Dense{3}).add(Softmax{});
  CHECK_FALSE(by_add.compiled());
  REQUIRE_THROWS_WITH(by_add.fit(line_data(4), {.verbose = 0}), Contains("call compile() first"));
}

TEST_CASE("sequential fit on a batch source: one epoch loop, contract breaks are errors", "[train][streaming][errors]") {
  using Fault = TestSource::Fault;
  auto model = [] {
    Sequential<double> m(Input{2}, Dense{4, Activation::tanh}, Dense{1});
    m.compile({.loss = MeanSquaredError{}, .optimizer = SGD{.learning_rate = 0.1}, .seed = 5});
    return m;
  };
  const data::Dataset<double> d = line_data(40);
  {  // the same batches in the same order train the same weights, bitwise, and log the same loss
    Sequential<double> a = model(), b = model();
    TestSource src(d.slice(0, 40), Fault::none);
    const History ha = a.fit(src, {.epochs = 3, .batch_size = 16, .shuffle = false, .verbose = 0});
    const History hb = b.fit(d, {.epochs = 3, .batch_size = 16, .shuffle = false, .verbose = 0});
    CHECK(a.parameters().to_vector() == b.parameters().to_vector());
    CHECK(ha["loss"] == hb["loss"]);
    CHECK(ha["lr"] == hb["lr"]);
  }
  const FitOptions<double> o{.epochs = 2, .batch_size = 16, .verbose = 0};
  {
    Sequential<double> m = model();
    TestSource src(d.slice(0, 40), Fault::extra_events);
    REQUIRE_THROWS_WITH(m.fit(src, o), Contains("the batch source gave 56 events in epoch 1, expected 40"));
  }
  {
    Sequential<double> m = model();
    TestSource src(d.slice(0, 40), Fault::oversized_batch);
    REQUIRE_THROWS_WITH(m.fit(src, o), Contains("fit: epoch 1, batch 1 of 3") &&
                                           Contains("a batch of 32 events, asked for at most 16"));
  }
  {
    Sequential<double> m = model();
    TestSource src(d.slice(0, 40), Fault::wrong_shape);
    REQUIRE_THROWS_WITH(m.fit(src, o), Contains("fit (batch source)") && Contains("(3,)") && Contains("(2,)"));
  }
  {
    Sequential<double> m = model();
    const std::vector<double> before = m.parameters().to_vector();
    TestSource src(d.slice(0, 40), Fault::nan_on_second_batch);
    REQUIRE_THROWS_WITH(m.fit(src, o), Contains("fit: epoch 1, batch 2 of 3") && Contains("non-finite"));
    CHECK(m.parameters().to_vector() != before);  // the first batch was trained, the bad one not
  }
}
