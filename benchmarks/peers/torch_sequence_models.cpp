// libtorch peer of benchmarks/sequence_models.cpp: the same two models, shapes and measurements.
//   lstm         torch::nn::LSTM(6 -> 64, batch_first), its last state, Linear(64 -> 1)
//   transformer  Linear(6 -> 64), one pre-norm encoder block written from torch::nn modules
//                (LayerNorm, MultiheadAttention with 4 heads, LayerNorm, Linear 128, ReLU,
//                Linear 64, two residual sums: hepnn's TransformerEncoderBlock), mean over the
//                tracks, Linear(64 -> 1). libtorch 1.13's C++ TransformerEncoderLayer has no
//                pre-norm option, hence the modules.
// Training: BCE with logits, Adam(1e-3). Inference: eval mode under NoGradGuard, the input
// wrapped with from_blob and the output copied out, as an event loop would.
//   usage: torch_sequence_models --model lstm|transformer [--threads T] [--reps R]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "../timing.hpp"

namespace {

constexpr std::int64_t L = 15, F = 6, H = 64, batch = 256;

struct LstmNetImpl : torch::nn::Module {
  LstmNetImpl()
      : lstm(register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(F, H).batch_first(true)))),
        head(register_module("head", torch::nn::Linear(H, 1))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    auto out = lstm->forward(x);
    return head->forward(std::get<0>(std::get<1>(out))[0]);  // h_n of the one layer: (batch, H)
  }
  torch::nn::LSTM lstm;
  torch::nn::Linear head;
};
TORCH_MODULE(LstmNet);

struct EncoderNetImpl : torch::nn::Module {
  EncoderNetImpl()
      : embed(register_module("embed", torch::nn::Linear(F, H))),
        norm1(register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({H})))),
        attention(register_module("attention", torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(H, 4)))),
        norm2(register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({H})))),
        ff1(register_module("ff1", torch::nn::Linear(H, 2 * H))),
        ff2(register_module("ff2", torch::nn::Linear(2 * H, H))),
        head(register_module("head", torch::nn::Linear(H, 1))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = embed->forward(x).transpose(0, 1);  // (L, batch, H): the C++ module's layout
    auto a = norm1->forward(h);
    h = h + std::get<0>(attention->forward(a, a, a));
    h = h + ff2->forward(torch::relu(ff1->forward(norm2->forward(h))));
    return head->forward(h.mean(0));
  }
  torch::nn::Linear embed;
  torch::nn::LayerNorm norm1;
  torch::nn::MultiheadAttention attention;
  torch::nn::LayerNorm norm2;
  torch::nn::Linear ff1, ff2, head;
};
TORCH_MODULE(EncoderNet);

template <class Net>
void run(Net net, const std::string& which, int threads, int reps) {
  std::vector<float> x(static_cast<std::size_t>(batch * L * F)), y(static_cast<std::size_t>(batch)),
      out(static_cast<std::size_t>(batch));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(double(i)));
  for (std::int64_t i = 0; i < batch; ++i) y[std::size_t(i)] = float(i % 2);
  const torch::Tensor xt = torch::from_blob(x.data(), {batch, L, F}, torch::kFloat32);
  const torch::Tensor yt = torch::from_blob(y.data(), {batch, 1}, torch::kFloat32);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  auto report = [&](const char* task, std::int64_t b, double s) {
    std::printf("RESULT peer=libtorch model=%s threads=%d task=%s batch=%lld us_per_call=%.3f events_per_s=%.0f\n",
                which.c_str(), threads, task, (long long)b, s * 1e6, double(b) / s);
  };
  net->train();
  report("train", batch, bench::median_seconds(
                             [&] {
                               opt.zero_grad();
                               torch::binary_cross_entropy_with_logits(net->forward(xt), yt).backward();
                               opt.step();
                             },
                             reps, 0.2));
  net->eval();
  torch::NoGradGuard no_grad;
  for (std::int64_t b : {batch, std::int64_t(1)}) {
    const torch::Tensor xb = torch::from_blob(x.data(), {b, L, F}, torch::kFloat32);
    report("infer", b, bench::median_seconds(
                           [&] {
                             const torch::Tensor o = net->forward(xb).contiguous();
                             std::memcpy(out.data(), o.data_ptr<float>(), sizeof(float) * std::size_t(b));
                           },
                           reps, 0.02));
  }
  std::printf("# checksum %.6f\n", double(out[0]));
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, reps = 5;
  std::string which = "lstm";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--reps") reps = std::atoi(argv[i + 1]);
    else if (a == "--model") which = argv[i + 1];
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  torch::set_num_threads(threads);
  torch::manual_seed(1);
  if (which == "lstm") run(LstmNet(), which, threads, reps);
  else if (which == "transformer") run(EncoderNet(), which, threads, reps);
  else { std::fprintf(stderr, "--model must be lstm or transformer\n"); return 2; }
}
