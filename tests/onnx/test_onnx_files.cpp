/// @file tests/onnx/test_onnx_files.cpp
/// `.onnx` files (io/onnx.hpp, the hepnn::onnx component), checked against the frameworks:
/// files written by PyTorch's torch.onnx.export reproduce PyTorch's outputs; the files hepnn
/// writes today are byte for byte the ones ONNX Runtime ran (tests/golden/make_onnx_cases.py) and
/// hepnn's outputs agree with ONNX Runtime's; save_onnx -> load_onnx is bitwise on weights; bad
/// files are errors that name the file.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "hepnn/io.hpp"
#include "hepnn/io/onnx.hpp"
#include "io/onnx_test_models.hpp"

using namespace hepnn;
namespace fs = std::filesystem;

namespace {

const fs::path golden = fs::path(HEPNN_GOLDEN_DIR) / "onnx";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path temp_file(const std::string& name) {
  return fs::temp_directory_path() / ("hepnn-onnx-" + std::to_string(::getpid()) + "-" + name);
}

template <class T>
std::vector<std::vector<T>> json_arrays(const io::json& j, const std::vector<std::string>& names) {
  std::vector<std::vector<T>> v;
  for (const auto& n : names) {
    REQUIRE(j.contains(n));
    v.emplace_back();
    for (double x : j.at(n)) v.back().push_back(T(x));
  }
  return v;
}

/// The models whose exports ONNX Runtime ran (in double: ONNX Runtime's CPU kernels for doubles
/// cover Gemm, Relu, Tanh, Sigmoid but not Elu, Selu or Conv).
template <class T>
Model<T, cpu> export_case(const std::string& name) {
  if (name.rfind("hepnn_mlp", 0) == 0) {
    auto x = Input{"x", {5}};
    Model<T, cpu> m{{x}, {Dense{.units = 1, .activation = Activation::sigmoid, .name = "score"}(
                             Dense{4, Activation::tanh}(Dense{8, Activation::relu}(x)))}, "mlp"};
    onnx_test::randomize(m, 17);
    data::InputTransform<T> t;
    t.kind = "standardize";
    t.shift = {T(0.5), T(-1), T(2), T(0), T(0.25)};
    t.scale = {T(2), T(0.5), T(1), T(4), T(1.5)};
    m.set_input_transform(t);
    return m;
  }
  if (name.rfind("hepnn_tagger_gelu", 0) == 0) return onnx_test::tagger<T>(true);
  if (name.rfind("hepnn_tagger", 0) == 0) return onnx_test::tagger<T>();
  return onnx_test::convnet<T>();
}

template <class T>
void check_against_onnxruntime(const std::string& name) {
  const Model<T, cpu> m = export_case<T>(name);
  const fs::path tmp = temp_file(name + ".onnx");
  io::save_onnx(m, tmp.string());
  const std::int64_t batch = 6;
  if (const char* dir = std::getenv("HEPNN_WRITE_ONNX_CASES")) {  // regenerate (tests/golden/make_onnx_cases.py)
    fs::copy_file(tmp, fs::path(dir) / (name + ".onnx"), fs::copy_options::overwrite_existing);
    const auto xs = onnx_test::inputs(m, batch, 21);
    io::json j{{"batch", batch}, {"inputs", io::json::object()}};
    for (std::size_t k = 0; k < xs.size(); ++k) j["inputs"][m.input_names()[k]] = xs[k];
    std::ofstream(fs::path(dir) / (name + ".inputs.json")) << j.dump();
    WARN("wrote " << name << " to " << dir << "; now run tests/golden/make_onnx_cases.py ort " << dir);
    return;
  }
  const fs::path file = golden / (name + ".onnx");
  REQUIRE(fs::exists(file));
  // the exporter writes today exactly the bytes ONNX Runtime ran
  CHECK(slurp(tmp) == slurp(file));
  fs::remove(tmp);
  const io::json in = io::json::parse(slurp(golden / (name + ".inputs.json")));
  const io::json ort = io::json::parse(slurp(golden / (name + ".ort.json")));
  const auto xs = json_arrays<T>(in.at("inputs"), m.input_names());
  const auto want = json_arrays<T>(ort.at("outputs"), m.output_names());
  const double d = onnx_test::max_relative(onnx_test::outputs(m, xs, in.at("batch").get<std::int64_t>()), want);
  INFO(name << ": hepnn vs " << ort.at("producer").get<std::string>() << ", largest relative difference " << d);
  CHECK(d <= (std::is_same_v<T, float> ? 1e-5 : 1e-8));  // 1e-8: float32 attributes (alpha), see below
  // and the file read back is the same model
  const Model<T, cpu> back = io::load_onnx<T>(file.string());
  CHECK(onnx_test::sorted_weights(back) == onnx_test::sorted_weights(m));
  CHECK(onnx_test::max_relative(onnx_test::outputs(back, xs, in.at("batch").get<std::int64_t>()), want) <=
        (std::is_same_v<T, float> ? 1e-5 : 1e-8));
}

}  // namespace

