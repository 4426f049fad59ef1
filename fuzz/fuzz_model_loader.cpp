// libFuzzer target: the model loaders (Sequential and functional) on arbitrary file contents. Any input must either load or
// raise hepnn::Error; a crash, a sanitizer report or another exception is a bug.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "hepnn/io/graph_file.hpp"
#include "hepnn/io/model_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/hepnn_fuzz_model_" + std::to_string(::getpid()) + ".h5";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    const auto m = hepnn::io::load_model<float>(path);
    // a model that loads must also run
    hepnn::Tensor<float, hepnn::cpu> x(m.input_shape().with_batch(2), 0.5f);
    if (m.input_shape().size() <= 4096) (void)m.predict(x);
  } catch (const hepnn::Error&) {
  }
  try {
    const auto m = hepnn::io::load_functional_model<float>(path);
    std::map<std::string, hepnn::Tensor<float, hepnn::cpu>> x;
    std::int64_t size = 0;
    for (std::size_t k = 0; k < m.num_inputs(); ++k) {
      x.emplace(m.input_names()[k], hepnn::Tensor<float, hepnn::cpu>(m.input_shape(k).with_batch(2), 0.5f));
      size += m.input_shape(k).size();
    }
    if (size <= 4096) (void)m.predict(x);
  } catch (const hepnn::Error&) {
  }
  try {
    (void)hepnn::io::read_model_info(path);
  } catch (const hepnn::Error&) {
  }
  return 0;
}
