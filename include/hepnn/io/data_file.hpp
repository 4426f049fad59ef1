/// @file io/data_file.hpp
/// @brief Reading and writing data sets (features, targets, event weights) in HDF5 files.
///
/// Features are either named 1-D column datasets (stacked side by side into (N, columns)) or one
/// N-D dataset (N, ...) such as images; targets likewise; weights are one 1-D dataset. Any
/// integer or floating-point type in the file is converted to the model's type T.
#pragma once
#include "hepnn/core/config.hpp"
#include <string>
#include <vector>

#include "hepnn/core/tensor.hpp"
#include "hepnn/data/dataset.hpp"
#include "hepnn/io/hdf5.hpp"

namespace hepnn::inline HEPNN_ABI::io {

/// Which datasets of a file make a data set. Give `features` (one dataset) or `feature_columns`,
/// and `targets` or `target_columns`; `weights` is optional (weights 1 when empty).
struct DataSpec {
  std::string features = "features";
  std::vector<std::string> feature_columns = {};
  std::string targets = "targets";
  std::vector<std::string> target_columns = {};
  std::string weights = {};
};

/// Names under which write_dataset stores the three parts.
struct DataNames {
  std::string features = "features";
  std::string targets = "targets";
  std::string weights = "weights";
};

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

/// Reads features, targets and (optionally) weights; every part must have the same number of rows.
template <class T>
data::Dataset<T> read_dataset(const std::string& path, const DataSpec& spec = {}) {
  const h5::File f(path, h5::File::Mode::read);
  Tensor<T, cpu> x = spec.feature_columns.empty() ? read_tensor<T>(f, spec.features) : read_columns<T>(f, spec.feature_columns);
  Tensor<T, cpu> y = spec.target_columns.empty() ? read_tensor<T>(f, spec.targets) : read_columns<T>(f, spec.target_columns);
  const std::string xname = spec.feature_columns.empty() ? spec.features : spec.feature_columns[0];
  const std::string yname = spec.target_columns.empty() ? spec.targets : spec.target_columns[0];
  HEPNN_CHECK(y.shape()[0] == x.shape()[0], f.where(yname), "has ", y.shape()[0], " rows but the features '", xname,
              "' have ", x.shape()[0]);
  Tensor<T, cpu> w;
  if (!spec.weights.empty()) {
    w = read_tensor<T>(f, spec.weights);
    HEPNN_CHECK(w.rank() == 1 || (w.rank() == 2 && w.shape()[1] == 1), f.where(spec.weights),
                "weights must be 1-D, got shape ", w.shape().str());
    HEPNN_CHECK(w.shape()[0] == x.shape()[0], f.where(spec.weights), "has ", w.shape()[0],
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

/// Writes a data set to a new file (replacing one that exists); weights only when the set has them.
template <class T>
void write_dataset(const std::string& path, const data::Dataset<T>& d, const DataNames& names = {}) {
  h5::File f(path, h5::File::Mode::create);
  write_tensor(f, names.features, d.features());
  write_tensor(f, names.targets, d.targets());
  if (d.weighted()) write_tensor(f, names.weights, d.weights());
  f.close();
}

}  // namespace hepnn::io
