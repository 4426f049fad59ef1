/// @file data/csv.hpp
/// @brief A CSV reader for small tables: a header line of column names, then numbers.
///
/// Separators are commas; blank lines and lines starting with '#' are skipped. Every value must
/// parse completely as a number (no silent zero for "n/a"); errors name the file, line and column.
#pragma once
#include "hepnn/core/config.hpp"
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <istream>
#include <string>
#include <vector>

#include "hepnn/core/error.hpp"
#include "hepnn/data/dataset.hpp"

namespace hepnn::inline HEPNN_ABI::data {

/// A table read from CSV: column names and the values row by row.
struct CsvTable {
  std::vector<std::string> columns;
  std::vector<double> values;  // rows() x columns.size(), row-major
  std::int64_t rows() const { return columns.empty() ? 0 : std::int64_t(values.size() / columns.size()); }
  /// Index of the column `name`; throws listing the columns there are.
  std::size_t column(const std::string& name, const std::string& path = "") const {
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name) return i;
    std::string all;
    for (const auto& c : columns) all += (all.empty() ? "" : ", ") + c;
    throw Error("CSV '" + path + "': no column '" + name + "' (columns: " + all + ")");
  }
};

namespace detail {
inline std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}
inline std::vector<std::string> split_commas(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto pos = line.find(',', start);
    out.push_back(trim(line.substr(start, pos == std::string::npos ? std::string::npos : pos - start)));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}
}  // namespace detail

/// Parses CSV text (`source` names it in errors).
inline CsvTable parse_csv(std::istream& in, const std::string& source) {
  CsvTable t;
  std::string line;
  std::int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string s = detail::trim(line);
    if (s.empty() || s[0] == '#') continue;
    std::vector<std::string> cells = detail::split_commas(s);
    if (t.columns.empty()) {
      for (const auto& c : cells) {
        HEPNN_CHECK(!c.empty(), "CSV '", source, "', line ", line_no, ": empty column name in the header");
        for (const auto& prev : t.columns)
          HEPNN_CHECK(prev != c, "CSV '", source, "', line ", line_no, ": column '", c, "' appears twice");
        t.columns.push_back(c);
      }
      continue;
    }
    HEPNN_CHECK(cells.size() == t.columns.size(), "CSV '", source, "', line ", line_no, ": ", cells.size(),
                " values, but the header has ", t.columns.size(), " columns");
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string& v = cells[c];
      char* end = nullptr;
      const double d = v.empty() ? 0.0 : std::strtod(v.c_str(), &end);
      HEPNN_CHECK(!v.empty() && end == v.c_str() + v.size(), "CSV '", source, "', line ", line_no, ", column '",
                  t.columns[c], "': '", v, "' is not a number");
      t.values.push_back(d);
    }
  }
  HEPNN_CHECK(!t.columns.empty(), "CSV '", source, "': no header line");
  return t;
}

inline CsvTable read_csv_table(const std::string& path) {
  std::ifstream in(path);
  HEPNN_CHECK(in.good(), "CSV '", path, "': cannot open it (missing or not readable)");
  return parse_csv(in, path);
}

/// Which columns of a CSV table make a data set; weights 1 when weight_column is empty.
struct CsvSpec {
  std::vector<std::string> feature_columns;
  std::vector<std::string> target_columns;
  std::string weight_column = {};
};

template <class T>
Dataset<T> table_to_dataset(const CsvTable& t, const CsvSpec& spec, const std::string& path = "") {
  HEPNN_CHECK(!spec.feature_columns.empty() && !spec.target_columns.empty(), "CSV '", path,
              "': give at least one feature and one target column");
  const std::int64_t n = t.rows(), nc = std::int64_t(t.columns.size());
  auto take = [&](const std::vector<std::string>& names) {
    Tensor<T, cpu> out(Shape{n, std::int64_t(names.size())});
    for (std::size_t j = 0; j < names.size(); ++j) {
      const auto c = std::int64_t(t.column(names[j], path));
      for (std::int64_t i = 0; i < n; ++i)
        out.data()[i * std::int64_t(names.size()) + std::int64_t(j)] = T(t.values[std::size_t(i * nc + c)]);
    }
    return out;
  };
  Tensor<T, cpu> w;
  if (!spec.weight_column.empty()) {
    w = take({spec.weight_column});
    w.reshape(Shape{n});
  }
  return Dataset<T>(take(spec.feature_columns), take(spec.target_columns), std::move(w));
}

/// Reads a CSV file into a data set.
template <class T>
Dataset<T> read_csv(const std::string& path, const CsvSpec& spec) {
  return table_to_dataset<T>(read_csv_table(path), spec, path);
}

}  // namespace hepnn::data
