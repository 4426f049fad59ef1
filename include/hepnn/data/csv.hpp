/// @file data/csv.hpp
/// @brief Readers for numeric text tables: CSV with a header line, and whitespace- or
/// tab-separated files with or without one (the HIGGS / LightGBM format: label, then features).
///
/// Blank lines and lines starting with '#' are skipped. Every value must parse completely as a
/// number (no silent zero for "n/a" or an empty cell), every row must have as many values as the
/// first one; errors name the file, the line and the column. Numbers are read with
/// std::from_chars (independent of the C locale); a leading '+' is allowed.
#pragma once
#include "hepnn/core/config.hpp"
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <istream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "hepnn/core/error.hpp"
#include "hepnn/data/dataset.hpp"

namespace hepnn::inline HEPNN_ABI::data {

/// A table read from text: column names and the values row by row.
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

/// How the values of a line are separated.
enum class Separator {
  comma,       ///< exactly one ',' between values (spaces around a value are ignored)
  whitespace,  ///< any run of spaces and tabs (leading and trailing ones ignored)
};

/// The layout of a text table. The default is CSV with a header line (what parse_csv reads).
struct TextOptions {
  Separator separator = Separator::comma;
  /// true: the first line that is not blank or a comment holds the column names.
  /// false: every line is data; columns are named by `names`, or "c0", "c1", ... when empty.
  bool header = true;
  std::vector<std::string> names = {};  // only for header = false
};

namespace detail {
inline std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}
inline std::string_view trim_view(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\v\f");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\v\f") - b + 1);
}
/// Splits an already trimmed, non-empty line into `cells` (views into `line`).
inline void split_cells(std::string_view line, Separator sep, std::vector<std::string_view>& cells) {
  cells.clear();
  if (sep == Separator::comma) {
    std::size_t start = 0;
    while (true) {
      const auto pos = line.find(',', start);
      cells.push_back(trim_view(line.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start)));
      if (pos == std::string_view::npos) break;
      start = pos + 1;
    }
    return;
  }
  constexpr std::string_view blanks = " \t\r\v\f";
  std::size_t start = line.find_first_not_of(blanks);
  while (start != std::string_view::npos) {
    const auto end = line.find_first_of(blanks, start);
    cells.push_back(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    start = end == std::string_view::npos ? end : line.find_first_not_of(blanks, end);
  }
}
/// The whole of `v` as a number, or false (empty, trailing characters, out of range).
inline bool parse_number(std::string_view v, double& out) {
  if (!v.empty() && v[0] == '+') {
    v.remove_prefix(1);
    if (!v.empty() && v[0] == '-') return false;
  }
  if (v.empty()) return false;
  const auto r = std::from_chars(v.data(), v.data() + v.size(), out);
  return r.ec == std::errc() && r.ptr == v.data() + v.size();
}
/// "CSV 'path'" or "text file 'path'", the start of every message about the file.
inline std::string text_source(const std::string& source, Separator sep) {
  return (sep == Separator::comma ? "CSV '" : "text file '") + source + "'";
}
}  // namespace detail

