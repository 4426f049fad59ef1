/// @file io/model_file.hpp
/// @brief One HDF5 file per model: architecture (JSON), weights, non-trainable state, input
/// preprocessing, optimizer state and epoch (for resuming), and metadata (hepnn version,
/// creation time, training history). Layout: docs/file-format.md.
///
/// Writes go to a temporary file in the same directory that is renamed into place once it is
/// complete and flushed to disk, so a crash never leaves a half-written model under `path`.
#pragma once
#include "hepnn/core/config.hpp"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "hepnn/core/version.hpp"
#include "hepnn/io/config_json.hpp"
#include "hepnn/io/hdf5.hpp"
#include "hepnn/layers/registry.hpp"
#include "hepnn/train/sequential.hpp"

namespace hepnn::inline HEPNN_ABI::io {

/// The newest layout this hepnn writes and reads; files with a larger number are refused.
/// Version 2 added functional models (model_config class "Model", io/graph_file.hpp); a
/// Sequential's layout is the same in versions 1 and 2, and files of both load.
inline constexpr std::int64_t model_format_version = 2;

struct SaveOptions {
  std::optional<int> epoch = {};     // the last finished epoch (0-based), for resuming
  const History* history = nullptr;  // training history to keep in the file
  bool include_optimizer = true;     // optimizer state (needed to resume bitwise)
};

/// What a model file says about itself (read_model_info).
struct ModelFileInfo {
  std::int64_t format_version = 0;
  std::string hepnn_version, created, dtype;
  std::optional<int> epoch;
  History history;
};

namespace detail {
inline std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
template <class T>
const char* dtype_name() {
  return std::is_same_v<T, float> ? "float32" : "float64";
}
inline void check_name(const std::string& layer) {
  HEPNN_CHECK(!layer.empty() && layer.find('/') == std::string::npos && layer != "." && layer != "..",
              "save_model: layer name '", layer, "' cannot name a group in the file (no '/', not empty)");
}
inline json parse_json(const h5::File& f, const std::string& name) {
  const std::string text = f.read_string(name);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(f.where(name) + "is not valid JSON (" + e.what() + ")");
  }
}
/// Runs fn, prefixing any hepnn::Error or JSON error with the file and object.
template <class F>
auto in_object(const h5::File& f, const std::string& name, F&& fn) {
  try {
    return fn();
  } catch (const json::exception& e) {
    throw Error(f.where(name) + e.what());
  } catch (const std::bad_alloc&) {
    throw Error(f.where(name) + "out of memory (damaged sizes?)");
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.find("file '" + f.path() + "'") != std::string::npos) throw;
    throw Error(f.where(name) + what.substr(7));
  }
}
inline std::vector<std::int64_t> dims_of(const Shape& s) {
  std::vector<std::int64_t> d;
  for (int k = 0; k < s.rank(); ++k) d.push_back(s[k]);
  return d;
}
/// A per-sample shape from a JSON list of extents (checked: 1 to max_rank positive extents,
/// fewer than 2^31 elements).
inline Shape shape_from_json(const json& j, const std::string& where) {
  HEPNN_CHECK(j.is_array() && !j.empty() && j.size() <= std::size_t(Shape::max_rank), where,
              ": a shape must be a list of 1 to ", Shape::max_rank, " extents");
  Shape s;
  std::int64_t elems = 1;
  for (const auto& d : j) {
    HEPNN_CHECK(d.is_number_integer() && d.get<std::int64_t>() > 0 && d.get<std::int64_t>() < (1ll << 31), where,
                ": shape extents must be positive integers");
    elems *= d.get<std::int64_t>();
    HEPNN_CHECK(elems < (1ll << 31), where, ": a shape of more than 2^31 elements per sample");
    s.push_back(d.get<std::int64_t>());
  }
  return s;
}
/// The version attribute, metadata and the two configurations (every model file has them).
inline void write_header(h5::File& f, const json& model_config, const json& training) {
  f.write_attribute("/", "hepnn_format_version", model_format_version);
  f.write_string("meta/hepnn_version", hepnn_version);
  f.write_string("meta/created", utc_now());
  f.write_string("model_config", model_config.dump());
  f.write_string("training_config", training.dump());
}
/// The epoch and history of SaveOptions, when given.
inline void write_training(h5::File& f, std::optional<int> epoch, const History* history) {
  if (epoch) f.write<std::int64_t>("training/epoch", std::vector<std::int64_t>{*epoch});
  if (history) f.write_string("training/history", to_json(*history).dump());
}
/// A hepnn model file of a version this hepnn reads.
inline void check_version(const h5::File& f) {
  HEPNN_CHECK(f.exists("model_config"), f.where("model_config"), "missing: not a hepnn model file");
  const std::int64_t v = f.read_attribute("/", "hepnn_format_version");
  HEPNN_CHECK(v >= 1 && v <= model_format_version, f.where("/"), "written in model format version ", v,
              "; this hepnn (", hepnn_version, ") reads versions 1 to ", model_format_version,
              ": update hepnn to read it");
}
/// The optimizer's step count and learning-rate factor, written beside its state slots.
template <class Opt>
void write_optimizer_counters(h5::File& f, const Opt& opt) {
  f.write<std::int64_t>("optimizer/iterations", std::vector<std::int64_t>{opt.iterations()});
  f.write<double>("optimizer/lr_factor", std::vector<double>{opt.factor()});
}
/// Reads the optimizer group into opt: the counters (checked), the slots (read_slots()), and
/// no slot more than the optimizer has.
template <class Opt, class ReadSlots>
void read_optimizer(const h5::File& f, Opt& opt, ReadSlots&& read_slots) {
  const auto it = f.read<std::int64_t>("optimizer/iterations");
  HEPNN_CHECK(it.size() == 1 && it[0] >= 0, f.where("optimizer/iterations"), "must be one count >= 0");
  const auto factor = f.read<double>("optimizer/lr_factor");
  HEPNN_CHECK(factor.size() == 1 && std::isfinite(factor[0]) && factor[0] > 0, f.where("optimizer/lr_factor"),
              "must be one positive number");
  read_slots();
  HEPNN_CHECK(!f.exists("optimizer/slot_" + std::to_string(opt.state().size())), f.where("optimizer"),
              "has more state slots than the ", optimizer_name(opt.spec()), " optimizer uses");
  opt.set_iterations(it[0]);
  opt.set_factor(factor[0]);
}
/// Whether `path` holds a checkpoint to resume from (the model must be compiled then).
inline bool checkpoint_exists(bool compiled, const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0) return false;
  HEPNN_CHECK(compiled, "load_checkpoint: compile the model before resuming from '", path, "'");
  return true;
}
/// The epoch to resume from: the saved one + 1, or 0 when the file has none.
inline int resume_epoch(const h5::File& f) {
  if (!f.exists("training/epoch")) return 0;
  const auto e = f.read<std::int64_t>("training/epoch");
  HEPNN_CHECK(e.size() == 1 && e[0] >= 0 && e[0] < (1 << 30), f.where("training/epoch"), "must be one epoch number >= 0");
  return int(e[0]) + 1;
}
/// Writes the flat buffer `host` (layer slices at offsets) as group/<layer>/<param> datasets.
template <class T, class Device>
void write_layer_arrays(h5::File& f, const std::string& group, const Sequential<T, Device>& m,
                        const std::vector<T>& host, bool state) {
  for (std::size_t i = 0; i < m.num_layers(); ++i) {
    const auto& l = m.layer(i);
    std::int64_t off = state ? m.state_offset(i) : m.parameter_offset(i);
    for (const ParamInfo& p : state ? l.state_params() : l.params()) {
      f.write<T>(group + "/" + l.name() + "/" + p.name, dims_of(p.shape), host.data() + off);
      off += p.shape.size();
    }
  }
}
template <class T, class Device>
void read_layer_arrays(const h5::File& f, const std::string& group, const Sequential<T, Device>& m, std::vector<T>& host,
                       bool state) {
  for (std::size_t i = 0; i < m.num_layers(); ++i) {
    const auto& l = m.layer(i);
    std::int64_t off = state ? m.state_offset(i) : m.parameter_offset(i);
    for (const ParamInfo& p : state ? l.state_params() : l.params()) {
      const std::string name = group + "/" + l.name() + "/" + p.name;
      std::vector<std::int64_t> dims;
      const std::vector<T> v = f.read<T>(name, &dims);
      HEPNN_CHECK(dims == dims_of(p.shape), f.where(name), l.type(), " '", l.name(), "' expects ", p.name, " of shape ",
                  p.shape.str(), ", the file has ", h5::shape_str(dims));
      for (std::size_t k = 0; k < v.size(); ++k)
        HEPNN_CHECK(std::isfinite(v[k]), f.where(name), "holds a non-finite value (", v[k], ") at element ", k);
      std::copy(v.begin(), v.end(), host.begin() + off);
      off += p.shape.size();
    }
  }
}
template <class T, class Device>
void copy_to_model(Tensor<T, Device>& t, const std::vector<T>& host) {
  HEPNN_CHECK(std::int64_t(host.size()) == t.size(), "model file: ", host.size(), " values for a buffer of ", t.size());
  hepnn::detail::copy_bytes<Device, cpu>(t.data(), host.data(), sizeof(T) * host.size());
}

