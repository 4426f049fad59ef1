// Writes the HDF5 seed corpus of the fuzz targets: small model files and data files.
#include <string>

#include "hepnn/io.hpp"
#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/dropout.hpp"
#include "hepnn/layers/flatten.hpp"
#include "hepnn/layers/merge.hpp"

using namespace hepnn;

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const std::string model_dir = argv[1], data_dir = argv[2];
  Sequential<float> a(Input{3}, Dense{4, Activation::relu}, Dropout{0.1}, Dense{1}, Sigmoid{});
  io::save_model(a, model_dir + "/uncompiled.h5");
  a.compile({.loss = BinaryCrossEntropy{}, .optimizer = Adam{}, .metrics = {metrics::AUC{}}});
  Tensor<float, cpu> x(Shape{8, 3}, 0.25f), y(Shape{8, 1}, {1, 0, 1, 0, 1, 0, 1, 0});
  x(1, 1) = -1.0f;
  a.fit(x, y, {.epochs = 1, .batch_size = 4, .verbose = 0});
  a.set_input_transform({"standardize", {0.f, 1.f, 2.f}, {1.f, 0.5f, 0.25f}});
  History h;
  h.append(0, {{"loss", 0.5}});
  io::save_model(a, model_dir + "/compiled.h5", {.epoch = 0, .history = &h});
  Sequential<double> b(Input{2, 2}, Flatten{}, Dense{3}, LeakyReLU{0.1}, Dense{2}, Softmax{});
  b.compile({.loss = CategoricalCrossEntropy{}, .optimizer = SGD{.momentum = 0.9}});
  io::save_model(b, model_dir + "/images.h5");
  // a functional model: two inputs, a shared layer, a model used as a layer, two outputs
  {
    auto u = Input{"u", {3}};
    Model<float> inner{{u}, {Dense{.units = 2, .activation = Activation::tanh, .name = "inner_dense"}(u)}, "inner"};
    auto p = Input{"p", {3}};
    auto q = Input{"q", {2, 3}};
    Dense shared{.units = 3, .name = "shared"};
    auto z = Concatenate{}({inner(shared(p)), Flatten{}(Dense{2}(q))});
    Model<float> g{{p, q}, {Dense{.units = 1, .name = "cls"}(z), Add{}({shared(shared(p)), p})}, "graph"};
    g.layer("shared").set_trainable(false);
    g.compile({.optimizer = Adam{}, .outputs = {{"cls", {.loss = BinaryCrossEntropy{.from_logits = true}}}}});
    io::save_model(g, model_dir + "/graph.h5", {.epoch = 0, .history = &h});
  }

  Tensor<float, cpu> w(Shape{8}, 2.0f);
  io::write_dataset(data_dir + "/data.h5", data::Dataset<float>(x.clone(), y.clone(), w.clone()));
  io::h5::File f(data_dir + "/columns.h5", io::h5::File::Mode::create);
  const std::vector<double> c{1, 2, 3};
  const std::vector<std::int32_t> l{0, 1, 0};
  f.write<double>("a", {3}, c.data());
  f.write<double>("b", {3}, c.data());
  f.write<std::int32_t>("label", {3}, l.data());
  f.close();
  return 0;
}
