/// @file io/scan_merge.hpp
/// @brief The merge of a hyper-parameter scan's directory (io/scan.hpp): every trial file read back,
/// the finished trials ranked by the scan's metric, the failed, crashed and missing ones listed;
/// written as a Markdown table, a CSV file and a plot of the metric against each parameter
/// (write_report). `hepnn-scan-merge DIR` (src/hepnn_scan_merge.cpp) is the command-line front end.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hepnn/core/error.hpp"
#include "hepnn/io/scan.hpp"
#include "hepnn/plot/svg.hpp"

namespace hepnn::inline HEPNN_ABI::scan {

/// The merged results of a scan directory.
struct Ranking {
  Scan scan;                  ///< from dir/scan.json
  std::vector<Result> ranked;  ///< the "ok" trials, best first
  std::vector<Result> failed;  ///< trials whose training threw (or whose metric was never finite)
  std::vector<Result> crashed; ///< trials that started and never finished (a crash, or still running)
  std::vector<int> missing;    ///< trials with no file at all (not run yet)
  /// The ranked table in Markdown, then the failed, crashed and missing trials.
  std::string markdown() const {
    std::ostringstream o;
    std::vector<std::string> names;
    for (const auto& [k, v] : scan.json()["parameters"].items()) names.push_back(k);
    o << "| rank | trial | " << scan.metric() << " | epoch |";
    for (const auto& n : names) o << ' ' << n << " |";
    o << " seconds |\n|---|---|---|---|";
    for (std::size_t i = 0; i < names.size(); ++i) o << "---|";
    o << "---|\n";
    int rank = 0;
    for (const auto& r : ranked) {
      char best[32];
      std::snprintf(best, sizeof best, "%.5f", r.best);
      o << "| " << ++rank << " | " << r.trial << " | " << best << " | " << r.best_epoch << " of " << r.epochs << " |";
      for (const auto& n : names) {
        const auto& v = r.params.contains(n) ? r.params[n] : nlohmann::json();
        char cell[40];
        if (v.is_number_float()) std::snprintf(cell, sizeof cell, "%.4g", v.get<double>());
        else std::snprintf(cell, sizeof cell, "%s", v.dump().c_str());
        o << ' ' << cell << " |";
      }
      char sec[32];
      std::snprintf(sec, sizeof sec, "%.1f", r.seconds);
      o << ' ' << sec << " |\n";
    }
    for (const auto& r : failed) o << "\nfailed: trial " << r.trial << " " << r.params.dump() << ": " << r.error;
    for (const auto& r : crashed)
      o << "\ncrashed or still running: trial " << r.trial << " (worker " << r.worker << ") " << r.params.dump();
    if (!missing.empty()) {
      o << "\nnot run yet: " << missing.size() << " trial(s):";
      for (int i : missing) o << ' ' << i;
    }
    if (!failed.empty() || !crashed.empty() || !missing.empty()) o << '\n';
    return o.str();
  }
  /// Every trial as CSV, for a spreadsheet, pandas or ROOT's RDataFrame (FromCSV): the ranked
  /// ones first (rank 1 is the best), then the failed, crashed and missing ones with an empty rank.
  /// Columns: rank, trial, status ("ok", "failed", "started", "missing"), the metric, best_epoch,
  /// epochs, one per parameter, seconds, seed, worker, error. A missing trial's parameters and
  /// seed are those the description gives it (Scan::trial). Numbers are written to 17 digits.
  std::string csv() const;
};

namespace detail {
/// A CSV cell: as it is when it needs no quotes, else quoted with inner quotes doubled.
inline std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
inline std::string csv_number(double v) {
  if (!std::isfinite(v)) return "";
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}
inline std::string csv_value(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (v.is_number()) return csv_number(v.get<double>());
  if (v.is_string()) return csv_cell(v.get<std::string>());
  return csv_cell(v.dump());
}
/// The parameters that every finished trial gives as a number: the panels of figure().
inline std::vector<std::string> plotted_parameters(const Ranking& r) {
  std::vector<std::string> names;
  for (const auto& [k, v] : r.scan.json()["parameters"].items()) {
    bool numeric = true;
    for (const auto& t : r.ranked) numeric = numeric && t.params.contains(k) && t.params[k].is_number();
    if (numeric) names.push_back(k);
  }
  return r.ranked.empty() ? std::vector<std::string>{} : names;
}
}  // namespace detail

inline std::string Ranking::csv() const {
  std::vector<std::string> names;
  for (const auto& [k, v] : scan.json()["parameters"].items()) names.push_back(k);
  std::ostringstream o;
  o << "rank,trial,status," << detail::csv_cell(scan.metric()) << ",best_epoch,epochs";
  for (const auto& n : names) o << ',' << detail::csv_cell(n);
  o << ",seconds,seed,worker,error\n";
  auto row = [&](const std::string& rank, const Result& r) {
    o << rank << ',' << r.trial << ',' << detail::csv_cell(r.status) << ',' << detail::csv_number(r.best) << ','
      << (std::isfinite(r.best) ? std::to_string(r.best_epoch) : std::string()) << ',' << r.epochs;
    for (const auto& n : names) o << ',' << (r.params.contains(n) ? detail::csv_value(r.params[n]) : std::string());
    o << ',' << detail::csv_number(r.seconds) << ',' << r.seed << ',' << r.worker << ',' << detail::csv_cell(r.error)
      << '\n';
  };
  for (std::size_t i = 0; i < ranked.size(); ++i) row(std::to_string(i + 1), ranked[i]);
  for (const auto& r : failed) row("", r);
  for (const auto& r : crashed) row("", r);
  for (int i : missing) {
    const Trial t = scan.trial(i);
    Result r;
    r.trial = i;
    r.status = "missing";
    r.params = t.params;
    r.seed = t.seed;
    row("", r);
  }
  return o.str();
}

/// Reads every trial file of a scan directory and ranks the finished trials by the metric.
inline Ranking merge(const std::string& dir_name) {
  const std::filesystem::path dir(dir_name), desc = dir / "scan.json";
  HEPNN_CHECK(std::filesystem::exists(desc), "scan::merge: '", dir.string(), "' has no scan.json (not a scan directory)");
  Ranking out{Scan(detail::read_json(desc, "scan::merge"), "scan::merge: '" + desc.string() + "'"), {}, {}, {}, {}};
  for (int i = 0; i < out.scan.trials(); ++i) {
    const std::filesystem::path path = detail::trial_path(dir, i);
    if (!std::filesystem::exists(path)) {
      out.missing.push_back(i);
      continue;
    }
    const nlohmann::json j = detail::read_json(path, "scan::merge");
    Result r;
    r.trial = j.value("trial", i);
    r.status = j.value("status", std::string());
    r.params = j.value("params", nlohmann::json::object());
    r.seed = j.value("seed", std::uint64_t(0));
    r.best = j.value("best", std::numeric_limits<double>::quiet_NaN());
    r.best_epoch = j.value("best_epoch", -1);
    r.epochs = j.value("epochs", 0);
    r.seconds = j.value("seconds", 0.0);
    r.error = j.value("error", std::string());
    r.worker = j.value("worker", 0);
    if (r.status == "ok") out.ranked.push_back(std::move(r));
    else if (r.status == "failed") out.failed.push_back(std::move(r));
    else out.crashed.push_back(std::move(r));
  }
  const bool up = out.scan.maximise();
  std::stable_sort(out.ranked.begin(), out.ranked.end(),
                   [up](const Result& a, const Result& b) { return up ? a.best > b.best : a.best < b.best; });
  return out;
}

/// The metric against each numeric parameter, one panel per parameter (log x for log_uniform
/// ones), the best trial marked: where a physicist looks for the region that works.
inline plot::Figure figure(const Ranking& r) {
  const std::vector<std::string> names = detail::plotted_parameters(r);
  HEPNN_CHECK(!names.empty() && !r.ranked.empty(), "scan::figure: no finished trial with numeric parameters to plot");
  const int cols = int(std::min<std::size_t>(names.size(), 2)), rows = int((names.size() + 1) / 2);
  plot::Figure fig(rows, cols, 420, 320);
  for (std::size_t p = 0; p < names.size(); ++p) {
    std::vector<double> x, y;
    for (const auto& t : r.ranked) {
      x.push_back(t.params[names[p]].get<double>());
      y.push_back(t.best);
    }
    auto& ax = fig.axes(int(p / 2), int(p % 2));
    ax.title(names[p]).xlabel(names[p]).ylabel(r.scan.metric()).legend(plot::LegendLocation::lower_right);
    if (r.scan.log_scale(names[p])) ax.xscale(plot::Scale::log);
    ax.errorbar(x, y, {}, {}, "trials", {.marker = plot::Marker::circle});
    const double bx[1] = {x[0]}, by[1] = {y[0]};
    ax.errorbar(bx, by, {}, {}, "best", {.color = "#d62728", .marker = plot::Marker::square, .marker_size = 5});
  }
  return fig;
}

/// What write_report wrote, and why it left the plots out if it did.
struct ReportFiles {
  std::vector<std::filesystem::path> written;  ///< ranked.md, ranked.csv, then scan.svg and scan.png
  std::string no_plot;                         ///< empty, or why there are no plots
};

/// Writes the merged results into `out_dir` (created if needed): ranked.md (markdown()), ranked.csv
/// (csv()) and, when a finished trial has numeric parameters, the figure as scan.svg and scan.png.
/// Each file is written atomically (a crash leaves the old file or the new one, never half of one).
inline ReportFiles write_report(const Ranking& r, const std::string& out_dir) {
  const std::filesystem::path dir(out_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  HEPNN_CHECK(!ec && std::filesystem::is_directory(dir), "scan::write_report: cannot create the directory '",
              dir.string(), "'", ec ? ": " + ec.message() : std::string());
  ReportFiles out;
  detail::write_text_atomically(dir / "ranked.md", r.markdown());
  out.written.push_back(dir / "ranked.md");
  detail::write_text_atomically(dir / "ranked.csv", r.csv());
  out.written.push_back(dir / "ranked.csv");
  if (r.ranked.empty()) {
    out.no_plot = "no trial has finished";
  } else if (detail::plotted_parameters(r).empty()) {
    out.no_plot = "no parameter is a number in every finished trial";
  } else {
    const plot::Figure fig = figure(r);
    for (const char* name : {"scan.svg", "scan.png"}) {
      fig.save((dir / name).string());
      out.written.push_back(dir / name);
    }
  }
  return out;
}

}  // namespace hepnn::scan
