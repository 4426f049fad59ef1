// Sequence models against libtorch (benchmarks/peers/torch_sequence_models.cpp, the same shapes):
// jets of 15 tracks x 6 features, hidden size 64, batch 256.
//   lstm         LSTM(6 -> 64), its last state, Dense(64 -> 1)
//   transformer  Dense(6 -> 64), one pre-norm encoder block (4 heads of 16, feed-forward 128,
//                ReLU), mean over the tracks, Dense(64 -> 1)
// No masks (every track real), as the peer's plain nn.LSTM and attention without padding.
// Measured, each as the median over --reps repetitions that each last >= 0.2 s (training) or
// >= 20 ms (inference):
//   train   one training step (forward, backward, Adam) on a batch of 256 jets: samples/s
//   infer   Model::predict over spans with a Workspace, batches of 256 and of 1 jet: events/s
//           and microseconds per call
//   usage: sequence_models --model lstm|transformer [--threads T] [--reps R]
// Output lines (benchmarks/compare.py reads them):
//   RESULT peer=hepnn model=M threads=T task=train|infer batch=B us_per_call=... events_per_s=...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hepnn/hepnn.hpp"
#include "timing.hpp"

using namespace hepnn;

namespace {

constexpr std::int64_t L = 15, F = 6, H = 64, batch = 256;

Model<float, cpu> make(const std::string& which) {
  auto x = Input{"tracks", {L, F}};
  SymbolicTensor out;
  if (which == "lstm") {
    out = Dense{1}(LSTM{.units = H}(x));
  } else {
    auto h = Dense{H}(x);
    h = TransformerEncoderBlock{.num_heads = 4, .ff_dim = 2 * H}(h);
    out = Dense{1}(GlobalAveragePooling1D{}(h));
  }
  Model<float, cpu> m{{x}, {out}, which};
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-3}, .seed = 1});
  return m;
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
  if (which != "lstm" && which != "transformer") {
    std::fprintf(stderr, "--model must be lstm or transformer\n");
    return 2;
  }
  set_num_threads(threads);
  Model<float, cpu> m = make(which);
  std::map<std::string, Tensor<float>> in, tg;
  Tensor<float> x(Shape{batch, L, F}), y(Shape{batch, 1});
  for (std::int64_t i = 0; i < x.size(); ++i) x.data()[i] = float(philox_normal(7, 0, std::uint64_t(i)));
  for (std::int64_t i = 0; i < batch; ++i) y(i, 0) = float(i % 2);
  in.emplace("tracks", x.clone());
  tg.emplace(m.output_names()[0], y.clone());
  const data::NamedDataset<float> d(std::move(in), std::move(tg));
  auto report = [&](const char* task, std::int64_t b, double s) {
    std::printf("RESULT peer=hepnn model=%s threads=%d task=%s batch=%lld us_per_call=%.3f events_per_s=%.0f\n",
                which.c_str(), threads, task, (long long)b, s * 1e6, double(b) / s);
  };
  report("train", batch, bench::median_seconds([&] { m.train_on_batch(d); }, reps, 0.2));
  Model<float, cpu>::Workspace ws;
  std::vector<float> out(static_cast<std::size_t>(batch));
  for (std::int64_t b : {batch, std::int64_t(1)}) {
    const std::span<const float> xs[1] = {std::span<const float>(x.data(), std::size_t(b * L * F))};
    const std::span<float> os[1] = {std::span<float>(out.data(), std::size_t(b))};
    report("infer", b, bench::median_seconds([&] { m.predict(xs, os, ws); }, reps, 0.02));
  }
  std::printf("# checksum %.6f\n", double(out[0]));
}
