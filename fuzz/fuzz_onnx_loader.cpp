// libFuzzer target: an ONNX model's bytes through io::onnx_graph_from_bytes and io::model_from_onnx (what
// io::load_onnx does after reading the file). Any input must either load or raise hepnn::Error; a crash, a
// sanitizer report or another exception is a bug. Seeds: the .onnx files of tests/golden/data/onnx (PyTorch's
// and hepnn's exports). Needs libonnx-dev and libprotobuf-dev (fuzz/run.sh skips it without them).
#include <map>
#include <string>

#include "hepnn/io/onnx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto g = hepnn::io::onnx_graph_from_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz input");
    const auto m = hepnn::io::model_from_onnx<float>(g);
    // a model that loads must also run
    std::map<std::string, hepnn::Tensor<float, hepnn::cpu>> x;
    std::int64_t values = 0;
    for (std::size_t k = 0; k < m.num_inputs(); ++k) {
      x.emplace(m.input_names()[k], hepnn::Tensor<float, hepnn::cpu>(m.input_shape(k).with_batch(2), 0.5f));
      values += m.input_shape(k).size();
    }
    if (values <= 4096 && m.num_params_total() <= (1 << 20)) (void)m.predict(x);
  } catch (const hepnn::Error&) {
  }
  return 0;
}
