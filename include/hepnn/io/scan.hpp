/// @file io/scan.hpp
/// @brief Hyper-parameter scans on a batch farm (docs/distributed.md, "Hyper-parameter scans"):
/// a scan description in JSON (parameter grids or random ranges, number of trials, seed), a
/// driver that runs each trial as an independent training run on one worker of many (Slurm array
/// tasks, MPI ranks, or one process), one result file per trial, and a merge into a ranked table
/// and a plot.
///
/// ```json
/// {"name": "width-depth", "metric": "val_auc", "mode": "max", "trials": 20, "seed": 7,
///  "parameters": {"width": {"values": [16, 32, 64, 128]}, "depth": {"int_uniform": [1, 3]},
///                 "dropout": {"uniform": [0.0, 0.5]}, "learning_rate": {"log_uniform": [1e-4, 1e-2]}}}
/// ```
/// Without "trials", every parameter must list "values" and the scan is their full grid.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hepnn/core/error.hpp"
#include "hepnn/core/philox.hpp"
#include "hepnn/train/history.hpp"

namespace hepnn::inline HEPNN_ABI::scan {

/// One trial: its number, its seed (for the model and the shuffling) and its parameter values.
struct Trial {
  int index = 0;            ///< 0 to trials - 1
  std::uint64_t seed = 0;   ///< derived from the scan's seed and the index: the same wherever it runs
  nlohmann::json params;    ///< parameter name -> value (number or string)

  /// A numeric parameter.
  double number(const std::string& name) const {
    const auto& v = at(name);
    HEPNN_CHECK(v.is_number(), "scan trial ", index, ": parameter '", name, "' is ", v.dump(), ", not a number");
    return v.get<double>();
  }
  /// An integer parameter (a number with no fractional part).
  std::int64_t integer(const std::string& name) const {
    const double d = number(name);
    HEPNN_CHECK(d == std::floor(d), "scan trial ", index, ": parameter '", name, "' is ", d, ", not an integer");
    return std::int64_t(d);
  }
  /// A string parameter.
  std::string text(const std::string& name) const {
    const auto& v = at(name);
    HEPNN_CHECK(v.is_string(), "scan trial ", index, ": parameter '", name, "' is ", v.dump(), ", not a string");
    return v.get<std::string>();
  }

