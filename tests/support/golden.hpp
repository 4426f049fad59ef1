/// @file tests/support/golden.hpp
/// @brief Reads the reference files under tests/golden/data/ that the committed Python scripts
/// write: for each array a header line `name rank d0 d1 ...`, then one line of its values in
/// row-major order; lines starting with '#' are comments.
#pragma once
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace hepnn::test {

/// One array of a reference file.
struct GoldenArray {
  std::vector<std::int64_t> shape;
  std::vector<double> values;
};

/// The arrays of HEPNN_GOLDEN_DIR/<file>.txt by name; `script` (which writes the file) is named
/// when the file is missing or incomplete.
inline std::map<std::string, GoldenArray> read_golden(const std::string& file, const std::string& script) {
  const std::string path = std::string(HEPNN_GOLDEN_DIR) + "/" + file + ".txt";
  std::ifstream in(path);
  INFO("reference file " << path << " (regenerate with " << script << ")");
  REQUIRE(in.good());
  std::map<std::string, GoldenArray> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream head(line);
    std::string name;
    int rank = 0;
    head >> name >> rank;
    GoldenArray a;
    std::int64_t n = 1;
    for (int i = 0; i < rank; ++i) {
      std::int64_t d = 0;
      head >> d;
      a.shape.push_back(d);
      n *= d;
    }
    REQUIRE(std::getline(in, line));
    std::istringstream vals(line);
    a.values.resize(static_cast<std::size_t>(n));
    bool complete = true;
    for (auto& v : a.values) complete = complete && static_cast<bool>(vals >> v);
    INFO("array " << name);
    REQUIRE(complete);
    out[name] = std::move(a);
  }
  return out;
}

/// Checks got against a reference element by element: |got - want| <= tol (1 + |want|); reports
/// the first five differences and their count, naming `what` and the peer.
inline void check_close_to_reference(const std::vector<double>& got, const std::vector<double>& want,
                                     const std::string& what, double tol = 1e-12, const char* peer = "PyTorch") {
  REQUIRE(got.size() == want.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!(std::abs(got[i] - want[i]) <= tol * (1 + std::abs(want[i])))) {  // false for NaN
      if (++bad <= 5) FAIL_CHECK(what << "[" << i << "]: " << got[i] << ", " << peer << " " << want[i]);
    }
  INFO(what << ": " << bad << " of " << got.size() << " values differ");
  CHECK(bad == 0);
}

}  // namespace hepnn::test