inline std::int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? std::int64_t(st.st_size) : 0;
}

/// Writes an input transform (when not empty) as `group`/kind, shift and scale.
template <class T>
void write_transform(h5::File& f, const std::string& group, const data::InputTransform<T>& t) {
  if (t.empty()) return;
  f.write_string(group + "/kind", t.kind);
  f.write<T>(group + "/shift", t.shift);
  f.write<T>(group + "/scale", t.scale);
}
/// Reads the input transform of `group`; a non-finite value is an error naming the file.
template <class T>
data::InputTransform<T> read_transform(const h5::File& f, const std::string& group) {
  data::InputTransform<T> t;
  t.kind = f.read_string(group + "/kind");
  t.shift = f.read<T>(group + "/shift");
  t.scale = f.read<T>(group + "/scale");
  for (std::size_t k = 0; k < t.shift.size() && k < t.scale.size(); ++k)
    HEPNN_CHECK(std::isfinite(t.shift[k]) && std::isfinite(t.scale[k]), f.where(group),
                "holds a non-finite value at element ", k);
  return t;
}

}  // namespace detail

/// Saves the model (any device; arrays are copied to the host) to one HDF5 file, atomically.
template <class T, class Device>
void save_model(const Sequential<T, Device>& m, const std::string& path, const SaveOptions& o = {}) {
  json layers = json::array();
  for (std::size_t i = 0; i < m.num_layers(); ++i) {
    detail::check_name(m.layer(i).name());
    HEPNN_CHECK(layer_registry().contains(m.layer(i).type()), "save_model: layer '", m.layer(i).name(),
                "' of type '", m.layer(i).type(), "' is not in the file format's layer registry (layers/registry.hpp)");
    layers.push_back(to_json(m.layer(i).config()));
  }
  const json model_config{{"class", "Sequential"}, {"dtype", detail::dtype_name<T>()},
                          {"input_shape", detail::dims_of(m.input_shape())},
                          {"layers", layers}};
  json training = {{"seed", m.seed()}, {"compiled", m.compiled()}};
  if (m.compiled()) {
    training["loss"] = to_json(m.loss());
    training["optimizer"] = to_json(m.optimizer().spec());
    json mets = json::array();
    for (const auto& x : m.metrics()) mets.push_back(to_json(x));
    training["metrics"] = mets;
  }
  const std::vector<T> params = m.parameters().to_vector(), state = m.state().to_vector();

  detail::atomic_write(path, [&](h5::File& f) {
    detail::write_header(f, model_config, training);
    f.create_group("weights");
    detail::write_layer_arrays(f, "weights", m, params, false);
    f.create_group("state");
    detail::write_layer_arrays(f, "state", m, state, true);
    detail::write_transform(f, "preprocessing", m.input_transform());
    if (m.compiled() && o.include_optimizer) {
      const auto& opt = m.optimizer();
      detail::write_optimizer_counters(f, opt);
      for (std::size_t s = 0; s < opt.state().size(); ++s)
        detail::write_layer_arrays(f, "optimizer/slot_" + std::to_string(s), m, opt.state()[s].to_vector(), false);
    }
    detail::write_training(f, o.epoch, o.history);
  });
}

