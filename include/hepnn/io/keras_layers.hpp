/// @file io/keras_layers.hpp
/// @brief What each Keras layer becomes in hepnn (io::load_keras, io/keras.hpp): one or a few
/// hepnn layers, described as LayerConfigs, with Keras' weights put in hepnn's layout.
///
/// Layouts. Keras images and sequences are channels-last, (H, W, C) and (L, C); hepnn's
/// convolutions and pooling are channels-first, (C, H, W). A Keras tensor can be held in either
/// layout; each translation says which one its input must have (or that it takes either, for
/// element-wise layers) and which one it gives. io/keras.hpp inserts a Permute where the layouts
/// differ, and only there, so a chain of convolutions is permuted once on the way in and once
/// before Flatten.
///
/// Anything hepnn cannot reproduce exactly (an option, an activation, a layer class) is an
/// error naming the layer, its class and the option, never a silently different model.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hepnn/io/config_json.hpp"
#include "hepnn/layers/registry.hpp"

namespace hepnn::inline HEPNN_ABI::io {

/// Options of io::load_keras.
struct KerasOptions {
  /// Keras regularizers and constraints act only in training: they do not change the model's
  /// outputs, and hepnn does not apply them when fine-tuning. By default a layer that has one
  /// is refused (naming it); true imports the model without them.
  bool ignore_regularizers = false;
};

namespace keras_detail {

enum class Layout { keras, channels_first };

/// One Keras weight array: extents and row-major values.
struct Array {
  std::vector<std::int64_t> dims;
  std::vector<double> values;
};

/// One hepnn layer of a translation; its name is given when it is made (the last step of a
/// Keras layer takes the Keras layer's name, the others the name with `tag` appended).
struct Step {
  LayerConfig config;
  std::string tag;
  std::vector<Array> params, state;  // in the order of the hepnn layer's params() and state_params()
};

/// What one Keras layer becomes.
struct Translation {
  bool any_layout = false;                // element-wise: takes either layout and keeps it
  Layout needs = Layout::keras, gives = Layout::keras;
  std::vector<Step> steps;                // applied in a chain; the first takes all inputs
};

/// What a translation is told about its Keras layer.
struct LayerIn {
  std::string cls, name, where;           // class, name, and "file ...: layer 'x' (Dense)" for messages
  const json* config = nullptr;
  std::vector<Shape> shapes;              // the inputs' per-sample Keras shapes (channels-last)
  std::vector<Array> weights;             // the layer's weights, in Keras' order
  KerasOptions options;
};

using ::hepnn::detail::config_of;  // layers/layer_config.hpp

inline const json& opt(const LayerIn& l, const char* key) {
  static const json null_value;
  auto it = l.config->find(key);
  return it == l.config->end() ? null_value : *it;
}
inline std::string opt_str(const LayerIn& l, const char* key, const std::string& fallback) {
  const json& v = opt(l, key);
  if (v.is_null()) return fallback;
  HEPNN_CHECK(v.is_string(), l.where, ": option '", key, "' must be a string");
  return v.get<std::string>();
}
inline double opt_num(const LayerIn& l, const char* key, double fallback) {
  const json& v = opt(l, key);
  if (v.is_null()) return fallback;
  HEPNN_CHECK(v.is_number(), l.where, ": option '", key, "' must be a number");
  return v.get<double>();
}
inline bool opt_bool(const LayerIn& l, const char* key, bool fallback) {
  const json& v = opt(l, key);
  if (v.is_null()) return fallback;
  HEPNN_CHECK(v.is_boolean(), l.where, ": option '", key, "' must be true or false");
  return v.get<bool>();
}
/// A required integer option, positive.
inline std::int64_t opt_count(const LayerIn& l, const char* key) {
  const json& v = opt(l, key);
  HEPNN_CHECK(v.is_number_integer(), l.where, ": option '", key, "' must be an integer");
  const std::int64_t n = detail::bounded(v, l.where, key);
  HEPNN_CHECK(n > 0, l.where, ": option '", key, "' must be positive, got ", n);
  return n;
}
/// An integer or a list of n integers (Keras' kernel_size=3 or (3, 3)).
inline std::vector<std::int64_t> opt_ints(const LayerIn& l, const char* key, std::size_t n,
                                          std::vector<std::int64_t> fallback) {
  const json& v = opt(l, key);
  if (v.is_null()) {  // absent: the fallback, or an error when the option is required (no fallback)
    HEPNN_CHECK(fallback.size() == n, l.where, ": option '", key, "' is missing (", n, " integers needed)");
    return fallback;
  }
  std::vector<std::int64_t> out;
  if (v.is_number_integer()) out.assign(n, detail::bounded(v, l.where, key));
  else if (v.is_array())
    for (const json& x : v) {
      HEPNN_CHECK(x.is_number_integer(), l.where, ": option '", key, "' must hold integers");
      out.push_back(detail::bounded(x, l.where, key));
    }
  HEPNN_CHECK(out.size() == n, l.where, ": option '", key, "' needs ", n, " integers");
  return out;
}
[[noreturn]] inline void unsupported(const LayerIn& l, const std::string& what, const std::string& note = "") {
  throw Error(l.where + ": " + what + " is not supported by hepnn" + (note.empty() ? "" : " (" + note + ")") +
              "; the imported model would differ");
}
/// Options that must hold a given value (data_format, groups, ...).
inline void require(const LayerIn& l, const char* key, const json& allowed) {
  const json& v = opt(l, key);
  if (v.is_null() || v == allowed) return;
  unsupported(l, std::string("option ") + key + " = " + v.dump(), "hepnn supports " + allowed.dump());
}
inline void check_training_extras(const LayerIn& l) {
  if (l.options.ignore_regularizers) return;
  for (const char* k : {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                        "bias_constraint", "beta_regularizer", "gamma_regularizer", "beta_constraint",
                        "gamma_constraint", "alpha_regularizer", "alpha_constraint"})
    if (!opt(l, k).is_null())
      throw Error(l.where + ": option " + k + " = " + opt(l, k).dump() +
                  " acts in training, and hepnn does not apply it; to import the model without it, pass "
                  "KerasOptions{.ignore_regularizers = true}");
}

/// A Keras activation: hepnn's element-wise Activation, or a Softmax/LogSoftmax layer after it.
struct KerasActivation {
  Activation act = Activation::linear;
  double alpha = 0;
  std::string layer;  // "", "Softmax" or "LogSoftmax"
};
inline KerasActivation keras_activation(const LayerIn& l, const json& v) {
  std::string name = "linear";
  if (v.is_string()) name = v.get<std::string>();
  else if (v.is_object() && v.contains("config") && v["config"].is_string()) name = v["config"].get<std::string>();
  else if (v.is_object() && v.contains("class_name") && v["class_name"].is_string()) name = v["class_name"].get<std::string>();
  else if (!v.is_null()) unsupported(l, "activation " + v.dump());
  KerasActivation a;
  if (name == "linear" || name == "None") return a;
  if (name == "softmax") a.layer = "Softmax";
  else if (name == "log_softmax") a.layer = "LogSoftmax";
  else if (name == "leaky_relu") a.act = Activation::leaky_relu, a.alpha = 0.2;  // keras.activations.leaky_relu
  else if (name == "elu") a.act = Activation::elu, a.alpha = 1;
  else {
    bool known = false;
    for (Activation h : {Activation::relu, Activation::selu, Activation::tanh, Activation::sigmoid,
                         Activation::softplus, Activation::gelu})
      if (to_string(h) == name) a.act = h, known = true;
    if (!known)
      unsupported(l, "activation '" + name + "'",
                  "hepnn has linear, relu, leaky_relu, elu, selu, tanh, sigmoid, softplus, gelu, softmax, log_softmax");
  }
  return a;
}
inline void add_activation_layer(Translation& t, const KerasActivation& a) {
  if (a.layer == "Softmax") t.steps.push_back({config_of("Softmax", Softmax{}), "softmax", {}, {}});
  if (a.layer == "LogSoftmax") t.steps.push_back({config_of("LogSoftmax", LogSoftmax{}), "log_softmax", {}, {}});
}

/// Checks the number and extents of a layer's weights against what it needs.
inline void expect_weights(const LayerIn& l, const std::vector<std::vector<std::int64_t>>& dims,
                           const std::vector<const char*>& names) {
  HEPNN_CHECK(l.weights.size() == dims.size(), l.where, ": the file holds ", l.weights.size(),
              " weight arrays for it, the layer needs ", dims.size());
  for (std::size_t k = 0; k < dims.size(); ++k) {
    std::string want = "(", got = "(";
    for (auto d : dims[k]) want += std::to_string(d) + ",";
    for (auto d : l.weights[k].dims) got += std::to_string(d) + ",";
    HEPNN_CHECK(l.weights[k].dims == dims[k], l.where, ": weight '", names[k], "' has shape ", got, "), expected ",
                want, ")");
  }
}

/// Keras' (k..., in, out) kernel to hepnn's (out, in, k...) convolution kernel.
inline Array conv_kernel(const Array& a, std::int64_t kh, std::int64_t kw, std::int64_t cin, std::int64_t cout) {
  Array out{{cout, cin, kh, kw}, std::vector<double>(a.values.size())};
  for (std::int64_t i = 0; i < kh; ++i)
    for (std::int64_t j = 0; j < kw; ++j)
      for (std::int64_t c = 0; c < cin; ++c)
        for (std::int64_t f = 0; f < cout; ++f)
          out.values[std::size_t(((f * cin + c) * kh + i) * kw + j)] =
              a.values[std::size_t(((i * kw + j) * cin + c) * cout + f)];
  return out;
}

/// Dense (on the last axis; a rank-3 or higher sample is reshaped around it).
inline Translation dense(const LayerIn& l) {
  check_training_extras(l);
  const Shape& in = l.shapes.at(0);
  const std::int64_t units = opt_count(l, "units");
  const bool bias = opt_bool(l, "use_bias", true);
  const std::int64_t fin = in[in.rank() - 1];
  if (bias) expect_weights(l, {{fin, units}, {units}}, {"kernel", "bias"});
  else expect_weights(l, {{fin, units}}, {"kernel"});
  const KerasActivation a = keras_activation(l, opt(l, "activation"));
  Translation t;
  Dense d{units, a.act};
  if (a.act == Activation::leaky_relu || a.act == Activation::elu) d.alpha = a.alpha;
  d.use_bias = bias;
  if (in.rank() > 2) {  // (..., F): rows of F, then the leading axes back
    t.steps.push_back({config_of("Reshape", Reshape{{-1, fin}}), "rows", {}, {}});
  }
  t.steps.push_back({config_of("Dense", d), "dense", l.weights, {}});
  if (in.rank() > 2) {
    std::vector<std::int64_t> back;
    for (int k = 0; k + 1 < in.rank(); ++k) back.push_back(in[k]);
    back.push_back(units);
    t.steps.push_back({config_of("Reshape", Reshape{back}), "unrows", {}, {}});
  }
  add_activation_layer(t, a);
  return t;
}

/// Conv2D, and Conv1D as a convolution of height 1, on channels-first data.
inline Translation conv(const LayerIn& l, int dims) {
  check_training_extras(l);
  require(l, "data_format", "channels_last");
  require(l, "groups", 1);
  const Shape& in = l.shapes.at(0);
  HEPNN_CHECK(in.rank() == dims + 1, l.where, ": expects per-sample inputs of rank ", dims + 1, ", got ", in.str());
  const std::int64_t filters = opt_count(l, "filters");
  const auto k = opt_ints(l, "kernel_size", std::size_t(dims), {});
  const auto s = opt_ints(l, "strides", std::size_t(dims), std::vector<std::int64_t>(std::size_t(dims), 1));
  const auto d = opt_ints(l, "dilation_rate", std::size_t(dims), std::vector<std::int64_t>(std::size_t(dims), 1));
  const std::string pad = opt_str(l, "padding", "valid");
  const bool bias = opt_bool(l, "use_bias", true);
  const std::int64_t cin = in[dims];
  const std::int64_t kh = dims == 2 ? k[0] : 1, kw = k[std::size_t(dims - 1)];
  std::vector<std::int64_t> kdims = dims == 2 ? std::vector<std::int64_t>{kh, kw, cin, filters}
                                              : std::vector<std::int64_t>{kw, cin, filters};
  if (bias) expect_weights(l, {kdims, {filters}}, {"kernel", "bias"});
  else expect_weights(l, {kdims}, {"kernel"});
  const KerasActivation a = keras_activation(l, opt(l, "activation"));
  Conv2D c;
  c.filters = filters;
  c.kernel_size = Size2{kh, kw};
  c.strides = dims == 2 ? Size2{s[0], s[1]} : Size2{1, s[0]};
  c.dilation = dims == 2 ? Size2{d[0], d[1]} : Size2{1, d[0]};
  c.activation = a.act;
  if (a.act == Activation::leaky_relu || a.act == Activation::elu) c.alpha = a.alpha;
  c.use_bias = bias;
  if (pad == "same") c.padding = Padding::same;
  else if (pad == "causal" && dims == 1) c.padding = Padding::pads(0, 0, (kw - 1) * c.dilation.w, 0);
  else if (pad != "valid") unsupported(l, "padding '" + pad + "'");
  std::vector<Array> w{conv_kernel(l.weights[0], kh, kw, cin, filters)};
  if (bias) w.push_back(l.weights[1]);
  Translation t;
  t.needs = t.gives = Layout::channels_first;
  if (dims == 1) t.steps.push_back({config_of("Reshape", Reshape{{cin, 1, in[0]}}), "as_image", {}, {}});
  t.steps.push_back({config_of("Conv2D", c), "conv", w, {}});
  if (dims == 1) t.steps.push_back({config_of("Reshape", Reshape{{filters, -1}}), "as_sequence", {}, {}});
  add_activation_layer(t, a);
  return t;
}

/// MaxPooling2D and AveragePooling2D (channels-first), GlobalAveragePooling2D.
inline Translation pool(const LayerIn& l) {
  require(l, "data_format", "channels_last");
  Translation t;
  t.needs = t.gives = Layout::channels_first;
  HEPNN_CHECK(l.shapes.at(0).rank() == 3, l.where, ": expects per-sample images (H, W, C), got ", l.shapes[0].str());
  if (l.cls == "GlobalAveragePooling2D") {
    require(l, "keepdims", false);
    t.gives = Layout::keras;  // (C,) either way
    t.steps.push_back({config_of("GlobalAveragePooling2D", GlobalAveragePooling2D{}), "pool", {}, {}});
    return t;
  }
  const auto p = opt_ints(l, "pool_size", 2, {2, 2});
  const auto s = opt_ints(l, "strides", 2, p);
  const std::string pad = opt_str(l, "padding", "valid");
  if (pad != "valid" && pad != "same") unsupported(l, "padding '" + pad + "'");
  const Padding padding = pad == "same" ? Padding::same : Padding::valid;
  if (l.cls == "MaxPooling2D")
    t.steps.push_back({config_of("MaxPool2D", MaxPool2D{Size2{p[0], p[1]}, Size2{s[0], s[1]}, padding}), "pool", {}, {}});
  else
    t.steps.push_back({config_of("AvgPool2D", AvgPool2D{Size2{p[0], p[1]}, Size2{s[0], s[1]}, padding}), "pool", {}, {}});
  return t;
}

/// BatchNormalization over the last (channel) axis: hepnn normalises the first per-sample axis,
/// which is the channel axis in the channels-first layout.
inline Translation batchnorm(const LayerIn& l) {
  check_training_extras(l);
  const Shape& in = l.shapes.at(0);
  const json& axis = opt(l, "axis");
  const bool last = axis.is_null() || axis == -1 || axis == json::array({-1}) || axis == in.rank() ||
                    axis == json::array({in.rank()});
  if (!last) unsupported(l, "axis = " + axis.dump(), "hepnn normalises the channel axis, Keras' -1");
  if (opt_bool(l, "renorm", false)) unsupported(l, "option renorm = true");
  if (!opt(l, "virtual_batch_size").is_null()) unsupported(l, "option virtual_batch_size");
  if (!opt(l, "adjustment").is_null()) unsupported(l, "option adjustment");
  BatchNormalization b;
  b.momentum = opt_num(l, "momentum", 0.99);
  b.epsilon = opt_num(l, "epsilon", 1e-3);
  b.center = opt_bool(l, "center", true);
  b.scale = opt_bool(l, "scale", true);
  b.synchronized = opt_bool(l, "synchronized", false);
  const std::int64_t c = in[in.rank() - 1];
  std::vector<std::vector<std::int64_t>> dims;
  std::vector<const char*> names;
  if (b.scale) dims.push_back({c}), names.push_back("gamma");
  if (b.center) dims.push_back({c}), names.push_back("beta");
  dims.push_back({c}), names.push_back("moving_mean");
  dims.push_back({c}), names.push_back("moving_variance");
  expect_weights(l, dims, names);
  Translation t;
  t.needs = t.gives = Layout::channels_first;
  const std::size_t n = l.weights.size();
  t.steps.push_back({config_of("BatchNormalization", b), "bn",
                     std::vector<Array>(l.weights.begin(), l.weights.end() - 2),
                     std::vector<Array>(l.weights.end() - 2, l.weights.end())});
  (void)n;
  return t;
}

/// Layers without weights that keep the layout of their input.
inline Translation elementwise(const LayerIn& l) {
  Translation t;
  t.any_layout = true;
  HEPNN_CHECK(l.weights.empty(), l.where, ": the file holds ", l.weights.size(), " weight arrays for it, expected none");
  if (l.cls == "Dropout") {
    if (!opt(l, "noise_shape").is_null()) unsupported(l, "option noise_shape");
    t.steps.push_back({config_of("Dropout", Dropout{opt_num(l, "rate", 0.5)}), "dropout", {}, {}});
  } else if (l.cls == "Activation") {
    const KerasActivation a = keras_activation(l, opt(l, "activation"));
    if (!a.layer.empty()) {
      t.any_layout = l.shapes.at(0).rank() == 1;
      add_activation_layer(t, a);
    } else if (a.act == Activation::leaky_relu) {
      t.steps.push_back({config_of("LeakyReLU", LeakyReLU{a.alpha}), "act", {}, {}});
    } else if (a.act == Activation::elu) {
      t.steps.push_back({config_of("ELU", ELU{a.alpha}), "act", {}, {}});
    } else if (a.act != Activation::linear) {
      static const std::map<Activation, std::string> types = {
          {Activation::relu, "ReLU"},       {Activation::selu, "SELU"},         {Activation::tanh, "Tanh"},
          {Activation::sigmoid, "Sigmoid"}, {Activation::softplus, "Softplus"}, {Activation::gelu, "GELU"}};
      t.steps.push_back({LayerConfig{types.at(a.act), "", {}}, "act", {}, {}});
    }
  } else if (l.cls == "ReLU") {
    if (!opt(l, "max_value").is_null()) unsupported(l, "option max_value = " + opt(l, "max_value").dump());
    if (opt_num(l, "threshold", 0) != 0) unsupported(l, "option threshold = " + opt(l, "threshold").dump());
    const double slope = opt_num(l, "negative_slope", 0);
    if (slope != 0) t.steps.push_back({config_of("LeakyReLU", LeakyReLU{slope}), "act", {}, {}});
    else t.steps.push_back({LayerConfig{"ReLU", "", {}}, "act", {}, {}});
  } else if (l.cls == "LeakyReLU") {
    const double slope = opt(l, "negative_slope").is_null() ? opt_num(l, "alpha", 0.3) : opt_num(l, "negative_slope", 0.3);
    t.steps.push_back({config_of("LeakyReLU", LeakyReLU{slope}), "act", {}, {}});
  } else if (l.cls == "ELU") {
    t.steps.push_back({config_of("ELU", ELU{opt_num(l, "alpha", 1.0)}), "act", {}, {}});
  } else if (l.cls == "Softmax") {
    const json& axis = opt(l, "axis");
    if (!(axis.is_null() || axis == -1 || axis == json::array({-1}) || axis == l.shapes.at(0).rank()))
      unsupported(l, "axis = " + axis.dump(), "hepnn's softmax is over the last axis");
    t.any_layout = l.shapes.at(0).rank() == 1;
    t.steps.push_back({LayerConfig{"Softmax", "", {}}, "softmax", {}, {}});
  }
  return t;
}

/// Flatten, Reshape and Permute act on the Keras (channels-last) order.
inline Translation reshaping(const LayerIn& l) {
  Translation t;
  const Shape& in = l.shapes.at(0);
  if (l.cls == "Flatten") {
    require(l, "data_format", "channels_last");
    t.steps.push_back({LayerConfig{"Flatten", "", {}}, "flatten", {}, {}});
  } else if (l.cls == "Reshape") {
    const json& ts = opt(l, "target_shape");
    HEPNN_CHECK(ts.is_array(), l.where, ": option target_shape must be a list");
    std::vector<std::int64_t> dims;
    for (const json& x : ts) {
      HEPNN_CHECK(x.is_number_integer(), l.where, ": target_shape must hold integers");
      dims.push_back(x.get<std::int64_t>());
    }
    t.steps.push_back({config_of("Reshape", Reshape{dims}), "reshape", {}, {}});
  } else {  // Permute: Keras counts the sample's axes from 1
    const auto d = opt_ints(l, "dims", std::size_t(in.rank()), {});
    std::vector<std::int64_t> dims;
    for (auto x : d) dims.push_back(x - 1);
    t.steps.push_back({config_of("Permute", Permute{dims}), "permute", {}, {}});
  }
  return t;
}

/// Concatenate, Add, Subtract, Multiply, Average, on the Keras layout (all inputs alike).
inline Translation merge(const LayerIn& l) {
  Translation t;
  if (l.cls == "Concatenate") {
    const json& a = opt(l, "axis");
    HEPNN_CHECK(a.is_null() || a.is_number_integer(), l.where, ": option 'axis' must be an integer");
    std::int64_t axis = a.is_null() ? -1 : detail::bounded(a, l.where, "axis");
    const std::int64_t rank = l.shapes.at(0).rank();
    if (axis >= 0) {
      HEPNN_CHECK(axis >= 1 && axis <= rank, l.where, ": axis ", axis, " is not an axis of a sample (1..", rank, ")");
      axis -= 1;  // Keras counts the batch axis
    }
    t.steps.push_back({config_of("Concatenate", Concatenate{axis}), "concat", {}, {}});
  } else {  // element-wise: either layout, as long as all inputs have it
    t.steps.push_back({LayerConfig{l.cls, "", {}}, "merge", {}, {}});
    t.any_layout = true;
  }
  return t;
}

/// The translation of any supported Keras layer class (not InputLayer and not models).
inline Translation translate(const LayerIn& l) {
  const std::string& c = l.cls;
  Translation t;
  if (c == "Dense") t = dense(l);
  else if (c == "Conv2D") t = conv(l, 2);
  else if (c == "Conv1D") t = conv(l, 1);
  else if (c == "MaxPooling2D" || c == "AveragePooling2D" || c == "GlobalAveragePooling2D") t = pool(l);
  else if (c == "BatchNormalization") t = batchnorm(l);
  else if (c == "Dropout" || c == "Activation" || c == "ReLU" || c == "LeakyReLU" || c == "ELU" || c == "Softmax")
    t = elementwise(l);
  else if (c == "Flatten" || c == "Reshape" || c == "Permute") t = reshaping(l);
  else if (c == "Concatenate" || c == "Add" || c == "Subtract" || c == "Multiply" || c == "Average") t = merge(l);
  else
    throw Error(l.where + ": the Keras layer class '" + c +
                "' is not supported by hepnn (supported: Dense, Conv1D, Conv2D, MaxPooling2D, AveragePooling2D, "
                "GlobalAveragePooling2D, BatchNormalization, Dropout, Activation, ReLU, LeakyReLU, ELU, Softmax, "
                "Flatten, Reshape, Permute, Concatenate, Add, Subtract, Multiply, Average)");
  if (!(c == "Dense" || c == "Conv2D" || c == "Conv1D" || c == "BatchNormalization"))
    HEPNN_CHECK(l.weights.empty(), l.where, ": the file holds ", l.weights.size(), " weight arrays for it, expected none");
  return t;
}

}  // namespace keras_detail
}  // namespace hepnn::io