 private:
  const nlohmann::json& at(const std::string& name) const {
    HEPNN_CHECK(params.contains(name), "scan trial ", index, ": no parameter '", name, "' (parameters: ",
                params.dump(), ")");
    return params.at(name);
  }
};

/// A scan description (see the file comment), checked.
class Scan {
 public:
  /// Reads and checks a scan description file.
  static Scan load(const std::string& path) {
    std::ifstream in(path);
    HEPNN_CHECK(in.good(), "scan: cannot open '", path, "'");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      throw Error(::hepnn::detail::concat("scan '", path, "': not valid JSON: ", e.what()));
    }
    return Scan(j, "scan '" + path + "'");
  }
  /// Checks a description given as JSON; `who` starts the error messages.
  explicit Scan(nlohmann::json j, const std::string& who = "scan") : m_json(std::move(j)) {
    HEPNN_CHECK(m_json.is_object(), who, ": the description must be a JSON object");
    for (const auto& [k, v] : m_json.items())
      HEPNN_CHECK(k == "name" || k == "metric" || k == "mode" || k == "trials" || k == "seed" || k == "parameters",
                  who, ": unknown key '", k, "' (known: name, metric, mode, trials, seed, parameters)");
    m_name = m_json.value("name", std::string("scan"));
    HEPNN_CHECK(m_json.contains("metric") && m_json["metric"].is_string(), who,
                ": 'metric' must name the History key to rank by, e.g. \"val_auc\"");
    m_metric = m_json["metric"].get<std::string>();
    const std::string mode = m_json.value("mode", std::string("max"));
    HEPNN_CHECK(mode == "max" || mode == "min", who, ": 'mode' must be \"max\" or \"min\", got \"", mode, "\"");
    m_maximise = mode == "max";
    m_seed = m_json.value("seed", std::uint64_t(1));
    HEPNN_CHECK(m_json.contains("parameters") && m_json["parameters"].is_object() && !m_json["parameters"].empty(),
                who, ": 'parameters' must be an object with at least one parameter");
    bool all_values = true;
    for (const auto& [name, p] : m_json["parameters"].items()) {
      const std::string w = who + ", parameter '" + name + "'";
      HEPNN_CHECK(p.is_object() && p.size() == 1, w,
                  ": give exactly one of {\"values\": [...]}, {\"uniform\": [lo, hi]}, {\"log_uniform\": [lo, hi]}, "
                  "{\"int_uniform\": [lo, hi]}");
      const std::string kind = p.begin().key();
      const auto& a = p.begin().value();
      if (kind == "values") {
        HEPNN_CHECK(a.is_array() && !a.empty(), w, ": 'values' must be a non-empty list");
        for (const auto& v : a) HEPNN_CHECK(v.is_number() || v.is_string(), w, ": value ", v.dump(), " is not a number or a string");
      } else {
        all_values = false;
        HEPNN_CHECK(kind == "uniform" || kind == "log_uniform" || kind == "int_uniform", w, ": unknown kind '", kind,
                    "' (values, uniform, log_uniform, int_uniform)");
        HEPNN_CHECK(a.is_array() && a.size() == 2 && a[0].is_number() && a[1].is_number(), w, ": '", kind,
                    "' needs [lo, hi]");
        const double lo = a[0].get<double>(), hi = a[1].get<double>();
        HEPNN_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, w, ": [", lo, ", ", hi, "] is not a range");
        HEPNN_CHECK(kind != "log_uniform" || lo > 0, w, ": log_uniform needs lo > 0, got ", lo);
        HEPNN_CHECK(kind != "int_uniform" || (lo == std::floor(lo) && hi == std::floor(hi)), w,
                    ": int_uniform needs integer bounds");
      }
    }
    if (m_json.contains("trials")) {
      HEPNN_CHECK(m_json["trials"].is_number_integer() && m_json["trials"].get<std::int64_t>() >= 1, who,
                  ": 'trials' must be a positive integer");
      m_trials = m_json["trials"].get<int>();
    } else {
      HEPNN_CHECK(all_values, who, ": a grid (no 'trials') needs 'values' for every parameter; "
                  "give 'trials' to sample the ranges at random");
      m_trials = 1;
      for (const auto& [name, p] : m_json["parameters"].items()) m_trials *= int(p["values"].size());
      m_grid = true;
    }
  }

  /// The scan's name (for messages).
  const std::string& name() const { return m_name; }
  /// The History key trials are ranked by, and whether larger is better.
  const std::string& metric() const { return m_metric; }
  bool maximise() const { return m_maximise; }  ///< larger values of metric() are better
  /// The number of trials (of the grid, or as given).
  int trials() const { return m_trials; }
  /// A full grid (true) or random sampling (false).
  bool grid() const { return m_grid; }
  /// The description as JSON.
  const nlohmann::json& json() const { return m_json; }
  /// Whether a parameter is sampled on a log scale (for plots).
  bool log_scale(const std::string& name) const {
    const auto& p = m_json["parameters"];
    return p.contains(name) && p[name].contains("log_uniform");
  }

  /// Trial i: its seed and parameters depend only on the description and i (Philox), so a trial
  /// is the same whichever worker runs it, and can be rerun alone.
  Trial trial(int i) const {
    HEPNN_CHECK(i >= 0 && i < m_trials, "scan '", m_name, "': trial ", i, " does not exist (", m_trials, " trials)");
    Trial t;
    t.index = i;
    t.seed = (std::uint64_t(philox_u32(m_seed, stream, 2 * std::uint64_t(i))) << 32) |
             philox_u32(m_seed, stream, 2 * std::uint64_t(i) + 1);
    t.params = nlohmann::json::object();
    std::int64_t rest = i;  // the grid index, first parameter fastest
    std::uint64_t k = 0;
    for (const auto& [name, p] : m_json["parameters"].items()) {
      const std::string kind = p.begin().key();
      const auto& a = p.begin().value();
      if (m_grid) {
        t.params[name] = a[std::size_t(rest % std::int64_t(a.size()))];
        rest /= std::int64_t(a.size());
        continue;
      }
      const double u = uniform(i, k++);
      if (kind == "values") {
        t.params[name] = a[std::min(a.size() - 1, std::size_t(u * double(a.size())))];
      } else {
        const double lo = a[0].get<double>(), hi = a[1].get<double>();
        if (kind == "uniform") t.params[name] = lo + u * (hi - lo);
        else if (kind == "log_uniform") t.params[name] = std::exp(std::log(lo) + u * (std::log(hi) - std::log(lo)));
        else t.params[name] = std::int64_t(lo) + std::min(std::int64_t(hi - lo), std::int64_t(u * (hi - lo + 1)));
      }
    }
    return t;
  }

 private:
  static constexpr std::uint64_t stream = 0x5ca9'0000'0000ull;  // Philox stream of the scans
  // a uniform double in [0, 1) with 53 random bits, for parameter k of trial i
  double uniform(int i, std::uint64_t k) const {
    const std::uint64_t base = (std::uint64_t(i) << 20) + 4 * (k + 1);
    const std::uint64_t hi = philox_u32(m_seed, stream + 1, base) >> 5, lo = philox_u32(m_seed, stream + 1, base + 1) >> 6;
    return (double(hi) * 67108864.0 + double(lo)) / 9007199254740992.0;
  }
  nlohmann::json m_json;
  std::string m_name, m_metric;
  bool m_maximise = true, m_grid = false;
  std::uint64_t m_seed = 1;
  int m_trials = 0;
};

