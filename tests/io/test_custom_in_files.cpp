// Custom losses and metrics in model files: recorded by name and parameters, rebuilt through
// the registry on load, and a clear error when the loading program has not registered them.
#include <catch2/catch.hpp>

#include <cmath>
#include <span>

#include "hepnn/io/model_file.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/train/sequential.hpp"
#include "io/io_support.hpp"

using namespace hepnn;
using test_io::error_of;
using test_io::TempDir;

namespace {
/// Squared error scaled by a parameter (so that the recorded params matter).
CustomLoss scaled_mse(double scale) {
  return CustomLoss{.name = "scaled_mse_for_file_test",
                    .row = [scale](std::span<const double> o, std::span<const double> t, std::span<double> g) {
                      g[0] = 2 * scale * (o[0] - t[0]);
                      return scale * (o[0] - t[0]) * (o[0] - t[0]);
                    },
                    .params = {{"scale", scale}}};
}
metrics::CustomMetric max_error() {
  return {.name = "max_error_for_file_test", .compute = [](const metrics::MetricInput& in) {
            double m = 0;
            for (std::size_t i = 0; i < in.scores.size(); ++i) m = std::max(m, std::abs(in.scores[i] - in.targets[i]));
            return m;
          },
          .higher_is_better = false};
}
}  // namespace

TEST_CASE("model file: custom losses and metrics are recorded and need registering to load", "[io][custom]") {
  TempDir dir;
  const std::string p = dir.file("custom.h5");
  Sequential<double, cpu> m{Input{1}, Dense{1}};
  m.compile({.loss = scaled_mse(3.0), .optimizer = SGD{.learning_rate = 0.01}, .metrics = {max_error()}});
  Tensor<double, cpu> x(Shape{4, 1}, {0, 1, 2, 3}), y(Shape{4, 1}, {1, 3, 5, 7});
  m.fit(x, y, {.epochs = 2, .batch_size = 4, .verbose = 0});
  io::save_model(m, p);

  // a program that never registered them: a clear error naming the loss
  CHECK_THAT(error_of([&] { io::load_model<double>(p); }),
             Catch::Contains("scaled_mse_for_file_test") && Catch::Contains("register_loss"));

  register_loss("scaled_mse_for_file_test", [](const std::map<std::string, double>& params) {
    return scaled_mse(params.at("scale"));
  });
  CHECK_THAT(error_of([&] { io::load_model<double>(p); }),
             Catch::Contains("max_error_for_file_test") && Catch::Contains("register_metric"));
  metrics::register_metric("max_error_for_file_test", [](const std::map<std::string, double>&) { return max_error(); });

  auto l = io::load_model<double>(p);
  REQUIRE(std::holds_alternative<CustomLoss>(l.loss()));
  CHECK(std::get<CustomLoss>(l.loss()).params.at("scale") == 3.0);
  CHECK(l.parameters().to_vector() == m.parameters().to_vector());
  const Logs a = m.evaluate(x, y), b = l.evaluate(x, y);
  CHECK(a.at("loss") == b.at("loss"));
  CHECK(a.at("max_error_for_file_test") == b.at("max_error_for_file_test"));
  // training continues with the rebuilt loss exactly as with the original
  m.fit(x, y, {.epochs = 1, .batch_size = 4, .shuffle = false, .verbose = 0});
  l.fit(x, y, {.epochs = 1, .batch_size = 4, .shuffle = false, .verbose = 0});
  CHECK(l.parameters().to_vector() == m.parameters().to_vector());
}