/// Parses a text table (`source` names it in errors) laid out as `o` says.
inline CsvTable parse_text(std::istream& in, const std::string& source, const TextOptions& o = {}) {
  const std::string src = detail::text_source(source, o.separator);
  HEPNN_CHECK(o.header == false || o.names.empty(), src, ": column names are given, but the file has a header line",
              " (give names only with header = false)");
  CsvTable t;
  // `where` says where the names come from: ", line N (the header)" or " (column names given)"
  auto set_names = [&](const auto& names, const std::string& where) {
    for (const auto& c : names) {
      HEPNN_CHECK(!c.empty(), src, where, ": empty column name");
      for (const auto& prev : t.columns) HEPNN_CHECK(prev != c, src, where, ": column '", c, "' appears twice");
      t.columns.emplace_back(c);
    }
  };
  if (!o.header && !o.names.empty()) set_names(o.names, " (column names given)");
  bool have_columns = !t.columns.empty();
  std::string expected;  // what a row must match, for the ragged-row error
  if (!o.names.empty()) expected = ::hepnn::error_detail::concat(o.names.size(), " column names were given");
  std::string line;
  std::vector<std::string_view> cells;
  std::int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string_view s = detail::trim_view(line);
    if (s.empty() || s[0] == '#') continue;
    detail::split_cells(s, o.separator, cells);
    if (o.header && !have_columns) {
      set_names(cells, ::hepnn::error_detail::concat(", line ", line_no, " (the header)"));
      have_columns = true;
      expected = ::hepnn::error_detail::concat("the header has ", t.columns.size(), " columns");
      continue;
    }
    if (!have_columns) {  // header-less, no names: "c0", "c1", ... from the first row
      // (concat, not "c" + std::to_string(c): GCC 12 warns falsely on that at -O3)
      for (std::size_t c = 0; c < cells.size(); ++c) t.columns.push_back(::hepnn::error_detail::concat('c', c));
      have_columns = true;
      expected = ::hepnn::error_detail::concat("the first row (line ", line_no, ") has ", cells.size());
    }
    HEPNN_CHECK(cells.size() == t.columns.size(), src, ", line ", line_no, ": ", cells.size(), " values, but ", expected);
    for (std::size_t c = 0; c < cells.size(); ++c) {
      double d = 0.0;
      HEPNN_CHECK(detail::parse_number(cells[c], d), src, ", line ", line_no, ", column ", c + 1, " ('", t.columns[c],
                  "'): '", cells[c], "' is not a number");
      t.values.push_back(d);
    }
  }
  HEPNN_CHECK(!in.bad(), src, ": read error after line ", line_no);
  if (o.header) HEPNN_CHECK(!t.columns.empty(), src, ": no header line");
  else HEPNN_CHECK(!t.columns.empty(), src, ": no data rows (and no column names given)");
  return t;
}

/// Parses CSV text with a header line (`source` names it in errors).
inline CsvTable parse_csv(std::istream& in, const std::string& source) { return parse_text(in, source, {}); }

/// Reads a text table from a file laid out as `o` says.
inline CsvTable read_text_table(const std::string& path, const TextOptions& o = {}) {
  std::ifstream in(path);
  HEPNN_CHECK(in.good(), detail::text_source(path, o.separator), ": cannot open it (missing or not readable)");
  return parse_text(in, path, o);
}

inline CsvTable read_csv_table(const std::string& path) { return read_text_table(path, {}); }

/// Which columns of a CSV table make a data set; weights 1 when weight_column is empty.
struct CsvSpec {
  std::vector<std::string> feature_columns;
  std::vector<std::string> target_columns;
  std::string weight_column = {};
};

namespace detail {
/// The named columns of a table as an (N, names.size()) tensor, in the order given.
template <class T>
Tensor<T, cpu> take_columns(const CsvTable& t, const std::vector<std::string>& names, const std::string& path) {
  const std::int64_t n = t.rows(), nc = std::int64_t(t.columns.size()), k = std::int64_t(names.size());
  Tensor<T, cpu> out(Shape{n, k});
  for (std::int64_t j = 0; j < k; ++j) {
    const auto c = std::int64_t(t.column(names[std::size_t(j)], path));
    for (std::int64_t i = 0; i < n; ++i) out.data()[i * k + j] = T(t.values[std::size_t(i * nc + c)]);
  }
  return out;
}
}  // namespace detail