/// Which trials this process runs: trial i goes to worker i % workers.
struct Worker {
  int index = 0;    ///< this worker, 0 to count - 1
  int count = 1;    ///< workers in all
};

/// The worker of a Slurm array task (SLURM_ARRAY_TASK_ID from SLURM_ARRAY_TASK_MIN, of
/// SLURM_ARRAY_TASK_COUNT), or nothing outside a job array. `sbatch --array=0-19` with a
/// 20-trial scan runs one trial per task.
inline std::optional<Worker> slurm_array_worker() {
  const char* id = std::getenv("SLURM_ARRAY_TASK_ID");
  if (!id) return std::nullopt;
  auto number = [](const char* name, const char* s) {
    char* end = nullptr;
    const long v = std::strtol(s, &end, 10);
    HEPNN_CHECK(end != s && *end == '\0' && v >= 0, "scan: ", name, " is '", s, "', not a number");
    return int(v);
  };
  const int task = number("SLURM_ARRAY_TASK_ID", id);
  const char* min = std::getenv("SLURM_ARRAY_TASK_MIN");
  const char* max = std::getenv("SLURM_ARRAY_TASK_MAX");
  const char* count = std::getenv("SLURM_ARRAY_TASK_COUNT");
  const int lo = min ? number("SLURM_ARRAY_TASK_MIN", min) : 0;
  const int n = count ? number("SLURM_ARRAY_TASK_COUNT", count) : max ? number("SLURM_ARRAY_TASK_MAX", max) - lo + 1 : 1;
  HEPNN_CHECK(task >= lo && task - lo < n, "scan: SLURM_ARRAY_TASK_ID ", task, " is outside the array (", lo, " + ",
              n, " tasks)");
  return Worker{task - lo, n};
}

/// What run() records for one trial (also what merge() reads back).
struct Result {
  int trial = 0;        ///< the trial's number
  std::string status;   ///< "ok", "failed" (the training threw: error says why), "started" (crashed or still running)
  nlohmann::json params;  ///< its parameter values
  std::uint64_t seed = 0;  ///< its seed
  double best = std::numeric_limits<double>::quiet_NaN();  ///< best value of the scan's metric
  int best_epoch = -1;  ///< its epoch, from 1
  int epochs = 0;       ///< epochs run
  double seconds = 0;   ///< wall time of the trial
  std::string error;  ///< why it failed (status "failed")
  int worker = 0;     ///< the worker that ran it
};

namespace detail {
inline void write_text_atomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp" + std::to_string(std::random_device{}());
  {
    std::ofstream out(tmp, std::ios::trunc);
    HEPNN_CHECK(out.good(), "scan: cannot write '", tmp.string(), "'");
    out << text;
    out.flush();
    HEPNN_CHECK(out.good(), "scan: writing '", tmp.string(), "' failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  HEPNN_CHECK(!ec, "scan: cannot rename '", tmp.string(), "' to '", path.string(), "': ", ec.message());
}
/// The JSON of file `path`; a file that does not parse is a hepnn::Error "<who>: '<path>' is not
/// valid JSON: <why>".
inline nlohmann::json read_json(const std::filesystem::path& path, const char* who) {
  std::ifstream in(path);
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw Error(::hepnn::detail::concat(who, ": '", path.string(), "' is not valid JSON: ", e.what()));
  }
}
inline nlohmann::json to_json(const Result& r) {
  nlohmann::json j = {{"trial", r.trial}, {"status", r.status}, {"params", r.params}, {"seed", r.seed},
                      {"epochs", r.epochs}, {"seconds", r.seconds}, {"worker", r.worker}};
  if (std::isfinite(r.best)) j["best"] = r.best, j["best_epoch"] = r.best_epoch;
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}
inline std::filesystem::path trial_path(const std::filesystem::path& dir, int i) {
  char name[32];
  std::snprintf(name, sizeof name, "trial-%05d.json", i);
  return dir / name;
}
}  // namespace detail

