// Tutorial 14: distributed training and a hyper-parameter scan (needs hepnn::mpi: MPI).
//
//   mpirun -np 2 14_distributed_scan train [DIR]   tutorial 02's classifier trained data-parallel over
//                                                  the ranks, then, on rank 0, by one process with the
//                                                  same global batch: the same AUC
//   mpirun -np 2 14_distributed_scan scan [DIR]    a 20-trial random scan of width, depth, dropout and
//                                                  learning rate; the ranks share the trials, rank 0
//                                                  merges them into a ranked table and a plot
//   14_distributed_scan merge DIR                  the ranked table and plot of a scan directory
//
// On a Slurm cluster the scan runs one trial per array task (`sbatch --array=0-19`, each task
// runs `14_distributed_scan scan DIR` without mpirun), and `merge DIR` afterwards. The data are
// tutorial 02's toy H->WW events (examples/02_signal_vs_background/toy_events.hpp). With the
// environment variable HEPNN_TUTORIAL_SMALL=1 it uses a tenth of the events and short trainings
// (as the tests run it). See docs/tutorial-14-distributed-scan.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "../02_signal_vs_background/toy_events.hpp"
#include "hepnn/hepnn.hpp"
#include "hepnn/io.hpp"
#include "hepnn/io/scan.hpp"
#include "hepnn/mpi.hpp"

using namespace hepnn;
using Clock = std::chrono::steady_clock;

namespace {

bool small_run() {
  const char* s = std::getenv("HEPNN_TUTORIAL_SMALL");
  return s && *s && std::string_view(s) != "0";
}

// Tutorial 02's events, split 60/20/20 as there, by name for a functional Model: input "x" (the
// six variables), output "signal" (1 for H->WW), the event weights.
struct Data {
  data::NamedDataset<float> train, validation, test;
  double class_factor = 1;  // background weight sum / signal weight sum of the training events
};
data::NamedDataset<float> named(const data::Dataset<float>& d) {
  std::map<std::string, Tensor<float>> x, y;
  x.emplace("x", d.features().clone());
  Tensor<float> t = d.targets().clone();
  t.reshape(Shape{d.size(), 1});
  y.emplace("signal", std::move(t));
  return data::NamedDataset<float>(std::move(x), std::move(y), d.weights().clone());
}
Data make_data(bool print) {
  const data::Dataset<float> all = toy::make_events(small_run(), print);
  const data::Split<float> split = all.shuffled(/*seed=*/1).split({.validation = 0.2, .test = 0.2});
  Data d{named(split.train), named(split.validation), named(split.test)};
  double sig = 0, bkg = 0;
  for (std::int64_t i = 0; i < split.train.size(); ++i)
    (split.train.targets()(i, 0) > 0.5f ? sig : bkg) += split.train.weights()(i);
  d.class_factor = bkg / sig;
  return d;
}

// The classifier: `depth` hidden layers of `width` ReLU units with dropout, one logit out; the
// inputs standardised with numbers from the training events (stored in the model).
Model<float, cpu> classifier(const Data& d, std::int64_t width, std::int64_t depth, double dropout, double lr,
                             std::uint64_t seed) {
  auto in = Input{"x", {std::int64_t(toy::feature_names.size())}};
  SymbolicTensor h = in;
  for (std::int64_t k = 0; k < depth; ++k) {
    h = Dense{width, Activation::relu}(h);
    if (dropout > 0) h = Dropout{dropout}(h);
  }
  Model<float, cpu> m{{in}, {Dense{.units = 1, .name = "signal"}(h)}};
  m.set_input_transform(data::fit_standardization(d.train.inputs().at("x")));
  m.compile({.loss = BinaryCrossEntropy{.from_logits = true},
             .optimizer = Adam{.learning_rate = lr},
             .metrics = {metrics::AUC{}},
             .seed = seed});
  return m;
}

double test_auc(const Model<float, cpu>& m, const Data& d) {
  const auto out = m.predict(d.test.inputs());
  const Tensor<float>& scores = out.at("signal");
  const Tensor<float>& y = d.test.targets().at("signal");
  const Tensor<float>& w = d.test.weights();
  return metrics::auc<float>({scores.data(), std::size_t(scores.size())}, {y.data(), std::size_t(y.size())},
                             {w.data(), std::size_t(w.size())});
}

// ---- train: data-parallel against one process ----------------------------------------------
int train(mpi::Communicator& world) {
  const bool root = world.rank() == 0;
  const int N = world.size();
  if (root) std::printf("hepnn tutorial 14: data-parallel training on %s\n\n", world.description().c_str());
  if (root && small_run()) std::printf("HEPNN_TUTORIAL_SMALL: a tenth of the events, 5 epochs\n\n");
  const Data d = make_data(root);  // every rank generates (or reads) the same events
  const int epochs = small_run() ? 5 : 30;
  const std::int64_t batch = 256;  // per rank
  ModelFitOptions<float> o{.epochs = epochs, .batch_size = batch, .validation = d.validation, .verbose = 0,
                           .class_weight = {{"signal", {{1, d.class_factor}}}}};

  // Tutorial 02's network, trained by all ranks together: each step takes N x 256 events,
  // 256 on each rank, and the ranks sum their gradients before the step.
  auto parallel = classifier(d, 64, 2, 0.1, 1e-3, 42);
  o.communicator = &world;
  auto t0 = Clock::now();
  const History hp = parallel.fit(d.train, o);
  const double tp = std::chrono::duration<double>(Clock::now() - t0).count();
  if (root) {
    std::printf("\n%d ranks x %lld events per step: %d epochs in %.1f s, val_auc %.4f, test AUC %.4f\n", N,
                (long long)batch, int(hp.epochs.size()), tp, hp["val_auc"].back(), test_auc(parallel, d));
    std::fflush(stdout);
  }

  // The same training in one process with the same global batch (rank 0 alone; the other ranks
  // wait): the steps see the same events and drop the same units (each rank uses its part of the
  // whole step's dropout masks). They differ only in the order of sums.
  if (root) {
    auto single = classifier(d, 64, 2, 0.1, 1e-3, 42);
    o.communicator = nullptr;
    o.batch_size = N * batch;
    t0 = Clock::now();
    const History hs = single.fit(d.train, o);
    const double ts = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("1 process x %lld events per step: %d epochs in %.1f s, val_auc %.4f, test AUC %.4f\n",
                (long long)(N * batch), int(hs.epochs.size()), ts, hs["val_auc"].back(), test_auc(single, d));
    std::printf("\nval_auc per epoch, %d ranks against 1 process:\n", N);
    for (std::size_t e = 0; e < hp.epochs.size(); e += std::max<std::size_t>(1, hp.epochs.size() / 6))
      std::printf("  epoch %2zu: %.4f  %.4f\n", e + 1, hp["val_auc"][e], hs["val_auc"][e]);
    io::save_model(parallel, "classifier.h5");
    std::printf("\nrank 0 wrote classifier.h5\n");
  }
  double done = 0;
  world.allreduce_sum(&done, 1);  // the other ranks end when rank 0 has finished
  return 0;
}

// ---- scan: 20 independent trials shared by the workers --------------------------------------
const char* scan_description = R"({
  "name": "tutorial14",
  "metric": "val_auc", "mode": "max",
  "trials": 20, "seed": 14,
  "parameters": {
    "width":         {"values": [16, 32, 64, 128]},
    "depth":         {"int_uniform": [1, 3]},
    "dropout":       {"uniform": [0.0, 0.4]},
    "learning_rate": {"log_uniform": [1e-4, 1e-2]}
  }
})";