/// Metadata of a model file: format version, hepnn version, creation time, epoch, history.
inline ModelFileInfo read_model_info(const std::string& path) {
  const h5::File f(path, h5::File::Mode::read);
  ModelFileInfo info;
  detail::check_version(f);
  info.format_version = f.read_attribute("/", "hepnn_format_version");
  info.hepnn_version = f.read_string("meta/hepnn_version");
  info.created = f.read_string("meta/created");
  info.dtype = detail::in_object(f, "model_config", [&] {
    return detail::field<std::string>(detail::parse_json(f, "model_config"), "dtype", "model_config");
  });
  if (const int next = detail::resume_epoch(f); next > 0) info.epoch = next - 1;
  if (f.exists("training/history"))
    info.history = detail::in_object(f, "training/history",
                                     [&] { return history_from_json(detail::parse_json(f, "training/history")); });
  return info;
}

namespace detail {
/// Builds the model that the file describes (layers, seed, compile); no arrays are read yet.
template <class T, class Device = cpu>
Sequential<T, Device> build_from_file(const h5::File& f) {
  const std::int64_t budget = std::max<std::int64_t>(1024, file_size(f.path()));  // >= 1 byte per value
  const json cfg = parse_json(f, "model_config");
  Sequential<T, Device> m = in_object(f, "model_config", [&] {
    const std::string cls = field<std::string>(cfg, "class", "model_config");
    HEPNN_CHECK(cls == "Sequential", "model class '", cls, "' is not Sequential",
                cls == "Model" ? " (a functional model: load it with io::load_functional_model)" : "");
    const std::string dt = field<std::string>(cfg, "dtype", "model_config");
    HEPNN_CHECK(dt == "float32" || dt == "float64", "dtype '", dt, "' is not float32 or float64");
    HEPNN_CHECK(cfg.contains("input_shape"), "field 'input_shape' is missing");
    const Shape in = shape_from_json(cfg["input_shape"], "input_shape");
    return Sequential<T, Device>(Input(in));
  });
  HEPNN_CHECK(cfg.contains("layers") && cfg["layers"].is_array(), f.where("model_config"), "'layers' must be a list");
  for (std::size_t i = 0; i < cfg["layers"].size(); ++i) {
    const std::string where = "model_config.layers[" + std::to_string(i) + "]";
    in_object(f, "model_config", [&] {
      layer_registry<Device>().append(m, layer_config_from_json(cfg["layers"][i], where), budget);
      return 0;
    });
  }
  const json tc = parse_json(f, "training_config");
  in_object(f, "training_config", [&] {
    HEPNN_CHECK(tc.contains("seed") && tc["seed"].is_number_unsigned(), "training_config: 'seed' must be an integer >= 0");
    m.initialize(tc["seed"].get<std::uint64_t>());
    if (field<bool>(tc, "compiled", "training_config")) {
      CompileOptions co;
      HEPNN_CHECK(tc.contains("loss") && tc.contains("optimizer"), "training_config: 'loss' or 'optimizer' is missing");
      co.loss = loss_from_json(tc["loss"]);
      co.optimizer = optimizer_from_json(tc["optimizer"]);
      HEPNN_CHECK(tc.contains("metrics") && tc["metrics"].is_array(), "training_config: 'metrics' must be a list");
      for (const auto& x : tc["metrics"]) co.metrics.push_back(metric_from_json(x));
      m.compile(co);
    }
    return 0;
  });
  return m;
}

/// Reads weights, state, preprocessing and (when present and compiled) the optimizer into m.
template <class T, class Device>
void read_arrays(const h5::File& f, Sequential<T, Device>& m) {
  std::vector<T> params(std::size_t(m.parameters().size()), T(0)), state(std::size_t(m.state().size()), T(0));
  read_layer_arrays(f, "weights", m, params, false);
  read_layer_arrays(f, "state", m, state, true);
  copy_to_model(m.parameters(), params);
  copy_to_model(m.state(), state);
  if (f.exists("preprocessing")) {
    data::InputTransform<T> t = read_transform<T>(f, "preprocessing");
    in_object(f, "preprocessing", [&] {
      m.set_input_transform(std::move(t));
      return 0;
    });
  }
  if (m.compiled() && f.exists("optimizer")) {
    auto& opt = m.optimizer();
    read_optimizer(f, opt, [&] {
      for (std::size_t s = 0; s < opt.state().size(); ++s) {
        // per layer and parameter like the weights: the flat buffer's padding depends on T
        std::vector<T> v = opt.state()[s].to_vector();
        read_layer_arrays(f, "optimizer/slot_" + std::to_string(s), m, v, false);
        copy_to_model(opt.state()[s], v);
      }
    });
  }
}

}  // namespace detail

