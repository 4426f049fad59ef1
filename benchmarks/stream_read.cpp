// Streaming benchmark: how fast io::StreamingSource hands out batches of an HDF5 file, against
// plain reads of the same rows through the HDF5 C API (what h5py does; benchmarks/streaming.sh
// runs h5py on the same file too).
//   usage: stream_read FILE [--make ROWS] [--features F] [--chunk C] [--batch B] [--budget MIB]
//                      [--reps R] [--modes plain,sequential,shuffled]
//   --make ROWS  first writes FILE: ROWS rows of F float features (default 28), float targets
//                and weights, as hepnn's writer stores them (Fletcher-32 checksums), in storage
//                chunks of C rows (default 0: hepnn's automatic ~1 MiB chunks, as
//                io::write_dataset makes them); the values are Philox normals
// Every mode reads all rows once per repetition (features, targets and weights); the median
// over R repetitions (default 3) of rows/s and GB/s is printed, GB counting the values read.
// The streaming modes keep one source and read one epoch per repetition, as training does; the
// first pass (also printed) includes faulting in the reader's buffers.
//   RESULT reader=MODE batch=B rows=N rows_per_s=... gb_per_s=... peak_buffer_mib=...
// plain:      h5::File::read_rows of B rows at a time, in file order (one copy, no thread)
// sequential: StreamingSource, no shuffle; shuffled: StreamingSource, chunks and rows shuffled
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "hepnn/hepnn.hpp"
#include "hepnn/io/streaming.hpp"

using namespace hepnn;
namespace h5 = hepnn::io::h5;

namespace {

void make_file(const std::string& path, std::int64_t rows, std::int64_t features, std::int64_t chunk) {
  h5::File f(path, h5::File::Mode::create);
  f.write<float>("features", {rows, features}, nullptr, chunk);
  f.write<float>("targets", {rows}, nullptr, chunk);
  f.write<float>("weights", {rows}, nullptr, chunk);
  std::vector<float> x, y, w;
  const std::int64_t step = 65536;  // rows written per call
  for (std::int64_t r0 = 0; r0 < rows; r0 += step) {
    const std::int64_t k = std::min(step, rows - r0);
    x.resize(std::size_t(k * features));
    y.resize(std::size_t(k));
    w.resize(std::size_t(k));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(philox_normal(1, 0, std::uint64_t(r0 * features) + i));
    for (std::int64_t i = 0; i < k; ++i) {
      y[std::size_t(i)] = float((r0 + i) % 2);
      w[std::size_t(i)] = 1.0f + 0.01f * float(i % 7);
    }
    f.write_rows<float>("features", r0, k, x.data());
    f.write_rows<float>("targets", r0, k, y.data());
    f.write_rows<float>("weights", r0, k, w.data());
  }
}

struct ReadPass {
  double seconds = 0, checksum = 0;
  std::int64_t rows = 0, peak = 0;
};

ReadPass plain(const std::string& path, std::int64_t batch) {
  const h5::File f(path, h5::File::Mode::read);
  const h5::DatasetInfo xi = f.info("features");
  const std::int64_t n = xi.shape[0], F = xi.size() / std::max<std::int64_t>(n, 1);
  std::vector<float> x(static_cast<std::size_t>(batch * F)), y(static_cast<std::size_t>(batch)),
      w(static_cast<std::size_t>(batch));
  ReadPass p;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::int64_t r0 = 0; r0 < n; r0 += batch) {
    const std::int64_t k = std::min(batch, n - r0);
    f.read_rows<float>("features", r0, k, x.data());
    f.read_rows<float>("targets", r0, k, y.data());
    f.read_rows<float>("weights", r0, k, w.data());
    p.checksum += double(x[0]) + double(y[0]) + double(w[std::size_t(k - 1)]);
    p.rows += k;
  }
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  p.peak = std::int64_t(sizeof(float)) * batch * (F + 2);
  return p;
}