/// The training of one trial: builds and fits a model with the trial's parameters and seed and
/// returns the History (the scan's metric is read from it). It may throw: the trial is recorded
/// as failed with the message, and the scan goes on.
using TrainFunction = std::function<History(const Trial&)>;

/// Runs this worker's trials (i % worker.count == worker.index) one after the other, writing
/// `dir/trial-NNNNN.json` for each: first with status "started" (so that a trial that crashes the
/// process is recorded, not lost), then "ok" with the best value of the metric, or "failed" with
/// the error. Trials whose file already says "ok" are skipped, so a preempted job can simply be
/// run again. Also writes dir/scan.json (the description), and refuses a directory that holds
/// another scan. Returns this worker's results.
inline std::vector<Result> run(const Scan& s, const std::string& dir_name, Worker worker, const TrainFunction& train,
                               bool print = true) {
  HEPNN_CHECK(worker.count >= 1 && worker.index >= 0 && worker.index < worker.count, "scan::run: worker ",
              worker.index, " of ", worker.count, " does not exist");
  const std::filesystem::path dir(dir_name);
  std::filesystem::create_directories(dir);
  const std::filesystem::path desc = dir / "scan.json";
  if (std::filesystem::exists(desc)) {
    HEPNN_CHECK(detail::read_json(desc, "scan::run") == s.json(), "scan::run: '", dir.string(),
                "' holds the results of another scan (its scan.json differs from this description); use a new "
                "directory");
  } else {
    detail::write_text_atomically(desc, s.json().dump(2) + "\n");
  }
  std::vector<Result> out;
  for (int i = worker.index; i < s.trials(); i += worker.count) {
    const std::filesystem::path path = detail::trial_path(dir, i);
    if (std::filesystem::exists(path)) {
      std::ifstream in(path);
      try {
        if (nlohmann::json::parse(in).value("status", std::string()) == "ok") continue;  // done by an earlier run
      } catch (const std::exception&) {
      }
    }
    const Trial t = s.trial(i);
    Result r;
    r.trial = i;
    r.status = "started";
    r.params = t.params;
    r.seed = t.seed;
    r.worker = worker.index;
    detail::write_text_atomically(path, detail::to_json(r).dump(2) + "\n");
    const auto t0 = std::chrono::steady_clock::now();
    try {
      const History h = train(t);
      HEPNN_CHECK(h.contains(s.metric()), "the History has no '", s.metric(), "' (the scan's metric); keys: ",
                  [&] {
                    std::string k;
                    for (const auto& [key, v] : h.values) k += (k.empty() ? "" : ", ") + key;
                    return k;
                  }());
      const auto& v = h[s.metric()];
      r.epochs = int(v.size());
      for (std::size_t e = 0; e < v.size(); ++e)
        if (std::isfinite(v[e]) && (!std::isfinite(r.best) || (s.maximise() ? v[e] > r.best : v[e] < r.best))) {
          r.best = v[e];
          r.best_epoch = (e < h.epochs.size() ? h.epochs[e] : int(e)) + 1;
        }
      r.status = std::isfinite(r.best) ? "ok" : "failed";
      if (!std::isfinite(r.best)) r.error = "the metric '" + s.metric() + "' was never finite";
    } catch (const std::exception& e) {
      r.status = "failed";
      r.error = e.what();
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    detail::write_text_atomically(path, detail::to_json(r).dump(2) + "\n");
    if (print)
      std::printf("scan '%s' trial %d: %s %s = %.6g (epoch %d of %d), %.1f s, %s\n", s.name().c_str(), i,
                  r.status.c_str(), s.metric().c_str(), r.best, r.best_epoch, r.epochs, r.seconds,
                  r.status == "ok" ? t.params.dump().c_str() : r.error.c_str());
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace hepnn::scan

// the merge of a scan directory into a ranked table, a CSV file and plots
#include "hepnn/io/scan_merge.hpp"