/// Loads a model file into a new model of scalar type T on Device (a float64 file loads into
/// float and the other way round, with rounding; a file saved from a GPU model loads on the CPU
/// and the other way round). Compiled models come back compiled, with their optimizer state.
template <class T, class Device = cpu>
Sequential<T, Device> load_model(const std::string& path) {
  const h5::File f(path, h5::File::Mode::read);
  detail::check_version(f);
  Sequential<T, Device> m = detail::build_from_file<T, Device>(f);
  detail::read_arrays(f, m);
  return m;
}

/// Resuming: if `path` exists, loads its weights, state, preprocessing and optimizer into the
/// (compiled) model m, whose architecture must match, and returns the epoch to continue from
/// (the saved epoch + 1); returns 0 and changes nothing when there is no file yet.
template <class T, class Device>
int load_checkpoint(Sequential<T, Device>& m, const std::string& path) {
  if (!detail::checkpoint_exists(m.compiled(), path)) return 0;
  const h5::File f(path, h5::File::Mode::read);
  detail::check_version(f);
  const Sequential<T, cpu> saved = detail::build_from_file<T, cpu>(f);  // for the comparison only
  const std::string where = f.where("model_config");
  HEPNN_CHECK(saved.num_layers() == m.num_layers() && saved.input_shape() == m.input_shape(), where,
              "the checkpoint has ", saved.num_layers(), " layers and input ", saved.input_shape().str(),
              ", the model ", m.num_layers(), " and ", m.input_shape().str());
  for (std::size_t i = 0; i < m.num_layers(); ++i)
    HEPNN_CHECK(to_json(saved.layer(i).config()) == to_json(m.layer(i).config()), where, "layer ", i, " is ",
                to_json(saved.layer(i).config()).dump(), " in the checkpoint but ", to_json(m.layer(i).config()).dump(),
                " in the model");
  HEPNN_CHECK(saved.seed() == m.seed(), where, "the checkpoint was trained with seed ", saved.seed(),
              ", the model has seed ", m.seed(), "; shuffling and dropout would differ");
  detail::read_arrays(f, m);
  return detail::resume_epoch(f);
}

