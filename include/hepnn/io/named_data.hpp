/// @file io/named_data.hpp
/// @brief The data of a functional Model in HDF5, by name: read_named_dataset maps datasets (or
/// 1-D columns) of a file to the model's inputs and outputs; write_named_dataset writes a
/// NamedDataset so that read_named_dataset and io::NamedStreamingSource give it back by name.
///
/// A file written here holds `inputs/<name>`, `targets/<name>`, `weights` and, for outputs with
/// weights of their own, `output_weights/<name>`, and records which is which in the root text
/// attribute `hepnn_named_roles` (JSON: {"version": 1, "inputs": {name: dataset}, "targets":
/// {...}, "weights": dataset, "output_weights": {...}}).
#pragma once
#include "hepnn/core/config.hpp"
#include <map>
#include <string>

#include "hepnn/data/named_dataset.hpp"
#include "hepnn/io/data_file.hpp"

namespace hepnn::inline HEPNN_ABI::io {

/// Which datasets of a file hold the data of each input and output, by the model's names. Each
/// is one (N, ...) dataset (`{"jet", {"jet_features"}}`) or 1-D columns stacked side by side
/// (`{"jet", {.columns = {"pt", "eta", "phi"}}}`). Left empty, `inputs` and `targets` mean "as
/// the file's `hepnn_named_roles` attribute records" (a file of write_named_dataset). Weights:
/// the dataset named in `weights`, else the file's recorded one, else a dataset "weights" if the
/// file has one, else 1; `ignore_weights` trains unweighted on purpose.
struct NamedDataSpec {
  std::map<std::string, Role> inputs = {};                 ///< input name -> dataset or columns
  std::map<std::string, Role> targets = {};                ///< output name -> dataset or columns
  std::string weights = {};                                ///< the event weights' 1-D dataset (see above)
  std::map<std::string, std::string> output_weights = {};  ///< output name -> 1-D dataset of its own weights
  bool ignore_weights = false;                             ///< read every weight as 1 (deliberate)
};

/// The name of the root attribute that records the named roles of a file's datasets.
inline constexpr const char* named_roles_attribute = "hepnn_named_roles";

namespace detail {

/// The roles of a named data file: what the spec gives, else what the file records.
inline NamedDataSpec resolve_named(const h5::File& f, const NamedDataSpec& spec, const char* who) {
  const std::string where = std::string(who) + " '" + f.path() + "': ";
  HEPNN_CHECK(!(spec.ignore_weights && (!spec.weights.empty() || !spec.output_weights.empty())), where,
              "ignore_weights together with weights to read");
  HEPNN_CHECK(!spec.inputs.empty() || spec.targets.empty(), where,
              "targets named without the inputs; name the datasets of both, or of neither (then the file's record is used)");
  NamedDataSpec r = spec;
  if (spec.inputs.empty()) {
    HEPNN_CHECK(f.has_attribute("/", named_roles_attribute), where, "the file has no '", named_roles_attribute,
                "' attribute (it was not written by io::write_named_dataset); name the datasets of the inputs and "
                "targets in NamedDataSpec");
    const nlohmann::json j = nlohmann::json::parse(f.read_text_attribute("/", named_roles_attribute), nullptr, false);
    const std::string aw = where + "attribute '" + named_roles_attribute + "': ";
    HEPNN_CHECK(!j.is_discarded() && j.is_object(), aw, "is not a JSON object");
    auto names = [&](const char* key, bool required) {
      std::map<std::string, std::string> m;
      if (!j.contains(key)) {
        HEPNN_CHECK(!required, aw, "has no \"", key, "\"");
        return m;
      }
      HEPNN_CHECK(j.at(key).is_object(), aw, "\"", key, "\" must map names to dataset names");
      for (const auto& [k, v] : j.at(key).items()) {
        HEPNN_CHECK(v.is_string() && !v.get<std::string>().empty(), aw, "\"", key, "\".\"", k, "\" must be a dataset name");
        m.emplace(k, v.get<std::string>());
      }
      HEPNN_CHECK(!required || !m.empty(), aw, "\"", key, "\" is empty");
      return m;
    };
    for (const auto& [k, v] : names("inputs", true)) r.inputs.emplace(k, Role{v, {}});
    for (const auto& [k, v] : names("targets", false)) r.targets.emplace(k, Role{v, {}});
    if (!spec.ignore_weights) {
      if (spec.weights.empty() && j.contains("weights") && !j.at("weights").is_null()) {
        HEPNN_CHECK(j.at("weights").is_string(), aw, "\"weights\" must be a dataset name");
        r.weights = j.at("weights").get<std::string>();
      }
      if (spec.output_weights.empty()) r.output_weights = names("output_weights", false);
    }
  }
  if (!spec.ignore_weights && r.weights.empty() && f.exists("weights")) r.weights = "weights";
  if (spec.ignore_weights) r.output_weights.clear();
  for (const auto& [k, v] : r.output_weights)
    HEPNN_CHECK(r.targets.count(k), where, "weights for output '", k, "', which has no targets");
  return r;
}

/// The first dataset of a role, to name it in messages.
inline const std::string& role_name(const Role& r) { return r.columns.empty() ? r.name : r.columns.front(); }

/// A name used as part of a dataset path: not empty, no '/'.
inline void check_part_name(const std::string& name, const std::string& what, const std::string& path) {
  HEPNN_CHECK(!name.empty() && name.find('/') == std::string::npos, "write_named_dataset '", path, "': ", what, " '",
              name, "' cannot name a dataset (it is empty or contains '/')");
}

}  // namespace detail

/// Reads the inputs, targets and weights of a functional model by name (see NamedDataSpec);
/// every dataset must have the same number of rows, which an error names otherwise.
template <class T>
data::NamedDataset<T> read_named_dataset(const std::string& path, const NamedDataSpec& spec = {}) {
  const h5::File f(path, h5::File::Mode::read);
  const NamedDataSpec r = detail::resolve_named(f, spec, "read_named_dataset");
  std::int64_t n = -1;
  std::string first;
  auto rows = [&](const Tensor<T, cpu>& t, const std::string& dataset, const std::string& what) {
    if (n < 0) {
      n = t.shape()[0];
      first = dataset;
    }
    HEPNN_CHECK(t.shape()[0] == n, f.where(dataset), "(", what, ") has ", t.shape()[0], " rows but '", first, "' has ", n);
  };
  typename data::NamedDataset<T>::Tensors in, tg, ow;
  for (const auto& [name, role] : r.inputs) {
    Tensor<T, cpu> t = read_role<T>(f, role);
    rows(t, detail::role_name(role), "input '" + name + "'");
    in.emplace(name, std::move(t));
  }
  for (const auto& [name, role] : r.targets) {
    Tensor<T, cpu> t = read_role<T>(f, role);
    rows(t, detail::role_name(role), "targets of '" + name + "'");
    tg.emplace(name, std::move(t));
  }
  auto weights = [&](const std::string& dataset, const std::string& what) {
    Tensor<T, cpu> w = read_tensor<T>(f, dataset);
    HEPNN_CHECK(w.rank() == 1 || (w.rank() == 2 && w.shape()[1] == 1), f.where(dataset), what,
                " must be 1-D, got shape ", w.shape().str());
    rows(w, dataset, what);
    w.reshape(Shape{w.shape()[0]});
    return w;
  };
  Tensor<T, cpu> w;
  if (!r.weights.empty()) w = weights(r.weights, "event weights");
  for (const auto& [name, dataset] : r.output_weights) ow.emplace(name, weights(dataset, "weights of output '" + name + "'"));
  return data::NamedDataset<T>(std::move(in), std::move(tg), std::move(w), std::move(ow));
}

/// Writes a NamedDataset to a new file (replacing one that exists), atomically: the file appears
/// complete or not at all. Names become dataset paths (see the top of this file), so they may
/// not contain '/'.
template <class T>
void write_named_dataset(const std::string& path, const data::NamedDataset<T>& d) {
  HEPNN_CHECK(!d.empty(), "write_named_dataset '", path, "': the data set is empty");
  nlohmann::json j;
  j["version"] = 1;
  for (const auto& [k, t] : d.inputs()) {
    detail::check_part_name(k, "input", path);
    j["inputs"][k] = "inputs/" + k;
  }
  for (const auto& [k, t] : d.targets()) {
    detail::check_part_name(k, "output", path);
    j["targets"][k] = "targets/" + k;
  }
  j["weights"] = "weights";
  for (const auto& [k, t] : d.output_weights()) j["output_weights"][k] = "output_weights/" + k;
  detail::atomic_write(path, [&](h5::File& f) {
    for (const auto& [k, t] : d.inputs()) write_tensor(f, "inputs/" + k, t);
    for (const auto& [k, t] : d.targets()) write_tensor(f, "targets/" + k, t);
    write_tensor(f, "weights", d.weights());
    for (const auto& [k, t] : d.output_weights()) write_tensor(f, "output_weights/" + k, t);
    f.write_text_attribute("/", named_roles_attribute, j.dump());
  });
}

}  // namespace hepnn::io