int merge(const std::string& dir) {
  const scan::Ranking r = scan::merge(dir);
  std::printf("%s", r.markdown().c_str());
  // the same files as the installed command `hepnn-scan-merge DIR`
  const scan::ReportFiles files = scan::write_report(r, dir);
  std::printf("\nwrote");
  for (const auto& f : files.written) std::printf(" %s", f.filename().string().c_str());
  std::printf(" in %s\n", dir.c_str());
  if (!files.no_plot.empty()) std::printf("no plot: %s\n", files.no_plot.c_str());
  return 0;
}

int run_scan(mpi::Communicator& world, const std::string& dir) {
  const bool root = world.rank() == 0;
  const scan::Scan s(nlohmann::json::parse(scan_description));
  // one trial per Slurm array task when there is one, else the trials go round the MPI ranks
  const auto slurm = scan::slurm_array_worker();
  const scan::Worker worker = slurm ? *slurm : scan::Worker{world.rank(), world.size()};
  if (root) {
    std::printf("hepnn tutorial 14: scan '%s', %d trials of %s on %d worker(s)\n\n", s.name().c_str(), s.trials(),
                s.metric().c_str(), worker.count);
    if (small_run()) std::printf("HEPNN_TUTORIAL_SMALL: a tenth of the events, 3 epochs per trial\n\n");
  }
  const Data d = make_data(false);
  const int epochs = small_run() ? 3 : 25;
  set_num_threads(1);  // one trial per core
  // each trial is an ordinary training run (no communicator): its own model, seed and options
  auto trial = [&](const scan::Trial& t) {
    auto m = classifier(d, t.integer("width"), t.integer("depth"), t.number("dropout"), t.number("learning_rate"),
                        t.seed);
    return m.fit(d.train, {.epochs = epochs, .batch_size = 256, .validation = d.validation,
                           .callbacks = {EarlyStopping{.monitor = "val_auc", .patience = 4}}, .verbose = 0,
                           .class_weight = {{"signal", {{1, d.class_factor}}}}});
  };
  // every worker writes one file per trial; trials already done by an earlier run are skipped
  const auto done_now = scan::run(s, dir, worker, trial, /*print=*/false);
  const int mine = (s.trials() - worker.index + worker.count - 1) / worker.count;
  if (root || slurm)
    std::printf("worker %d of %d: %zu trial(s) trained now, %zu already done by an earlier run\n", worker.index,
                worker.count, done_now.size(), std::size_t(mine) - done_now.size());
  std::fflush(stdout);
  if (slurm) return 0;  // array tasks end on their own; `merge DIR` when all are done
  double done = 0;
  world.allreduce_sum(&done, 1);  // every rank has finished its trials
  if (root) {
    std::printf("\nAll trials, ranked (%s):\n\n", dir.c_str());
    merge(dir);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "train" && mode != "scan" && mode != "merge") {
    std::fprintf(stderr, "usage: mpirun -np N %s train|scan [DIR]   or   %s merge DIR\n", argv[0], argv[0]);
    return 2;
  }
  const std::string dir = argc > 2 ? argv[2] : (mode == "train" ? "." : "scan-tutorial14");
  if (mode == "merge") {
    try {
      return merge(dir);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 1;
    }
  }
  return mpi::run(argc, argv, [&](mpi::Communicator& world) {
    // the ranks share the cores: one thread each unless there are cores to spare
    set_num_threads(std::max(1, available_cpus() / world.size()));
    if (mode == "scan") return run_scan(world, dir);
    std::filesystem::create_directories(dir);
    std::filesystem::current_path(dir);
    return train(world);
  });
}