/// One epoch of a StreamingSource that lives across epochs, as in a training loop (epoch 0 also
/// faults in the reader's buffers; later epochs reuse them).
ReadPass streamed(io::StreamingSource<float>& s, int epoch, std::int64_t batch, bool shuffle) {
  const auto t0 = std::chrono::steady_clock::now();
  s.start_epoch(epoch, shuffle);
  data::Dataset<float> b;
  ReadPass p;
  while (s.next(batch, b)) {
    p.checksum += double(b.features().data()[0]) + double(b.weights().data()[b.size() - 1]);
    p.rows += b.size();
  }
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  p.peak = s.buffer_bytes_peak();
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "usage: stream_read FILE [--make ROWS] [--features F] [--chunk C] [--batch B] [--budget MIB] "
                         "[--reps R] [--modes plain,sequential,shuffled]\n");
    return 2;
  }
  const std::string path = argv[1];
  std::int64_t make = 0, features = 28, chunk = 0, batch = 1024, budget_mib = 256;
  int reps = 3;
  std::string modes = "plain,sequential,shuffled";
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--make") make = std::atoll(argv[i + 1]);
    else if (a == "--features") features = std::atoll(argv[i + 1]);
    else if (a == "--chunk") chunk = std::atoll(argv[i + 1]);
    else if (a == "--batch") batch = std::atoll(argv[i + 1]);
    else if (a == "--budget") budget_mib = std::atoll(argv[i + 1]);
    else if (a == "--reps") reps = std::atoi(argv[i + 1]);
    else if (a == "--modes") modes = argv[i + 1];
    else { std::fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  if (features < 1 || chunk < 0 || batch < 1 || budget_mib < 1 || reps < 1) {
    std::fprintf(stderr, "stream_read: --features, --batch, --budget and --reps must be positive, --chunk >= 0\n");
    return 2;
  }
  try {
    if (make > 0) {
      const auto t0 = std::chrono::steady_clock::now();
      make_file(path, make, features, chunk);
      std::printf("# wrote %s: %lld rows x %lld features, storage chunks of %lld rows, %.1f s\n", path.c_str(),
                  (long long)make, (long long)features, (long long)h5::File(path, h5::File::Mode::read).chunk_rows("features"),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::stringstream list(modes);
    for (std::string mode; std::getline(list, mode, ',');) {
      if (mode != "plain" && mode != "sequential" && mode != "shuffled") {
        std::fprintf(stderr, "stream_read: unknown mode '%s'\n", mode.c_str());
        return 2;
      }
      std::vector<double> rates;
      ReadPass last;
      double checksum = 0;
      std::unique_ptr<io::StreamingSource<float>> source;
      if (mode != "plain")
        source = std::make_unique<io::StreamingSource<float>>(path, io::StreamOptions{.memory_budget_bytes = budget_mib << 20});
      for (int r = 0; r < reps; ++r) {
        last = mode == "plain" ? plain(path, batch) : streamed(*source, r, batch, mode == "shuffled");
        rates.push_back(double(last.rows) / last.seconds);
        checksum += last.checksum;
      }
      std::printf("# %s: first pass %.0f rows/s\n", mode.c_str(), rates[0]);
      std::sort(rates.begin(), rates.end());
      const double med = rates[rates.size() / 2];
      const h5::File f(path, h5::File::Mode::read);
      const double bytes_per_row = double(sizeof(float)) * double(f.info("features").size() / std::max<std::int64_t>(1, last.rows) + 2);
      std::printf("RESULT reader=%s batch=%lld rows=%lld rows_per_s=%.0f gb_per_s=%.3f peak_buffer_mib=%.1f\n",
                  mode.c_str(), (long long)batch, (long long)last.rows, med, med * bytes_per_row / 1e9,
                  double(last.peak) / double(1 << 20));
      std::printf("# %s checksum %.6g\n", mode.c_str(), checksum);
      std::fflush(stdout);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "stream_read: %s\n", e.what());
    return 1;
  }
}
