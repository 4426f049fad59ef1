// Inference benchmark: the 20-64-64-1 MLP (tanh, tanh, sigmoid) of an event-level classifier,
// called with batches of 1, 16, 256, 1024 and 4096 events through the allocation-free
// predict(span, span, Workspace&) of Sequential (default) or of the same net as a functional
// Model (--api model). For each batch size: median over `--reps` repetitions of the time per
// call, each repetition timing enough calls to last >= 20 ms.
//   usage: infer_mlp [--threads T] [--reps R] [--api sequential|model]
// Output lines (benchmarks/compare.py and benchmarks/infer_chunks.sh read them):
//   RESULT peer=hepnn threads=T batch=B us_per_call=... events_per_s=...
// Built twice (benchmarks/CMakeLists.txt): infer_mlp, and infer_mlp_unchunked with the
// inference pass in one piece (HEPNN_INFERENCE_CHUNK_ROWS beyond any batch), the baseline of
// benchmarks/infer_chunks.sh.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "hepnn/hepnn.hpp"

using namespace hepnn;

template <class M>
int run(const M& model, int threads, int reps) {
  typename M::Workspace ws;
  const std::int64_t max_batch = 4096;
  std::vector<float> x(std::size_t(max_batch * 20)), out(static_cast<std::size_t>(max_batch));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(philox_normal(7, 0, i));
  double checksum = 0;
  for (std::int64_t batch : {1, 16, 256, 1024, 4096}) {
    const std::span<const float> xs(x.data(), std::size_t(batch * 20));
    const std::span<float> os(out.data(), std::size_t(batch));
    model.predict(xs, os, ws);  // warm-up: sizes the workspace
    std::int64_t calls = 1;
    for (;;) {  // calls per repetition: enough for >= 20 ms
      const auto t0 = std::chrono::steady_clock::now();
      for (std::int64_t c = 0; c < calls; ++c) model.predict(xs, os, ws);
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >= 0.02) break;
      calls *= 2;
    }
    std::vector<double> per_call;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      for (std::int64_t c = 0; c < calls; ++c) model.predict(xs, os, ws);
      per_call.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(calls));
      checksum += double(out[0]);
    }
    std::sort(per_call.begin(), per_call.end());
    const double med = per_call[per_call.size() / 2];
    std::printf("RESULT peer=hepnn threads=%d batch=%lld us_per_call=%.4f events_per_s=%.0f\n", threads,
                (long long)batch, med * 1e6, double(batch) / med);
  }
  std::printf("# checksum %.6f\n", checksum);
  return 0;
}

int main(int argc, char** argv) {
  int threads = 1, reps = 7;
  std::string api = "sequential";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--reps") reps = std::atoi(argv[i + 1]);
    else if (a == "--api") api = argv[i + 1];
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  set_num_threads(threads);
  if (api == "sequential")
    return run(Sequential<float>(Input{20}, Dense{64, Activation::tanh}, Dense{64, Activation::tanh},
                                 Dense{1, Activation::sigmoid}),
               threads, reps);
  if (api == "model") {
    auto x = Input{"x", {20}};
    const Model<float, cpu> m{{x}, {Dense{1, Activation::sigmoid}(Dense{64, Activation::tanh}(Dense{64, Activation::tanh}(x)))}};
    return run(m, threads, reps);
  }
  std::fprintf(stderr, "--api: sequential or model, not %s\n", api.c_str());
  return 2;
}
