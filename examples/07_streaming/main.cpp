// Tutorial 07: training from a file larger than the reader's memory budget.
//
//   1. write a large training file chunk by chunk (the generator never holds it whole)
//   2. shuffle it out of core (two-pass bucket shuffle, contiguous reads and writes only)
//   3. train from it with io::StreamingSource: chunks are read on a background thread and
//      shuffled within a window of several chunks; the row buffers stay within the budget
//   4. report the reader's peak buffer bytes and the process's peak resident memory
// Usage: 07_streaming [events, default 1000000] [budget MiB, default 8] [output directory, default "."]
// With the environment variable HEPNN_TUTORIAL_SMALL=1 the defaults are 100000 events and a
// 1 MiB budget (a quick check, as the tests run it); arguments given still win.
// See docs/tutorial-07-streaming.md.
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "hepnn/hepnn.hpp"
#include "hepnn/io.hpp"
#include "hepnn/plot.hpp"

using namespace hepnn;

namespace {
constexpr std::int64_t kFeatures = 8;

/// Event i: signal (label 1) for odd i, background for even i; signal is shifted in every feature.
void fill_rows(std::int64_t first, std::int64_t rows, std::vector<float>& x, std::vector<float>& y, std::vector<float>& w) {
  x.resize(std::size_t(rows * kFeatures));
  y.resize(std::size_t(rows));
  w.resize(std::size_t(rows));
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t i = first + r;
    const bool sig = i % 2 == 1;
    for (std::int64_t j = 0; j < kFeatures; ++j)
      x[std::size_t(r * kFeatures + j)] =
          float(philox_normal(99, std::uint64_t(i), std::uint64_t(j)) + (sig ? 0.3 * double(j % 3) : 0.0));
    y[std::size_t(r)] = sig ? 1.f : 0.f;
    w[std::size_t(r)] = 1.f;
  }
}

double maxrss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}
}  // namespace

int main(int argc, char** argv) {
  try {
    const char* small_env = std::getenv("HEPNN_TUTORIAL_SMALL");
    const bool small = small_env && *small_env && std::string_view(small_env) != "0";
    const std::int64_t events = argc > 1 ? std::atoll(argv[1]) : small ? 100000 : 1000000;
    const std::int64_t budget = (argc > 2 ? std::atoll(argv[2]) : small ? 1 : 8) << 20;
    if (small) std::printf("HEPNN_TUTORIAL_SMALL: defaults of 100000 events and a 1 MiB budget\n");
    const std::filesystem::path out = argc > 3 ? argv[3] : ".";
    std::filesystem::create_directories(out);
    const std::string raw = (out / "stream_raw.h5").string(), shuffled = (out / "stream_shuffled.h5").string();

    // 1. write the file in slices of 65536 events
    {
      io::h5::File f(raw, io::h5::File::Mode::create);
      f.write<float>("features", {events, kFeatures}, nullptr, 16384);
      f.write<float>("targets", {events, 1}, nullptr, 16384);
      f.write<float>("weights", {events}, nullptr, 16384);
      std::vector<float> x, y, w;
      for (std::int64_t r = 0; r < events; r += 65536) {
        const std::int64_t n = std::min<std::int64_t>(65536, events - r);
        fill_rows(r, n, x, y, w);
        f.write_rows<float>("features", r, n, x.data());
        f.write_rows<float>("targets", r, n, y.data());
        f.write_rows<float>("weights", r, n, w.data());
      }
      f.close();
    }
    const double data_mib = double(events * (kFeatures + 2) * 4) / 1048576.0;
    std::printf("wrote %lld events (%.1f MiB of data) to %s; memory budget of the readers: %.1f MiB\n",
                (long long)events, data_mib, raw.c_str(), double(budget) / 1048576.0);

    // 2. out-of-core shuffle (the file is written in class order: odd/even, and a real one is
    //    often sorted by process or run)
    const int buckets = io::shuffle_file<float>(raw, shuffled,
                                                {.weights = "weights", .memory_budget_bytes = budget, .seed = 1});
    std::printf("shuffled into %s through %d buckets\n", shuffled.c_str(), buckets);
    std::filesystem::remove(raw);

    // 3. train from the stream
    io::StreamingSource<float> source(shuffled, {.weights = "weights", .memory_budget_bytes = budget,
                                                 .window_chunks = 4, .prefetch_chunks = 2, .seed = 2});
    std::printf("streaming in chunks of %lld rows\n", (long long)source.chunk_rows());
    Sequential<float> model(Input{kFeatures}, Dense{32, Activation::relu}, Dense{16, Activation::relu},
                            Dense{1, Activation::sigmoid});
    model.compile({.loss = BinaryCrossEntropy{}, .optimizer = Adam{.learning_rate = 1e-3}, .seed = 3});
    const History history = model.fit(source, {.epochs = 2, .batch_size = 512, .verbose = 2});
    const double loss = model.evaluate(source).at("loss");

    // 4. memory
    std::printf("final loss %.4f\n", loss);
    std::printf("reader buffers: peak %.2f MiB of a %.2f MiB budget (data %.1f MiB)\n",
                double(source.buffer_bytes_peak()) / 1048576.0, double(budget) / 1048576.0, data_mib);
    std::printf("process peak resident memory (getrusage maxrss): %.1f MiB\n", maxrss_mib());
    // 5. the training loss per epoch (SVG, open it in a browser)
    const std::string history_svg = (out / "history.svg").string();
    plot::history(history, history_svg, {.title = "Tutorial 07: training from a stream"});
    std::printf("plot: %s\n", history_svg.c_str());
    return source.buffer_bytes_peak() <= budget ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
