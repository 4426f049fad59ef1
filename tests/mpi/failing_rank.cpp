/// @file tests/mpi/failing_rank.cpp
/// @brief One rank of a data-parallel fit fails; ctest checks that the job ends (no hang) with a
/// message that names the rank and the cause. `throw`: rank 1's data hold a NaN, so its fit
/// throws while rank 0 waits in a collective; `hang`: rank 1 never calls fit, and rank 0, with a
/// timeout of 1 s, gives up with a message instead of waiting for ever.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>

#include "hepnn/hepnn.hpp"
#include "hepnn/mpi.hpp"

using namespace hepnn;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "throw" && mode != "hang") {
    std::fprintf(stderr, "usage: failing_rank throw|hang (under mpiexec -n 2)\n");
    return 2;
  }
  return mpi::run(
      argc, argv,
      [&](mpi::Communicator& world) {
        Tensor<float, cpu> x(Shape{64, 3}), y(Shape{64, 1}, 1.0f);
        for (std::int64_t i = 0; i < x.size(); ++i) x.data()[i] = float(i % 7) * 0.1f;
        if (world.rank() == 1 && mode == "throw") x(5, 2) = std::nanf("");
        if (world.rank() == 1 && mode == "hang") {
          std::this_thread::sleep_for(std::chrono::seconds(60));  // ended by rank 0's abort long before
          return;
        }
        auto in = Input{"x", {3}};
        Model<float, cpu> model{{in}, {Dense{.units = 1, .name = "p"}(in)}};
        model.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = SGD{}});
        std::map<std::string, Tensor<float, cpu>> xs, ys;
        xs.emplace("x", std::move(x));
        ys.emplace("p", std::move(y));
        const data::NamedDataset<float> d(std::move(xs), std::move(ys));
        model.fit(d, {.epochs = 2, .batch_size = 8, .verbose = 0, .communicator = &world});
        std::printf("rank %d: fit ended normally (the test expected a failure)\n", world.rank());
      },
      mpi::Options{.timeout_seconds = mode == "hang" ? 1.0 : 0.0});
}
