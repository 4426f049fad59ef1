// libtorch peer of benchmarks/infer_mlp.cpp: the 20-64-64-1 MLP (tanh, tanh, sigmoid), eval mode,
// under torch::NoGradGuard (the fastest plain libtorch inference), batches of 1 to 4096 events.
// The input tensor is made once per batch size with from_blob, as an event loop would wrap its
// feature buffer; the output is read back into a float buffer.
//   usage: torch_infer_mlp [--threads T] [--reps R]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  int threads = 1, reps = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--reps") reps = std::atoi(argv[i + 1]);
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  torch::set_num_threads(threads);
  torch::manual_seed(1);
  torch::nn::Sequential model(torch::nn::Linear(20, 64), torch::nn::Tanh(), torch::nn::Linear(64, 64),
                              torch::nn::Tanh(), torch::nn::Linear(64, 1), torch::nn::Sigmoid());
  model->eval();
  torch::NoGradGuard no_grad;
  const std::int64_t max_batch = 4096;
  std::vector<float> x(std::size_t(max_batch * 20)), out(static_cast<std::size_t>(max_batch));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(double(i)));
  double checksum = 0;
  for (std::int64_t batch : {1, 16, 256, 1024, 4096}) {
    const torch::Tensor xt = torch::from_blob(x.data(), {batch, 20}, torch::kFloat32);
    auto call = [&] {
      const torch::Tensor y = model->forward(xt);
      std::memcpy(out.data(), y.data_ptr<float>(), sizeof(float) * std::size_t(batch));
    };
    call();
    std::int64_t calls = 1;
    for (;;) {
      const auto t0 = std::chrono::steady_clock::now();
      for (std::int64_t c = 0; c < calls; ++c) call();
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >= 0.02) break;
      calls *= 2;
    }
    std::vector<double> per_call;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      for (std::int64_t c = 0; c < calls; ++c) call();
      per_call.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(calls));
      checksum += double(out[0]);
    }
    std::sort(per_call.begin(), per_call.end());
    const double med = per_call[per_call.size() / 2];
    std::printf("RESULT peer=libtorch threads=%d batch=%lld us_per_call=%.4f events_per_s=%.0f\n", threads,
                (long long)batch, med * 1e6, double(batch) / med);
  }
  std::printf("# checksum %.6f\n", checksum);
}
