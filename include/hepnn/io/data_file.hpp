/// @file io/data_file.hpp
/// @brief Reading and writing data sets (features, targets, event weights) in HDF5 files.
///
/// Features are either named 1-D column datasets (stacked side by side into (N, columns)) or one
/// N-D dataset (N, ...) such as images; targets likewise; weights are one 1-D dataset. Any
/// integer or floating-point type in the file is converted to the model's type T.
///
/// Files record which datasets play which role: write_dataset (and tools/root_to_hdf5.py) put a
/// JSON text attribute `hepnn_roles` on the root group, e.g.
/// `{"version": 1, "features": "features", "targets": "targets", "weights": "weights"}` (a
/// string names one N-D dataset, a list names 1-D columns). Readers use it for every role the
/// caller leaves empty, so a file hepnn wrote reads back complete by default, weights included.
/// Leaving weights out of a file that has them takes `ignore_weights = true`.
#pragma once
#include "hepnn/core/config.hpp"
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hepnn/core/tensor.hpp"
#include "hepnn/data/dataset.hpp"
#include "hepnn/io/hdf5.hpp"

namespace hepnn::inline HEPNN_ABI::io {

/// Which datasets of a file make a data set. Empty means "as the file's `hepnn_roles` attribute
/// says", and for files without one: features "features", targets "targets", weights "weights"
/// when the file has such a dataset (else weights 1). Give `features` (one dataset) or
/// `feature_columns`, and `targets` or `target_columns`.
struct DataSpec {
  std::string features = {};
  std::vector<std::string> feature_columns = {};
  std::string targets = {};
  std::vector<std::string> target_columns = {};
  std::string weights = {};
  /// Read the events unweighted even though the file has weights (a deliberate choice, never the
  /// default); an error together with `weights`.
  bool ignore_weights = false;
};

/// Names under which write_dataset stores the three parts.
struct DataNames {
  std::string features = "features";
  std::string targets = "targets";
  std::string weights = "weights";
};

/// The name of the root attribute that records the roles of a file's datasets.
inline constexpr const char* roles_attribute = "hepnn_roles";

/// One role of a file: one N-D dataset (`name`), or 1-D columns stacked side by side.
struct Role {
  std::string name = {};
  std::vector<std::string> columns = {};
  bool empty() const { return name.empty() && columns.empty(); }
};

/// The roles a file records (all empty when it has no `hepnn_roles` attribute).
struct FileRoles {
  bool recorded = false;
  Role features, targets;
  std::string weights;  // empty: the file has no weights
};

/// Reads the `hepnn_roles` attribute of an open file; a malformed one is an error naming the file.
inline FileRoles read_roles(const h5::File& f) {
  FileRoles r;
  if (!f.has_attribute("/", roles_attribute)) return r;
  const std::string text = f.read_text_attribute("/", roles_attribute);
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  const std::string where = "file '" + f.path() + "', attribute '" + roles_attribute + "': ";
  HEPNN_CHECK(!j.is_discarded() && j.is_object(), where, "is not a JSON object");
  auto role = [&](const char* key) {
    Role out;
    HEPNN_CHECK(j.contains(key), where, "has no \"", key, "\"");
    const nlohmann::json& v = j.at(key);
    if (v.is_string()) {
      out.name = v.get<std::string>();
    } else {
      HEPNN_CHECK(v.is_array() && !v.empty(), where, "\"", key, "\" must be a dataset name or a list of column names");
      for (const auto& c : v) {
        HEPNN_CHECK(c.is_string(), where, "\"", key, "\" must list column names (strings)");
        out.columns.push_back(c.get<std::string>());
      }
    }
    HEPNN_CHECK(!out.empty() && (out.columns.empty() || !out.columns[0].empty()), where, "\"", key, "\" is empty");
    return out;
  };
  r.recorded = true;
  r.features = role("features");
  r.targets = role("targets");
  if (j.contains("weights") && !j.at("weights").is_null()) {
    HEPNN_CHECK(j.at("weights").is_string() && !j.at("weights").get<std::string>().empty(), where,
                "\"weights\" must be a dataset name");
    r.weights = j.at("weights").get<std::string>();
  }
  return r;
}

/// Records the roles of a file's datasets (see the top of this file).
inline void write_roles(h5::File& f, const Role& features, const Role& targets, const std::string& weights) {
  nlohmann::json j;
  j["version"] = 1;
  auto put = [&](const char* key, const Role& r) {
    if (r.columns.empty()) j[key] = r.name;
    else j[key] = r.columns;
  };
  put("features", features);
  put("targets", targets);
  if (!weights.empty()) j["weights"] = weights;
  f.write_text_attribute("/", roles_attribute, j.dump());
}

/// The datasets a reader uses: the caller's choice where given, else the file's recorded roles,
/// else the conventional names (see DataSpec).
struct ResolvedSpec {
  Role features, targets;
  std::string weights;  // empty: weights 1
};

inline ResolvedSpec resolve(const h5::File& f, const DataSpec& spec) {
  HEPNN_CHECK(!(spec.ignore_weights && !spec.weights.empty()), "file '", f.path(), "': DataSpec asks for weights '",
              spec.weights, "' and ignore_weights together");
  HEPNN_CHECK(spec.features.empty() || spec.feature_columns.empty(), "file '", f.path(),
              "': DataSpec gives both features '", spec.features, "' and feature_columns");
  HEPNN_CHECK(spec.targets.empty() || spec.target_columns.empty(), "file '", f.path(),
              "': DataSpec gives both targets '", spec.targets, "' and target_columns");
  const FileRoles roles = read_roles(f);
  ResolvedSpec r;
  auto pick = [&](const std::string& name, const std::vector<std::string>& cols, const Role& recorded, const char* def) {
    if (!name.empty() || !cols.empty()) return Role{name, cols};
    if (roles.recorded) return recorded;
    return Role{def, {}};
  };
  r.features = pick(spec.features, spec.feature_columns, roles.features, "features");
  r.targets = pick(spec.targets, spec.target_columns, roles.targets, "targets");
  if (spec.ignore_weights) return r;
  if (!spec.weights.empty()) r.weights = spec.weights;
  else if (roles.recorded) r.weights = roles.weights;
  else if (f.exists("weights")) r.weights = "weights";
  return r;
}

/// The numeric dataset `name` of an open file as a tensor of its own shape (rank 1 to 5).
template <class T>
Tensor<T, cpu> read_tensor(const h5::File& f, const std::string& name) {
  std::vector<std::int64_t> dims;
  std::vector<T> v = f.read<T>(name, &dims);
  HEPNN_CHECK(!dims.empty() && dims.size() <= std::size_t(Shape::max_rank), f.where(name), "has shape ", h5::shape_str(dims),
              "; expected rank 1 to ", Shape::max_rank);
  Shape s;
  for (auto d : dims) s.push_back(d);
  return Tensor<T, cpu>(s, v);
}

/// 1-D datasets of equal length, stacked as the columns of an (N, columns) tensor.
template <class T>
Tensor<T, cpu> read_columns(const h5::File& f, const std::vector<std::string>& names) {
  HEPNN_CHECK(!names.empty(), "file '", f.path(), "': no column names given");
  std::int64_t n = -1;
  const auto cols = std::int64_t(names.size());
  Tensor<T, cpu> out;
  for (std::int64_t c = 0; c < cols; ++c) {
    const std::string& name = names[std::size_t(c)];
    std::vector<std::int64_t> dims;
    const std::vector<T> v = f.read<T>(name, &dims);
    HEPNN_CHECK(dims.size() == 1 || (dims.size() == 2 && dims[1] == 1), f.where(name), "a column must be 1-D, got shape ",
                h5::shape_str(dims));
    if (n < 0) {
      n = dims[0];
      out = Tensor<T, cpu>(Shape{n, cols});
    }
    HEPNN_CHECK(dims[0] == n, f.where(name), "has ", dims[0], " rows but column '", names[0], "' has ", n);
    for (std::int64_t i = 0; i < n; ++i) out.data()[i * cols + c] = v[std::size_t(i)];
  }
  return out;
}

/// One role's data: one N-D dataset, or 1-D columns stacked.
template <class T>
Tensor<T, cpu> read_role(const h5::File& f, const Role& r) {
  return r.columns.empty() ? read_tensor<T>(f, r.name) : read_columns<T>(f, r.columns);
}

/// Reads features, targets and weights (see DataSpec for which datasets); every part must have
/// the same number of rows.
template <class T>
data::Dataset<T> read_dataset(const std::string& path, const DataSpec& spec = {}) {
  const h5::File f(path, h5::File::Mode::read);
  const ResolvedSpec rs = resolve(f, spec);
  Tensor<T, cpu> x = read_role<T>(f, rs.features);
  Tensor<T, cpu> y = read_role<T>(f, rs.targets);
  const std::string xname = rs.features.columns.empty() ? rs.features.name : rs.features.columns[0];
  const std::string yname = rs.targets.columns.empty() ? rs.targets.name : rs.targets.columns[0];
  HEPNN_CHECK(y.shape()[0] == x.shape()[0], f.where(yname), "has ", y.shape()[0], " rows but the features '", xname,
              "' have ", x.shape()[0]);
  Tensor<T, cpu> w;
  if (!rs.weights.empty()) {
    w = read_tensor<T>(f, rs.weights);
    HEPNN_CHECK(w.rank() == 1 || (w.rank() == 2 && w.shape()[1] == 1), f.where(rs.weights),
                "weights must be 1-D, got shape ", w.shape().str());
    HEPNN_CHECK(w.shape()[0] == x.shape()[0], f.where(rs.weights), "has ", w.shape()[0],
                " rows but the features '", xname, "' have ", x.shape()[0]);
    w.reshape(Shape{w.shape()[0]});
  }
  return data::Dataset<T>(std::move(x), std::move(y), std::move(w));
}

/// Writes a tensor as a dataset of its shape and type (chunked by rows, so readers can stream it).
template <class T>
void write_tensor(h5::File& f, const std::string& name, const Tensor<T, cpu>& t, std::int64_t chunk_rows = 4096) {
  std::vector<std::int64_t> dims;
  for (int i = 0; i < t.rank(); ++i) dims.push_back(t.shape()[i]);
  f.write<T>(name, dims, t.data(), chunk_rows);
}

/// Writes a data set to a new file (replacing one that exists); weights only when the set has
/// them. The roles of the datasets are recorded, so read_dataset(path) gives the set back whole.
/// The file appears complete or not at all (written next to `path`, then renamed).
template <class T>
void write_dataset(const std::string& path, const data::Dataset<T>& d, const DataNames& names = {}) {
  HEPNN_CHECK(!names.features.empty() && !names.targets.empty() && (!d.weighted() || !names.weights.empty()),
              "write_dataset '", path, "': empty dataset name in DataNames");
  HEPNN_CHECK(names.features != names.targets && (!d.weighted() || (names.weights != names.features && names.weights != names.targets)),
              "write_dataset '", path, "': DataNames must be three different names");
  detail::atomic_write(path, [&](h5::File& f) {  // a crash or full disk never leaves half a file
    write_tensor(f, names.features, d.features());
    write_tensor(f, names.targets, d.targets());
    if (d.weighted()) write_tensor(f, names.weights, d.weights());
    write_roles(f, Role{names.features, {}}, Role{names.targets, {}}, d.weighted() ? names.weights : std::string());
  });
}

}  // namespace hepnn::io
