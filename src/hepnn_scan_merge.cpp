// hepnn-scan-merge: the one command that merges a hyper-parameter scan's directory (written by
// hepnn::scan::run from any number of Slurm array tasks or MPI ranks) into a ranked table, a CSV
// file and a plot. Installed with hepnn (bin/), built when hepnn::io is (it needs nlohmann_json).
// docs/distributed.md, "Hyper-parameter scans".
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "hepnn/io/scan_merge.hpp"

namespace {

constexpr const char* usage =
    "usage: hepnn-scan-merge [--out DIR] [--quiet] SCAN_DIR\n"
    "\n"
    "Merges the trial files of a hyper-parameter scan (SCAN_DIR/scan.json and trial-NNNNN.json, as\n"
    "hepnn::scan::run writes them) and ranks the finished trials by the scan's metric. Prints the\n"
    "ranked table with the failed, crashed and not-yet-run trials, and writes ranked.md, ranked.csv,\n"
    "scan.svg and scan.png into SCAN_DIR, or into DIR with --out. The trial files are only read.\n"
    "\n"
    "  --out DIR   write the four files into DIR (created if needed) instead of SCAN_DIR\n"
    "  --quiet     print only the summary line, not the table\n"
    "\n"
    "Exit status: 0 merged (also when some trials failed or have not run: the summary line counts\n"
    "them), 1 an error (the message says which file and why), 2 a usage error.\n";

int usage_error(const std::string& why) {
  std::fprintf(stderr, "hepnn-scan-merge: %s\n\n%s", why.c_str(), usage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string scan_dir, out_dir;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      std::printf("%s", usage);
      return 0;
    } else if (a == "--quiet" || a == "-q") {
      quiet = true;
    } else if (a == "--out") {
      if (i + 1 >= argc) return usage_error("--out needs a directory");
      out_dir = argv[++i];
    } else if (a.starts_with("--out=")) {
      out_dir = std::string(a.substr(6));
    } else if (a.starts_with("-") && a.size() > 1) {
      return usage_error("unknown option '" + std::string(a) + "'");
    } else if (scan_dir.empty()) {
      scan_dir = std::string(a);
    } else {
      return usage_error("one scan directory only (got '" + scan_dir + "' and '" + std::string(a) + "')");
    }
  }
  if (scan_dir.empty()) return usage_error("no scan directory given");
  if (out_dir.empty()) out_dir = scan_dir;
  try {
    const hepnn::scan::Ranking r = hepnn::scan::merge(scan_dir);
    if (!quiet) std::printf("%s\n", r.markdown().c_str());
    const hepnn::scan::ReportFiles files = hepnn::scan::write_report(r, out_dir);
    std::printf("scan '%s': %zu of %d trials finished, %zu failed, %zu crashed or still running, %zu not run yet",
                r.scan.name().c_str(), r.ranked.size(), r.scan.trials(), r.failed.size(), r.crashed.size(),
                r.missing.size());
    if (!r.ranked.empty())
      std::printf("; best %s = %.6g (trial %d)", r.scan.metric().c_str(), r.ranked.front().best, r.ranked.front().trial);
    std::printf("\nwrote");
    for (const auto& f : files.written) std::printf(" %s", f.string().c_str());
    if (!files.no_plot.empty()) std::printf(" (no plot: %s)", files.no_plot.c_str());
    std::printf("\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hepnn-scan-merge: %s\n", e.what());
    return 1;
  }
}
