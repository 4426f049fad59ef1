// libFuzzer target: io::load_keras on arbitrary file contents (Keras .h5 files and .keras ZIP archives). Any input must
// either load or raise hepnn::Error; a crash, a sanitizer report or another exception is a bug. Seeds: the real Keras
// files of tests/golden/data/keras.
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>

#include "hepnn/io/keras.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/hepnn_fuzz_keras_" + std::to_string(::getpid()) + ".bin";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    const auto m = hepnn::io::load_keras<float>(path);
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