TEST_CASE("onnx files: PyTorch's torch.onnx.export files reproduce PyTorch", "[onnx]") {
  for (const char* name : {"torch_mlp", "torch_cnn"}) {
    const fs::path file = golden / (std::string(name) + ".onnx");
    REQUIRE(fs::exists(file));
    const io::json ref = io::json::parse(slurp(golden / (std::string(name) + ".json")));
    const std::int64_t batch = ref.at("batch");
    const Model<float, cpu> m = io::load_onnx<float>(file.string());
    const auto xs = json_arrays<float>(ref.at("inputs"), {"x"});
    const auto want = json_arrays<float>(ref.at("outputs"), {"y"});
    const double d = onnx_test::max_relative(onnx_test::outputs(m, xs, batch), want);
    INFO(name << " (" << ref.at("producer").get<std::string>() << "): largest relative difference " << d);
    CHECK(d <= 1e-5);
    // in double: the float weights widened, the same function
    const Model<double, cpu> md = io::load_onnx<double>(file.string());
    CHECK(onnx_test::max_relative(onnx_test::outputs(md, json_arrays<double>(ref.at("inputs"), {"x"}), batch),
                                  json_arrays<double>(ref.at("outputs"), {"y"})) <= 1e-5);
  }
}

TEST_CASE("onnx files: ONNX Runtime runs hepnn's exports with hepnn's outputs", "[onnx]") {
  check_against_onnxruntime<float>("hepnn_tagger_float");
  check_against_onnxruntime<double>("hepnn_mlp_double");
  check_against_onnxruntime<float>("hepnn_tagger_gelu_float");
  check_against_onnxruntime<float>("hepnn_convnet_float");
}

TEMPLATE_TEST_CASE("onnx files: save_onnx then load_onnx is bitwise on weights", "[onnx]", float, double) {
  for (int k = 0; k < 2; ++k) {
    const Model<TestType, cpu> m = k == 0 ? onnx_test::tagger<TestType>() : onnx_test::convnet<TestType>();
    const fs::path tmp = temp_file("round-trip.onnx");
    io::save_onnx(m, tmp.string());
    const Model<TestType, cpu> back = io::load_onnx<TestType>(tmp.string());
    fs::remove(tmp);
    CHECK(onnx_test::sorted_weights(back) == onnx_test::sorted_weights(m));
    const auto xs = onnx_test::inputs(m, 5, 8);
    // ONNX attributes are float32: a double model's LeakyReLU alpha 0.2 comes back as float(0.2)
    CHECK(onnx_test::max_relative(onnx_test::outputs(back, xs, 5), onnx_test::outputs(m, xs, 5)) <=
          (std::is_same_v<TestType, float> ? 1e-6 : 1e-8));
    CHECK(back.input_transform(m.input_names()[0]).shift == m.input_transform(m.input_names()[0]).shift);
  }
}

TEST_CASE("onnx files: bad files are errors naming the file, never a crash", "[onnx]") {
  const fs::path tmp = temp_file("bad.onnx");
  CHECK_THROWS_WITH(io::load_onnx<float>((golden / "no-such-file.onnx").string()),
                    Catch::Contains("cannot open") && Catch::Contains("no-such-file.onnx"));
  std::ofstream(tmp, std::ios::binary).flush();
  CHECK_THROWS_WITH(io::load_onnx<float>(tmp.string()), Catch::Contains("the file is empty"));
  std::ofstream(tmp, std::ios::binary) << "this is not a protobuf message at all \xff\xff\xff\xff";
  CHECK_THROWS_WITH(io::load_onnx<float>(tmp.string()), Catch::Contains("not an ONNX model") && Catch::Contains("bad.onnx"));

  // every truncation of a real file, and random byte changes: a model or a hepnn::Error
  const std::string bytes = slurp(golden / "torch_mlp.onnx");
  int errors = 0, loaded = 0;
  auto attempt = [&](const std::string& b) {
    std::ofstream(tmp, std::ios::binary | std::ios::trunc).write(b.data(), std::streamsize(b.size()));
    try {
      (void)io::load_onnx<float>(tmp.string());
      ++loaded;
    } catch (const Error&) {
      ++errors;
    }
  };
  for (std::size_t n = 0; n < bytes.size(); n += 7) attempt(bytes.substr(0, n));
  std::mt19937 rng(4);
  for (int k = 0; k < 300; ++k) {
    std::string b = bytes;
    for (int f = 0; f < 3; ++f) b[rng() % b.size()] = char(rng());
    attempt(b);
  }
  INFO(loaded << " damaged files loaded, " << errors << " were errors");
  CHECK(errors > 300);

  // an operator hepnn lacks, in a file: named with its node
  io::OnnxGraph g = io::read_onnx_graph((golden / "torch_mlp.onnx").string());
  for (auto& n : g.nodes)
    if (n.op_type == "Tanh") n.op_type = "Cosh";
  io::write_onnx_graph(g, tmp.string());
  CHECK_THROWS_WITH(io::load_onnx<float>(tmp.string()), Catch::Contains("(Cosh)") && Catch::Contains("not supported"));
  g.opset = 11;
  io::write_onnx_graph(g, tmp.string());
  CHECK_THROWS_WITH(io::load_onnx<float>(tmp.string()), Catch::Contains("opset 11"));
  fs::remove(tmp);

  // writing where no file can be: an error, and nothing left behind
  const fs::path nowhere = fs::temp_directory_path() / "hepnn-no-such-directory" / "m.onnx";
  CHECK_THROWS_WITH(io::save_onnx(onnx_test::convnet<float>(), nowhere.string()), Catch::Contains("cannot write"));
  CHECK_FALSE(fs::exists(nowhere.parent_path()));
}
