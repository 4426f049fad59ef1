/// @file tests/io/test_onnx_export.cpp
/// hepnn -> ONNX graph -> hepnn without files (io/onnx_export.hpp, io/onnx_graph.hpp): the weights
/// come back bitwise, the outputs agree, the preprocessing travels as Sub and Mul nodes, and
/// what ONNX export cannot write is an error naming the layer. The `.onnx` files themselves and
/// ONNX Runtime's outputs are tests/onnx (the hepnn::onnx component).
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "hepnn/io/onnx_export.hpp"
#include "io/onnx_test_models.hpp"

using namespace hepnn;

namespace {

std::map<std::string, int> op_counts(const io::OnnxGraph& g) {
  std::map<std::string, int> n;
  for (const auto& node : g.nodes) ++n[node.op_type];
  return n;
}

template <class T>
void round_trip(const Model<T, cpu>& m, double tol) {
  const io::OnnxGraph g = io::onnx_graph_from_model(m);
  const Model<T, cpu> back = io::model_from_onnx<T, cpu>(g);
  CHECK(back.input_names() == m.input_names());
  CHECK(back.output_names() == m.output_names());
  const auto wb = onnx_test::sorted_weights(back), wm = onnx_test::sorted_weights(m);
  CHECK(wb.size() == wm.size());
  CHECK(wb == wm);  // bitwise
  const auto xs = onnx_test::inputs(m, 7, 3);
  const double d = onnx_test::max_relative(onnx_test::outputs(back, xs, 7), onnx_test::outputs(m, xs, 7));
  INFO("largest relative difference " << d);
  CHECK(d <= tol);
}

}  // namespace

TEMPLATE_TEST_CASE("onnx export: a two-input tagger with every dense-side layer comes back the same", "[io][onnx]", float,
                   double) {
  const double tol = std::is_same_v<TestType, float> ? 1e-6 : 1e-14;
  const auto m = onnx_test::tagger<TestType>();
  const io::OnnxGraph g = io::onnx_graph_from_model(m);
  CHECK(g.opset == io::onnx_export_opset);
  CHECK(g.double_precision == std::is_same_v<TestType, double>);
  const auto ops = op_counts(g);
  for (const char* op : {"Gemm", "MatMul", "Add", "Sub", "Mul", "Mean", "Concat", "Flatten", "BatchNormalization",
                         "Dropout", "Relu", "Selu", "Elu", "LeakyRelu", "Tanh", "Sigmoid", "Softplus", "Softmax"})
    CHECK(ops.count(op) == 1);
  // the preprocessing is the first two nodes: (jet - shift) * scale
  REQUIRE(g.nodes.size() > 2);
  CHECK(g.nodes[0].op_type == "Sub");
  CHECK(g.nodes[0].inputs[0] == "jet");
  CHECK(g.nodes[1].op_type == "Mul");
  CHECK(g.outputs[0].name == "score");
  CHECK(g.outputs[1].dims == std::vector<std::int64_t>{-1, 3});
  round_trip(m, tol);
  // the imported model keeps the preprocessing as its input transform
  const Model<TestType, cpu> back = io::model_from_onnx<TestType, cpu>(g);
  CHECK(back.input_transform("jet").shift == m.input_transform("jet").shift);
  CHECK(back.input_transform("jet").scale == m.input_transform("jet").scale);
  CHECK(back.input_transform("tracks").empty());
}

TEMPLATE_TEST_CASE("onnx export: GELU needs opset 20", "[io][onnx]", float, double) {
  const auto m = onnx_test::tagger<TestType>(true);
  const io::OnnxGraph g = io::onnx_graph_from_model(m);
  CHECK(g.opset == 20);
  CHECK(op_counts(g)["Gelu"] == 1);
  round_trip(m, std::is_same_v<TestType, float> ? 1e-6 : 1e-14);
}

TEMPLATE_TEST_CASE("onnx export: a convolutional net with every padding comes back the same", "[io][onnx]", float, double) {
  const auto m = onnx_test::convnet<TestType>();
  const io::OnnxGraph g = io::onnx_graph_from_model(m);
  const auto ops = op_counts(g);
  CHECK(ops.at("Conv") == 2);
  for (const char* op : {"MaxPool", "AveragePool", "GlobalAveragePool", "Transpose", "Reshape", "LogSoftmax"})
    CHECK(ops.count(op) == 1);
  for (const auto& n : g.nodes)
    if (n.op_type == "Conv" && n.attributes.at("strides").ints == std::vector<std::int64_t>{2, 1})
      CHECK(n.attributes.at("pads").ints == std::vector<std::int64_t>{1, 1, 1, 1});  // same: (top, left, bottom, right)
  round_trip(m, std::is_same_v<TestType, float> ? 1e-6 : 1e-14);
}

TEST_CASE("onnx export: a Sequential model with preprocessing", "[io][onnx]") {
  Sequential<double, cpu> s{Input{4}, Dense{8, Activation::relu}, Dropout{0.1}, Dense{3}, LogSoftmax{}};
  data::InputTransform<double> t;
  t.kind = "standardize";
  t.shift = {2.0};
  t.scale = {0.5};
  s.set_input_transform(t);
  const io::OnnxGraph g = io::onnx_graph_from_model(s);
  CHECK(g.inputs[0].name == "input");
  CHECK(g.outputs[0].name == "output");
  const Model<double, cpu> back = io::model_from_onnx<double, cpu>(g);
  Tensor<double, cpu> x(Shape{5, 4});
  for (std::int64_t k = 0; k < x.size(); ++k) x.data()[k] = 0.1 * double(k) - 1;
  const Tensor<double, cpu> a = s.predict(x), b = back.predict(x);
  for (std::int64_t k = 0; k < a.size(); ++k) CHECK(b.data()[k] == Approx(a.data()[k]).epsilon(1e-14));
}

TEST_CASE("onnx export: what ONNX cannot express is an error naming the layer", "[io][onnx]") {
  auto x = Input{"x", {4}};
  auto mu = Dense{2}(x);
  auto lv = Dense{2}(x);
  Model<double, cpu> vae{{x}, {Dense{4}(GaussianSample{.name = "z"}({mu, lv}))}, "vae"};
  CHECK_THROWS_WITH(io::onnx_graph_from_model(vae), Catch::Contains("layer 'z' of type GaussianSample") &&
                                                        Catch::Contains("draws random numbers"));
}
