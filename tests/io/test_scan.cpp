/// @file tests/io/test_scan.cpp
/// @brief Hyper-parameter scans (io/scan.hpp): grids hold every combination once; random trials
/// stay in their ranges, follow their distributions and do not depend on the worker that runs
/// them; run() records ok, failed and crashed trials and resumes; merge() ranks by the metric
/// (checked against a closed form) and write_report() writes it as a table, CSV and plots; bad
/// descriptions get clear errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "hepnn/io/scan.hpp"

using namespace hepnn;
using Catch::Contains;
using nlohmann::json;

namespace {
std::filesystem::path fresh_dir(const std::string& name) {
  const auto d = std::filesystem::temp_directory_path() / ("hepnn_test_scan_" + name);
  std::filesystem::remove_all(d);
  return d;
}
// a "training" whose metric is a closed form of the parameters: best at width 64, lr 1e-3
History fake_training(const scan::Trial& t) {
  const double w = t.number("width"), lr = t.number("learning_rate");
  History h;
  for (int e = 0; e < 3; ++e) {
    h.epochs.push_back(e);
    const double peak = 1.0 - 1e-4 * (w - 64) * (w - 64) - 0.01 * std::pow(std::log10(lr) + 3, 2);
    h.values["val_auc"].push_back(peak - 0.01 * (2 - e) * (e == 1 ? -1 : 1));  // epoch 2 (of 3) is the best
  }
  return h;
}
}  // namespace

TEST_CASE("scan: a grid holds every combination exactly once", "[io][scan]") {
  const scan::Scan s(json{{"metric", "val_loss"}, {"mode", "min"},
                          {"parameters", {{"depth", {{"values", {1, 2, 3}}}}, {"act", {{"values", {"relu", "tanh"}}}}}}});
  REQUIRE(s.grid());
  REQUIRE(s.trials() == 6);
  std::set<std::pair<std::int64_t, std::string>> seen;
  for (int i = 0; i < 6; ++i) seen.insert({s.trial(i).integer("depth"), s.trial(i).text("act")});
  CHECK(seen.size() == 6);
  CHECK_THROWS_WITH(s.trial(6), Contains("trial 6 does not exist (6 trials)"));
  CHECK_THROWS_WITH(s.trial(0).number("act"), Contains("parameter 'act' is \"relu\", not a number"));
  CHECK_THROWS_WITH(s.trial(0).number("width"), Contains("no parameter 'width'"));
}

TEST_CASE("scan: random trials stay in their ranges, follow their distributions, and are reproducible", "[io][scan]") {
  const json d = {{"metric", "val_auc"}, {"trials", 4000}, {"seed", 11},
                  {"parameters", {{"width", {{"values", {16, 32, 64}}}}, {"dropout", {{"uniform", {0.1, 0.5}}}},
                                  {"learning_rate", {{"log_uniform", {1e-4, 1e-2}}}}, {"depth", {{"int_uniform", {1, 4}}}}}}};
  const scan::Scan s(d), again(d);
  double sum_u = 0, sum_log = 0;
  std::map<std::int64_t, int> depths, widths;
  for (int i = 0; i < s.trials(); ++i) {
    const auto t = s.trial(i);
    const double u = t.number("dropout"), lr = t.number("learning_rate");
    REQUIRE(u >= 0.1);
    REQUIRE(u < 0.5);
    REQUIRE(lr >= 1e-4);
    REQUIRE(lr <= 1e-2);
    sum_u += u;
    sum_log += std::log10(lr);
    ++depths[t.integer("depth")];
    ++widths[t.integer("width")];
    if (i < 50) {
      const auto t2 = again.trial(i);
      CHECK(t2.params == t.params);
      CHECK(t2.seed == t.seed);
    }
  }
  const double n = s.trials();
  // uniform on [0.1, 0.5): mean 0.3, sd of the mean 0.4 / sqrt(12 n); log10 lr uniform on [-4, -2]
  CHECK(std::abs(sum_u / n - 0.3) < 4 * 0.4 / std::sqrt(12 * n));
  CHECK(std::abs(sum_log / n + 3) < 4 * 2 / std::sqrt(12 * n));
  CHECK(depths.size() == 4);  // 1, 2, 3 and 4, each about n / 4
  for (const auto& [k, c] : depths) CHECK(std::abs(c - n / 4) < 4 * std::sqrt(n * 0.25 * 0.75));
  CHECK(widths.size() == 3);
  CHECK(s.trial(0).seed != s.trial(1).seed);
  // another scan seed gives other trials
  json d2 = d;
  d2["seed"] = 12;
  CHECK(scan::Scan(d2).trial(0).params != s.trial(0).params);
}

