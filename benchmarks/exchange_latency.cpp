// Inference of an imported Keras model against the same network built in C++, in one process,
// in alternating rounds (A B A B ...): the b-tagger of tutorial 13 (examples/13_deploy_exchange,
// a real Keras 3 file), at batch 1 (one allocation-free predict per event, as in an event loop)
// and at batch 1024. The C++-built model is given the imported one's weights and input
// standardisation (Keras' Normalization layers), and the program
// checks that both give bitwise the same scores. It also writes the model as ONNX for
// benchmarks/exchange_onnxruntime.py (the same network in ONNX Runtime); benchmarks/exchange.sh
// runs both and reports ratios of medians.
//   usage: exchange_latency [--rounds R] [--keras FILE] [--onnx FILE to write]
//   lines: RESULT side=imported|built batch=B us_per_call=<median over rounds> events_per_s=...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "hepnn/hepnn.hpp"
#include "timing.hpp"
#include "hepnn/io.hpp"
#include "hepnn/io/onnx.hpp"

using namespace hepnn;

namespace {

/// Microseconds per predict call of `batch` events, over calls that take about 0.3 s in all.
double us_per_call(const Model<float, cpu>& m, const std::vector<float>& jet, const std::vector<float>& trk,
                   std::int64_t batch, std::vector<float>& out) {
  Model<float, cpu>::Workspace ws;
  const std::int64_t n = std::int64_t(jet.size()) / 4;
  auto call = [&](std::int64_t i) {
    const std::int64_t at = (i * batch) % (n - batch + 1);
    m.predict({std::span<const float>(jet.data() + at * 4, std::size_t(batch * 4)),
               std::span<const float>(trk.data() + at * 18, std::size_t(batch * 18))},
              {std::span<float>(out.data(), std::size_t(batch))}, ws);
  };
  call(0);  // the workspace grows once
  std::int64_t calls = 64;
  for (;;) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t i = 0; i < calls; ++i) call(i);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > 0.3) return s / double(calls) * 1e6;
    calls *= s > 0.03 ? std::int64_t(0.35 / s) + 1 : 10;
  }
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  std::string keras = HEPNN_SOURCE_DIR "/examples/13_deploy_exchange/jet_tagger.keras", onnx;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
    else if (a == "--keras") keras = argv[i + 1];
    else if (a == "--onnx") onnx = argv[i + 1];
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  set_num_threads(1);
  const Model<float, cpu> imported = io::load_keras<float>(keras);

  auto jet = Input{"jet", {4}};
  auto trk = Input{"tracks", {6, 3}};
  auto per_track = Flatten{}(Dense{16, Activation::relu}(trk));
  auto z = Dense{32, Activation::relu}(Concatenate{}({Dense{16, Activation::relu}(jet), per_track}));
  Model<float, cpu> built{{jet, trk}, {Dense{.units = 1, .activation = Activation::sigmoid, .name = "btag"}(z)}};
  if (built.num_params() != imported.num_params()) {
    std::fprintf(stderr, "the C++ network has %lld parameters, the Keras file %lld\n", (long long)built.num_params(),
                 (long long)imported.num_params());
    return 1;
  }
  std::copy(imported.parameters().data(), imported.parameters().data() + imported.num_params(),
            built.parameters().data());
  for (const char* in : {"jet", "tracks"})  // Keras' Normalization layers: the inputs' standardisation
    if (!imported.input_transform(in).empty()) built.set_input_transform(in, imported.input_transform(in));
  if (!onnx.empty()) io::save_onnx(imported, onnx);

  // 4096 events of random but plausible inputs (the scores' values do not matter here)
  const std::int64_t n = 4096;
  std::vector<float> xj(std::size_t(n * 4)), xt(std::size_t(n * 18));
  for (std::size_t i = 0; i < xj.size(); ++i) xj[i] = float(philox_normal(1, 0, i));
  for (std::size_t i = 0; i < xt.size(); ++i) xt[i] = float(philox_normal(1, 1, i));
  std::vector<float> a(static_cast<std::size_t>(n)), b(static_cast<std::size_t>(n));
  {
    Model<float, cpu>::Workspace w1, w2;
    imported.predict({std::span<const float>(xj), std::span<const float>(xt)}, {std::span<float>(a)}, w1);
    built.predict({std::span<const float>(xj), std::span<const float>(xt)}, {std::span<float>(b)}, w2);
  }
  const bool bitwise = a == b;
  std::printf("# %s: %lld parameters; imported and C++-built scores bitwise equal: %s; 1 thread\n", keras.c_str(),
              (long long)imported.num_params(), bitwise ? "yes" : "NO");
  for (std::int64_t batch : {1, 1024}) {
    std::vector<double> ti, tb;
    std::vector<float> out(static_cast<std::size_t>(batch));
    for (int r = 0; r < rounds; ++r) {
      ti.push_back(us_per_call(imported, xj, xt, batch, out));
      tb.push_back(us_per_call(built, xj, xt, batch, out));
    }
    for (auto [side, t] : {std::pair{"imported", &ti}, std::pair{"built", &tb}})
      std::printf("RESULT side=%s batch=%lld us_per_call=%.4f events_per_s=%.0f\n", side, (long long)batch,
                  bench::median(*t), double(batch) / bench::median(*t) * 1e6);
    std::printf("# batch %lld: imported / built time = %.3f\n", (long long)batch, bench::median(ti) / bench::median(tb));
  }
  return bitwise ? 0 : 1;
}
