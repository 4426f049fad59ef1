/// @file tests/mpi/nccl_one_gpu.cpp
/// @brief hepnn::nccl on the GPUs there are (ctest: mpiexec -n 1; exit 77, SKIPPED, without a GPU).
/// The truth: a sum over one rank is the input, bit for bit, in float and double, through NCCL on
/// device memory; and a GPU Model trained with the NCCL communicator over one rank ends with the
/// weights of the same training without it (one rank: the fit is the single-process fit).
/// With several GPUs, run it with mpiexec -n <GPUs>: the sums are then checked against n times
/// the input.
#include <cstdio>
#include <vector>

#include "hepnn/hepnn.hpp"
#include "hepnn/nccl.hpp"

using namespace hepnn;

int main(int argc, char** argv) {
  return mpi::run(argc, argv, [&](mpi::Communicator& world) {
    if (!backend::cuda::available()) {  // (inside MPI: the job ends normally, with status 77)
      std::printf("SKIPPED: no CUDA GPU, hepnn::nccl compiled and linked but not run\n");
      return 77;
    }
    nccl::Communicator gpus(world);
    int failures = 0;
    auto expect = [&](bool ok, const char* what) {
      if (!ok) ++failures, std::printf("rank %d: FAILED: %s\n", world.rank(), what);
    };
    std::printf("rank %d: %s\n", world.rank(), gpus.description().c_str());
    {
      std::vector<float> h(1000);
      for (std::size_t i = 0; i < h.size(); ++i) h[i] = 0.25f * float(i) - 3.f;
      Tensor<float, cuda> d(Shape{1000});
      backend::cuda::copy_host_to_device(d.data(), h.data(), sizeof(float) * h.size());
      gpus.allreduce_sum_device(d.data(), d.size());
      std::vector<float> back = d.to_vector();
      bool ok = true;
      for (std::size_t i = 0; i < h.size(); ++i) ok = ok && back[i] == h[i] * float(world.size());
      expect(ok, "float sum of device buffers");
    }
    {
      std::vector<double> h = {1e-300, -2.5, 3.0, 1e300};
      Tensor<double, cuda> d(Shape{4});
      backend::cuda::copy_host_to_device(d.data(), h.data(), sizeof(double) * h.size());
      gpus.allreduce_sum_device(d.data(), d.size());
      const std::vector<double> back = d.to_vector();
      expect(world.size() > 1 || back == h, "double sum of device buffers");
    }
    if (world.size() == 1) {
      Tensor<float> x(Shape{256, 4}), y(Shape{256, 1});
      for (std::int64_t i = 0; i < 256; ++i) {
        for (std::int64_t j = 0; j < 4; ++j) x(i, j) = float((i * 7 + j * 3) % 11) * 0.1f - 0.5f;
        y(i, 0) = x(i, 0) + x(i, 1) > 0 ? 1.f : 0.f;
      }
      auto train = [&](Communicator* c) {
        auto in = Input{"x", {4}};
        Model<float, cuda> m{{in}, {Dense{.units = 1, .name = "p"}(Dense{8, Activation::tanh}(in))}};
        m.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{}, .seed = 5});
        std::map<std::string, Tensor<float>> xs, ys;
        xs.emplace("x", x.clone());
        ys.emplace("p", y.clone());
        m.fit(data::NamedDataset<float>(std::move(xs), std::move(ys)),
              {.epochs = 2, .batch_size = 32, .verbose = 0, .communicator = c});
        return m.parameters().to_vector();
      };
      expect(train(&gpus) == train(nullptr), "a one-rank NCCL fit equals the plain fit");
    }
    std::printf("rank %d: %s\n", world.rank(), failures ? "FAILED" : "passed");
    return failures ? 1 : 0;
  });
}
