// CPU-vs-GPU throughput table: milliseconds per batch, milliseconds per event and events/s of
// inference (predict(span, span, Workspace&), host inputs to host outputs) and training
// (train_on_batch: forward, loss, backward, Adam) of the 784-500-300-10 MLP and of the CNN of
// benchmarks/train_cnn.cpp, against batch size, on the CPU at each thread count and on the GPU.
// benchmarks/peers/torch_gpu_table.py prints the same table for PyTorch eager.
//
//   usage: gpu_table [--device cpu|cuda|all] [--threads 1,2] [--batches 1,4,16,128,512,1024,4096]
//                    [--repeats 7] [--model mlp|cnn|all] [--mode infer|train|all] [--min-ms 20] [--tf32]
//
// Each row: warm-up calls (untimed), then `repeats` timed repeats of `calls` calls each (calls
// chosen so that a repeat lasts about --min-ms); the row is the median over repeats of the
// time per call. CPU rows are timed with std::chrono::steady_clock, GPU rows with CUDA events
// on hepnn's stream around each repeat (predict and train_on_batch return once their results
// are on the host, so this is the wall time of the calls). Inputs are random (fixed seed):
// the throughput does not depend on the values.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hepnn/backend/cuda/api.hpp"
#include "hepnn/hepnn.hpp"
#include "timing.hpp"

namespace {

using namespace hepnn;
namespace gpu = hepnn::backend::cuda;

struct Options {
  std::string device = "all", model = "all", mode = "all";
  std::vector<int> threads = {1, 2};
  std::vector<std::int64_t> batches = {1, 4, 16, 128, 512, 1024, 4096};
  int repeats = 7;
  double min_ms = 20;
  bool tf32 = false;
};

template <class I>
std::vector<I> parse_list(const std::string& s) {
  std::vector<I> v;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const long long x = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || x <= 0) throw Error(detail::concat("not a list of positive integers: '", s, "'"));
    v.push_back(I(x));
  }
  if (v.empty()) throw Error(detail::concat("empty list: '", s, "'"));
  return v;
}

void usage() {
  std::fprintf(stderr,
               "usage: gpu_table [--device cpu|cuda|all] [--threads 1,2] [--batches 1,4,16,128,512,1024,4096]\n"
               "                 [--repeats 7] [--model mlp|cnn|all] [--mode infer|train|all] [--min-ms 20] [--tf32]\n");
}

bool one_of(const std::string& v, std::initializer_list<const char*> allowed) {
  return std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return v == a; });
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--tf32") {
      o.tf32 = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      usage();
      std::exit(0);
    }
    if (i + 1 >= argc) throw Error(detail::concat("option ", a, " needs a value"));
    const std::string v = argv[++i];
    if (a == "--device" && one_of(v, {"cpu", "cuda", "all"})) o.device = v;
    else if (a == "--model" && one_of(v, {"mlp", "cnn", "all"})) o.model = v;
    else if (a == "--mode" && one_of(v, {"infer", "train", "all"})) o.mode = v;
    else if (a == "--threads") o.threads = parse_list<int>(v);
    else if (a == "--batches") o.batches = parse_list<std::int64_t>(v);
    else if (a == "--repeats") o.repeats = parse_list<int>(v).at(0);
    else if (a == "--min-ms") o.min_ms = std::atof(v.c_str());
    else throw Error(detail::concat("unknown option or value: ", a, " ", v));
  }
  return o;
}

// ---- models and data ----

template <class Device>
std::unique_ptr<Sequential<float, Device>> make_model(const std::string& which) {
  std::unique_ptr<Sequential<float, Device>> m;
  if (which == "mlp") {
    m = std::make_unique<Sequential<float, Device>>(Input{784}, Dropout{0.2}, Dense{500, Activation::relu},
                                                    Dropout{0.5}, Dense{300, Activation::relu}, Dropout{0.5},
                                                    Dense{10});
  } else {
    m = std::make_unique<Sequential<float, Device>>(
        Input{1, 28, 28},
        Conv2D{.filters = 32, .kernel_size = 5, .padding = Padding::same, .activation = Activation::relu},
        MaxPool2D{.pool_size = 2},
        Conv2D{.filters = 64, .kernel_size = 5, .padding = Padding::same, .activation = Activation::relu},
        MaxPool2D{.pool_size = 2}, Flatten{}, Dense{.units = 128, .activation = Activation::relu},
        Dropout{.rate = 0.5}, Dense{.units = 10});
  }
  m->compile({.loss = CategoricalCrossEntropy{.from_logits = true}, .optimizer = Adam{.learning_rate = 1e-3},
              .seed = 1});
  return m;
}