TEST_CASE("scan: bad descriptions are refused with the reason", "[io][scan]") {
  const json p = {{"width", {{"values", {1, 2}}}}};
  CHECK_THROWS_WITH(scan::Scan(json{{"parameters", p}}), Contains("'metric' must name the History key"));
  CHECK_THROWS_WITH(scan::Scan(json{{"metric", "m"}, {"parameters", p}, {"trails", 3}}), Contains("unknown key 'trails'"));
  CHECK_THROWS_WITH(scan::Scan(json{{"metric", "m"}, {"mode", "best"}, {"parameters", p}}), Contains("'mode' must be"));
  CHECK_THROWS_WITH(scan::Scan(json{{"metric", "m"}, {"parameters", {{"lr", {{"uniform", {1, 0}}}}}}, {"trials", 2}}),
                    Contains("parameter 'lr': [1, 0] is not a range"));
  CHECK_THROWS_WITH(scan::Scan(json{{"metric", "m"}, {"parameters", {{"lr", {{"log_uniform", {0, 1}}}}}}, {"trials", 2}}),
                    Contains("log_uniform needs lo > 0"));
  CHECK_THROWS_WITH(scan::Scan(json{{"metric", "m"}, {"parameters", {{"lr", {{"normal", {0, 1}}}}}}, {"trials", 2}}),
                    Contains("unknown kind 'normal'"));
  CHECK_THROWS_WITH(scan::Scan(json{{"metric", "m"}, {"parameters", {{"lr", {{"uniform", {0, 1}}}}}}}),
                    Contains("a grid (no 'trials') needs 'values' for every parameter"));
  CHECK_THROWS_WITH(scan::Scan(json{{"metric", "m"}, {"parameters", p}, {"trials", 0}}), Contains("positive integer"));
  const auto dir = fresh_dir("badfile");
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "scan.json") << "{ not json";
  CHECK_THROWS_WITH(scan::Scan::load((dir / "scan.json").string()), Contains("not valid JSON"));
  CHECK_THROWS_WITH(scan::Scan::load((dir / "missing.json").string()), Contains("cannot open"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("scan: workers run their share, failures and crashes are recorded, merge ranks by the metric", "[io][scan]") {
  const auto dir = fresh_dir("run");
  const json d = {{"name", "t"}, {"metric", "val_auc"}, {"mode", "max"}, {"trials", 12}, {"seed", 3},
                  {"parameters", {{"width", {{"int_uniform", {16, 128}}}}, {"learning_rate", {{"log_uniform", {1e-4, 1e-2}}}}}}};
  const scan::Scan s(d);
  int calls = 0;
  auto train = [&](const scan::Trial& t) {
    ++calls;
    if (t.index == 5) throw Error("diverged at epoch 2");  // a trial that fails
    return fake_training(t);
  };
  // worker 0 of 3 and worker 2 of 3 run; worker 1 never runs, except that its trial 4 "crashed"
  const auto r0 = scan::run(s, dir.string(), {0, 3}, train, false);
  const auto r2 = scan::run(s, dir.string(), {2, 3}, train, false);
  CHECK(r0.size() == 4);  // trials 0, 3, 6, 9
  CHECK(r2.size() == 4);  // trials 2, 5, 8, 11
  CHECK(calls == 8);
  std::ofstream(dir / "trial-00004.json") << json{{"trial", 4}, {"status", "started"}, {"worker", 1}}.dump();
  // rerun of worker 0: its trials are done, nothing runs again
  CHECK(scan::run(s, dir.string(), {0, 3}, train, false).empty());
  CHECK(calls == 8);

  const scan::Ranking m = scan::merge(dir.string());
  REQUIRE(m.ranked.size() == 7);
  REQUIRE(m.failed.size() == 1);
  CHECK(m.failed[0].trial == 5);
  CHECK_THAT(m.failed[0].error, Contains("diverged at epoch 2"));
  REQUIRE(m.crashed.size() == 1);
  CHECK(m.crashed[0].trial == 4);
  CHECK(m.missing == std::vector<int>{1, 7, 10});
  // the ranking is the closed form's order, and each best is the closed form at epoch 2
  for (std::size_t i = 0; i < m.ranked.size(); ++i) {
    const auto t = s.trial(m.ranked[i].trial);
    const History h = fake_training(t);
    CHECK(m.ranked[i].best == h["val_auc"][1]);
    CHECK(m.ranked[i].best_epoch == 2);
    CHECK(m.ranked[i].epochs == 3);
    if (i > 0) CHECK(m.ranked[i - 1].best >= m.ranked[i].best);
  }
  const std::string md = m.markdown();
  CHECK_THAT(md, Contains("| rank | trial | val_auc | epoch |"));
  CHECK_THAT(md, Contains("failed: trial 5"));
  CHECK_THAT(md, Contains("crashed or still running: trial 4"));
  CHECK_THAT(md, Contains("not run yet: 3 trial(s): 1 7 10"));
  const auto svg = dir / "scan.svg";
  scan::figure(m).save(svg.string());
  std::ifstream in(svg);
  std::string head(5, ' ');
  in.read(head.data(), 5);
  CHECK(head == "<?xml");

  // write_report: the table, every trial as CSV (ranked, failed, crashed, then missing with the
  // parameters and seed the description gives them), and the plots
  const auto report = dir / "report";
  const scan::ReportFiles files = scan::write_report(m, report.string());
  CHECK(files.no_plot.empty());
  REQUIRE(files.written.size() == 4);
  for (const auto& f : files.written) CHECK(std::filesystem::file_size(f) > 100);
  std::ifstream md_in(report / "ranked.md");
  CHECK(std::string(std::istreambuf_iterator<char>(md_in), {}) == md);
  std::ifstream csv_in(report / "ranked.csv");
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(csv_in, line);) {
    rows.emplace_back();
    std::stringstream cells(line);
    for (std::string c; std::getline(cells, c, ',');) rows.back().push_back(c);
    if (line.back() == ',') rows.back().emplace_back();
  }
  REQUIRE(rows.size() == 13);  // the header and the 12 trials
  CHECK(rows[0] == std::vector<std::string>{"rank", "trial", "status", "val_auc", "best_epoch", "epochs", "learning_rate",
                                            "width", "seconds", "seed", "worker", "error"});
  for (std::size_t i = 0; i < 7; ++i) {  // the ranked trials, the best value exact to 17 digits
    REQUIRE(rows[i + 1].size() == 12);
    CHECK(rows[i + 1][0] == std::to_string(i + 1));
    CHECK(std::stoi(rows[i + 1][1]) == m.ranked[i].trial);
    CHECK(rows[i + 1][2] == "ok");
    CHECK(std::strtod(rows[i + 1][3].c_str(), nullptr) == m.ranked[i].best);
    CHECK(std::strtod(rows[i + 1][6].c_str(), nullptr) == s.trial(m.ranked[i].trial).number("learning_rate"));
    CHECK(std::strtoull(rows[i + 1][9].c_str(), nullptr, 10) == s.trial(m.ranked[i].trial).seed);
  }
  CHECK(rows[8][1] == "5");
  CHECK(rows[8][2] == "failed");
  CHECK_THAT(rows[8].back(), Contains("diverged at epoch 2"));
  CHECK(rows[9][1] == "4");
  CHECK(rows[9][2] == "started");
  for (int k = 0; k < 3; ++k) {  // trials 1, 7 and 10 never ran: their parameters come from the description
    const auto& row = rows[std::size_t(10 + k)];
    const auto t = s.trial(m.missing[std::size_t(k)]);
    CHECK(row[2] == "missing");
    CHECK(row[3].empty());
    CHECK(std::strtod(row[6].c_str(), nullptr) == t.number("learning_rate"));
    CHECK(std::stoi(row[7]) == t.integer("width"));
    CHECK(std::strtoull(row[9].c_str(), nullptr, 10) == t.seed);
  }
  CHECK(scan::detail::csv_cell("plain") == "plain");
  CHECK(scan::detail::csv_cell("a, \"b\"") == "\"a, \"\"b\"\"\"");
  // nothing to plot when no trial has finished: the table and CSV are still written
  scan::Ranking none = m;
  none.ranked.clear();
  const scan::ReportFiles partial = scan::write_report(none, (dir / "none").string());
  CHECK(partial.written.size() == 2);
  CHECK(partial.no_plot == "no trial has finished");
  CHECK_FALSE(std::filesystem::exists(dir / "none" / "scan.svg"));

  // a directory of another scan is refused; a History without the metric fails the trial
  json other = d;
  other["seed"] = 4;
  CHECK_THROWS_WITH(scan::run(scan::Scan(other), dir.string(), {}, train, false), Contains("holds the results of another scan"));
  const auto dir2 = fresh_dir("nometric");
  const auto r = scan::run(scan::Scan(json{{"metric", "val_acc"}, {"parameters", {{"x", {{"values", {1}}}}}}}),
                           dir2.string(), {}, [](const scan::Trial&) { return History{}; }, false);
  REQUIRE(r.size() == 1);
  CHECK(r[0].status == "failed");
  CHECK_THAT(r[0].error, Contains("the History has no 'val_acc'"));
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(dir2);
}

TEST_CASE("scan: the worker of a Slurm array task", "[io][scan]") {
  ::unsetenv("SLURM_ARRAY_TASK_ID");
  CHECK_FALSE(scan::slurm_array_worker().has_value());
  ::setenv("SLURM_ARRAY_TASK_ID", "7", 1);
  ::setenv("SLURM_ARRAY_TASK_MIN", "5", 1);
  ::setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
  auto w = scan::slurm_array_worker();
  REQUIRE(w.has_value());
  CHECK(w->index == 2);
  CHECK(w->count == 4);
  ::setenv("SLURM_ARRAY_TASK_ID", "12", 1);
  CHECK_THROWS_WITH(scan::slurm_array_worker(), Contains("outside the array"));
  ::setenv("SLURM_ARRAY_TASK_ID", "x1", 1);
  CHECK_THROWS_WITH(scan::slurm_array_worker(), Contains("SLURM_ARRAY_TASK_ID is 'x1', not a number"));
  ::unsetenv("SLURM_ARRAY_TASK_ID");
  ::unsetenv("SLURM_ARRAY_TASK_MIN");
  ::unsetenv("SLURM_ARRAY_TASK_COUNT");
}