/// Callback: saves the model after every epoch, or only when `monitor` improved (save_best_only).
/// `filepath` may contain "{epoch}" (replaced by the 1-based epoch) to keep one file per epoch.
/// The file holds the epoch and the history so far, so load_checkpoint can resume from it.
/// For a functional model: io::FunctionalModelCheckpoint (io/graph_file.hpp).
template <class T, class Device = cpu, class M = Sequential<T, Device>>
struct ModelCheckpoint {
  M* model = nullptr;
  std::string filepath;
  std::string monitor = "val_loss";
  bool save_best_only = false;
  std::string mode = "auto";

  std::shared_ptr<CallbackBase> make() const {
    HEPNN_CHECK(model != nullptr && !filepath.empty(), "ModelCheckpoint: give the model and a filepath");
    struct Impl : CallbackBase {
      ModelCheckpoint o;
      bool maximise;
      bool seen = false;
      double best = 0;
      History history;
      explicit Impl(ModelCheckpoint opts)
          : o(std::move(opts)), maximise(hepnn::detail::monitor_maximises(o.monitor, o.mode)) {}
      void on_epoch_end(int epoch, const Logs& logs, TrainingControl& c) override {
        history.append(epoch, logs);
        if (c.rank() != 0) return;  // data-parallel fit: rank 0 writes the checkpoints
        if (o.save_best_only) {
          const double v = hepnn::detail::monitored(logs, o.monitor, "ModelCheckpoint");
          if (!std::isfinite(v) || (seen && !(maximise ? v > best : v < best))) return;
          seen = true;
          best = v;
        }
        std::string path = o.filepath;
        const auto pos = path.find("{epoch}");
        if (pos != std::string::npos) path.replace(pos, 7, std::to_string(epoch + 1));
        save_model(*o.model, path, SaveOptions{epoch, &history, true});
      }
    };
    return std::make_shared<Impl>(*this);
  }
};

}  // namespace hepnn::io
