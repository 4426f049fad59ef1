// Uses the installed hepnn::onnx: a small model written as .onnx and read back gives the same
// predictions. Usage: consumer_onnx FILE.onnx
#include <hepnn/hepnn.hpp>
#include <hepnn/io/onnx.hpp>

#include <cmath>
#include <cstdio>

int main(int argc, char** argv) {
  using namespace hepnn;
  if (argc != 2) return 2;
  Sequential<float, cpu> model{Input{3}, Dense{4, Activation::tanh}, Dense{1}};
  Tensor<float> x(Shape{5, 3});
  for (int i = 0; i < 15; ++i) x.data()[i] = float(i % 7) / 7.0f - 0.4f;
  io::save_onnx(model, argv[1]);
  const Model<float, cpu> back = io::load_onnx<float>(argv[1]);
  const Tensor<float> a = model.predict(x), b = back.predict(x);
  double diff = 0;
  for (std::int64_t i = 0; i < a.size(); ++i) diff = std::fmax(diff, std::fabs(a.data()[i] - b.data()[i]));
  std::printf("consumer_onnx: %s written and read back, max |difference| %.1e\n", argv[1], diff);
  return diff < 1e-6 ? 0 : 1;
}