/// Two batches of random images in [0, 1) (shape (B, 784) for the MLP, (B, 1, 28, 28) for the
/// CNN) with random labels 0..9, used in turn.
std::vector<data::Dataset<float>> random_batches(const std::string& model, std::int64_t B) {
  std::vector<data::Dataset<float>> out;
  for (std::uint64_t s = 0; s < 2; ++s) {
    Tensor<float> x(model == "mlp" ? Shape{B, 784} : Shape{B, 1, 28, 28}), y(Shape{B, 1});
    std::vector<std::uint32_t> bits(static_cast<std::size_t>(x.size()));
    philox_fill_u32(1, s, 0, x.size(), bits.data());
    for (std::int64_t i = 0; i < x.size(); ++i) x.data()[i] = float(bits[std::size_t(i)] >> 8) * (1.0f / 16777216.0f);
    for (std::int64_t i = 0; i < B; ++i) y.data()[i] = float(philox_u32(2, s, std::uint64_t(i)) % 10);
    out.emplace_back(std::move(x), std::move(y));
  }
  return out;
}

// ---- timing ----

/// Times `calls` calls of f in milliseconds: steady_clock on the CPU, CUDA events on the GPU.
template <class Device>
class Timer {
 public:
  template <class F>
  double ms(int calls, F&& f) {
    if constexpr (std::is_same_v<Device, cuda>) {
      m_start->record();
      for (int c = 0; c < calls; ++c) f();
      m_stop->record();
      m_stop->synchronize();
      return double(gpu::Event::elapsed_ms(*m_start, *m_stop));
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      for (int c = 0; c < calls; ++c) f();
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  Timer() {
    if constexpr (std::is_same_v<Device, cuda>) {
      m_start.emplace();
      m_stop.emplace();
    }
  }

 private:
  std::optional<gpu::Event> m_start, m_stop;
};

struct Row {
  double ms_per_batch;
  int calls;
};

/// cudaMalloc calls made inside timed repeats, over all cuda rows (0 when the caching
/// allocator serves every call after the warm-up).
std::size_t timed_device_mallocs = 0;

/// Warm-up (at least two calls, so every input buffer has been used, and at least ~min_ms),
/// then `repeats` repeats of `calls` calls each; the median time per call.
template <class Device, class F>
Row measure(const Options& o, F&& f) {
  Timer<Device> timer;
  double last = timer.ms(1, f);
  double warm = last;
  for (int w = 1; w < 2 || (warm < o.min_ms && w < 50); ++w) {
    last = timer.ms(1, f);
    warm += last;
  }
  const int calls = std::clamp(int(o.min_ms / std::max(last, 1e-3)) + 1, 1, 10000);
  std::size_t mallocs = 0;
  if constexpr (std::is_same_v<Device, cuda>) mallocs = gpu::memory_stats().device_mallocs;
  std::vector<double> per_call;
  for (int r = 0; r < o.repeats; ++r) per_call.push_back(timer.ms(calls, f) / calls);
  if constexpr (std::is_same_v<Device, cuda>) timed_device_mallocs += gpu::memory_stats().device_mallocs - mallocs;
  return {bench::median(per_call), calls};
}

void print_row(const char* model, const char* mode, const char* device, const std::string& threads, std::int64_t B,
               const Options& o, const Row& r) {
  std::printf("hepnn,%s,%s,%s,%s,%lld,%.5f,%.6f,%.1f,%d,%d,%s\n", model, mode, device, threads.c_str(),
              static_cast<long long>(B), r.ms_per_batch, r.ms_per_batch / double(B), 1e3 * double(B) / r.ms_per_batch,
              o.repeats, r.calls, std::strcmp(device, "cuda") == 0 ? "cuda_event" : "steady_clock");
  std::fflush(stdout);
}

template <class Device>
void run_device(const Options& o, const std::string& threads) {
  const char* device = std::is_same_v<Device, cuda> ? "cuda" : "cpu";
  for (const char* model : {"mlp", "cnn"}) {
    if (o.model != "all" && o.model != model) continue;
    auto net = make_model<Device>(model);
    const std::int64_t in_row = 784, out_row = 10;
    for (std::int64_t B : o.batches) {
      const std::vector<data::Dataset<float>> batches = random_batches(model, B);
      if (o.mode != "train") {
        typename Sequential<float, Device>::Workspace ws;
        std::vector<float> out(std::size_t(B * out_row));
        std::size_t i = 0;
        const Row r = measure<Device>(o, [&] {
          const Tensor<float>& x = batches[i++ % 2].features();
          net->predict(std::span<const float>(x.data(), std::size_t(B * in_row)), std::span<float>(out), ws);
        });
        print_row(model, "infer", device, threads, B, o, r);
      }
      if (o.mode != "infer") {
        std::size_t i = 0;
        double sink = 0;
        const Row r = measure<Device>(o, [&] { sink += net->train_on_batch(batches[i++ % 2]); });
        if (!std::isfinite(sink)) std::fprintf(stderr, "warning: non-finite training loss (%s, batch %lld)\n", model,
                                                static_cast<long long>(B));
        print_row(model, "train", device, threads, B, o, r);
      }
    }
  }
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string env_settings() {
  std::string s;
  for (const char* name : {"OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES", "OPENBLAS_NUM_THREADS",
                           "OPENBLAS_CORETYPE", "CUDA_VISIBLE_DEVICES"})
    if (const char* v = std::getenv(name)) s += detail::concat(name, "=", v, " ");
  return s.empty() ? "none of OMP_*, OPENBLAS_*, CUDA_VISIBLE_DEVICES set" : s;
}

void header(const Options& o, bool want_gpu, bool have_gpu) {
  std::printf("# gpu_table: hepnn %s, compiler %s\n", hepnn_version, __VERSION__);
  if (have_gpu)
    std::printf("# gpu: %s, TF32 %s; cuda rows with hepnn's default CPU thread setting (%d) for host-side work\n",
                gpu::device_name().c_str(), gpu::tf32() ? "on (tensor cores)" : "off (plain FP32)", num_threads());
  else if (want_gpu)
    std::printf("# gpu: none (no CUDA GPU): the cuda rows are skipped\n");
  else
    std::printf("# gpu: not asked for (--device cpu)\n");
  std::printf("# cpu: %s, %u hardware threads\n", cpu_model().c_str(), std::thread::hardware_concurrency());
#if defined(_OPENMP)
  const char* omp = "OpenMP";
#else
  const char* omp = "no OpenMP (one thread whatever --threads says)";
#endif
#if defined(HEPNN_USE_OPENBLAS)
  const char* blas = "OpenBLAS through cblas (set to one thread; hepnn splits the products itself)";
#else
  const char* blas = "Eigen (no OpenBLAS)";
#endif
  std::printf("# hepnn cpu: %s, products: %s, cpu rows at threads", omp, blas);
  for (int t : o.threads) std::printf(" %d", t);
  std::printf("\n# env: %s\n", env_settings().c_str());
  std::printf("# models: mlp = 784-500(relu)-300(relu)-10 with dropout 0.2/0.5/0.5; cnn = conv 5x5x32 same relu, "
              "maxpool 2, conv 5x5x64 same relu, maxpool 2, dense 128 relu, dropout 0.5, dense 10; "
              "categorical cross-entropy from logits, Adam 1e-3\n");
  std::printf("# infer = predict(span, span, Workspace&) host -> host; train = train_on_batch (host batch, "
              "forward, loss, backward, Adam step, loss returned)\n");
  std::printf("# timing: median over %d repeats of >= %.0f ms each (calls = calls per repeat), after warm-up; "
              "cpu: steady_clock; cuda: CUDA events on hepnn's stream\n",
              o.repeats, o.min_ms);
  std::printf("# inputs: random (Philox, fixed seed), labels random in 0..9\n");
  std::printf("peer,model,mode,device,threads,batch,ms_per_batch,ms_per_event,events_per_s,repeats,calls,timer\n");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "gpu_table: %s\n", e.what());
    usage();
    return 2;
  }
  const bool want_gpu = o.device != "cpu";
  const bool have_gpu = want_gpu && gpu::available();
  if (have_gpu) gpu::set_tf32(o.tf32);
  header(o, want_gpu, have_gpu);
  if (want_gpu && !have_gpu) std::fprintf(stderr, "gpu_table: no CUDA GPU: the cuda rows are skipped\n");
  const int default_threads = num_threads();
  try {
    if (o.device != "cuda")
      for (int t : o.threads) {
        set_num_threads(t);
        run_device<cpu>(o, std::to_string(t));
      }
    set_num_threads(default_threads);  // host-side work of the cuda rows: hepnn's default, as in a program
    if (have_gpu) {
      run_device<cuda>(o, "-");
      std::printf("# cuda: %zu cudaMalloc calls inside the timed repeats (after each row's warm-up)\n",
                  timed_device_mallocs);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "gpu_table: %s\n", e.what());
    return 1;
  }
  return 0;
}
