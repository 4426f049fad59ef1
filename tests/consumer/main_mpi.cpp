// Uses the installed hepnn::mpi: a data-parallel fit on the ranks it is started with (one, as a
// plain program) gives the weights of the same fit without a communicator.
#include <hepnn/hepnn.hpp>
#include <hepnn/mpi.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  using namespace hepnn;
  return mpi::run(argc, argv, [&](mpi::Communicator& world) {
    auto train = [](Communicator* c) {
      auto in = Input{"x", {3}};
      Model<double, cpu> m{{in}, {Dense{.units = 1, .name = "y"}(Dense{4, Activation::tanh}(in))}};
      m.compile({.loss = MeanSquaredError{}, .optimizer = Adam{}, .seed = 2});
      std::map<std::string, Tensor<double>> x, y;
      x.emplace("x", Tensor<double>(Shape{40, 3}));
      y.emplace("y", Tensor<double>(Shape{40, 1}));
      for (int i = 0; i < 120; ++i) x.at("x").data()[i] = double(i % 9) / 9.0 - 0.4;
      for (int i = 0; i < 40; ++i) y.at("y").data()[i] = x.at("x").data()[3 * i] * 2.0;
      m.fit(data::NamedDataset<double>(std::move(x), std::move(y)), {.epochs = 3, .batch_size = 8, .verbose = 0,
                                                                      .communicator = c});
      return m.parameters().to_vector();
    };
    const bool same = train(&world) == train(nullptr);
    std::printf("consumer_mpi: %s, %s\n", world.description().c_str(), same ? "same weights" : "DIFFERENT weights");
    return same ? 0 : 1;
  });
}