template <class T>
Dataset<T> table_to_dataset(const CsvTable& t, const CsvSpec& spec, const std::string& path = "") {
  HEPNN_CHECK(!spec.feature_columns.empty() && !spec.target_columns.empty(), "CSV '", path,
              "': give at least one feature and one target column");
  Tensor<T, cpu> w;
  if (!spec.weight_column.empty()) {
    w = detail::take_columns<T>(t, {spec.weight_column}, path);
    w.reshape(Shape{t.rows()});
  }
  return Dataset<T>(detail::take_columns<T>(t, spec.feature_columns, path),
                    detail::take_columns<T>(t, spec.target_columns, path), std::move(w));
}

/// Reads a CSV file into a data set.
template <class T>
Dataset<T> read_csv(const std::string& path, const CsvSpec& spec) {
  return table_to_dataset<T>(read_csv_table(path), spec, path);
}

/// Reads a text file laid out as `o` says into a data set of the named columns.
template <class T>
Dataset<T> read_text(const std::string& path, const TextOptions& o, const CsvSpec& spec) {
  return table_to_dataset<T>(read_text_table(path, o), spec, path);
}

/// A data set whose label is one column and whose features are all the other columns, in file
/// order (the HIGGS / LightGBM layout: label in column 0, features after it).
struct LabelSpec {
  std::string target = "c0";             // the label column
  std::string weight_column = {};        // a column of the table holding event weights, if any
  std::vector<std::string> ignore = {};  // further columns that are neither features nor weights
  /// A header-less text file with one weight per line, one line per row of the table
  /// (LightGBM's "<data file>.weight"); at most one of weight_column and weight_file.
  std::string weight_file = {};
};

/// Builds a data set from a table: `spec.target` as the (N, 1) targets, every other column except
/// the weight column and the ignored ones as features, in table order.
template <class T>
Dataset<T> table_to_labeled_dataset(const CsvTable& t, const LabelSpec& spec, const std::string& path = "") {
  HEPNN_CHECK(spec.weight_column.empty() || spec.weight_file.empty(), "'", path,
              "': give the weights as a column or as a file, not both");
  CsvSpec cs{.feature_columns = {}, .target_columns = {spec.target}, .weight_column = spec.weight_column};
  (void)t.column(spec.target, path);  // names the columns there are when the label is missing
  if (!spec.weight_column.empty()) (void)t.column(spec.weight_column, path);
  for (const auto& name : spec.ignore) (void)t.column(name, path);
  for (const auto& c : t.columns) {
    bool skip = c == spec.target || c == spec.weight_column;
    for (const auto& name : spec.ignore) skip = skip || c == name;
    if (!skip) cs.feature_columns.push_back(c);
  }
  HEPNN_CHECK(!cs.feature_columns.empty(), "'", path, "': no column is left for the features");
  if (spec.weight_file.empty()) return table_to_dataset<T>(t, cs, path);

  const CsvTable wt = read_text_table(spec.weight_file, {.separator = Separator::whitespace, .header = false});
  HEPNN_CHECK(wt.columns.size() == 1, "text file '", spec.weight_file, "': ", wt.columns.size(),
              " values per line, expected one weight per line");
  HEPNN_CHECK(wt.rows() == t.rows(), "text file '", spec.weight_file, "': ", wt.rows(), " weights, but '", path,
              "' has ", t.rows(), " rows");
  Tensor<T, cpu> w = detail::take_columns<T>(wt, wt.columns, spec.weight_file);
  w.reshape(Shape{t.rows()});
  return Dataset<T>(detail::take_columns<T>(t, cs.feature_columns, path),
                    detail::take_columns<T>(t, cs.target_columns, path), std::move(w));
}

/// Reads a text file into a data set with one label column, e.g. a HIGGS file with its weights:
/// `read_labeled_text<float>("binary.train", {.separator = Separator::whitespace, .header = false},
///                          {.target = "c0", .weight_file = "binary.train.weight"})`.
template <class T>
Dataset<T> read_labeled_text(const std::string& path, const TextOptions& o, const LabelSpec& spec = {}) {
  return table_to_labeled_dataset<T>(read_text_table(path, o), spec, path);
}

}  // namespace hepnn::data
