/// @file io/onnx_graph.hpp
/// @brief An ONNX graph as plain C++ data (OnnxGraph), and the translation of such a graph into a
/// trainable hepnn Model (model_from_onnx). Needs no protobuf: reading and writing `.onnx` files
/// is the optional hepnn::onnx component (io/onnx.hpp).
///
/// Supported: opsets 13 to 25 of the default domain; one batch axis first on every tensor (the
/// per-sample shape is the rest). The operators, and how each maps to hepnn layers:
/// - Gemm (transA = 0; alpha and beta folded into the weights) and MatMul with a constant right
///   operand: Dense; an Add of a constant right after a MatMul becomes that Dense's bias;
/// - Add, Sub, Mul of two tensors of the same shape: Add, Subtract, Multiply; Sum and Mean of
///   tensors of one shape: Add and Average. Sub, Add, Mul, Div
///   of a graph input and a constant (standardisation at the start of the graph) become the
///   input's InputTransform;
/// - Relu, LeakyRelu, Elu, Selu (default constants), Sigmoid, Tanh, Softplus, Gelu (exact),
///   Softmax and LogSoftmax (any axis but the batch axis);
/// - Conv (1-D and 2-D, group 1, any pads, strides and dilations), MaxPool and AveragePool (1-D
///   and 2-D, ceil_mode 0, dilations 1; AveragePool does not count padding), GlobalAveragePool,
///   GlobalMaxPool;
/// - BatchNormalization (inference), Flatten (axis 1), Reshape (constant shape keeping the batch
///   axis), Concat (not on the batch axis), Transpose (keeping the batch axis first), Dropout, Identity
///   (removed), Constant.
/// Anything else, or an attribute these do not support, is a hepnn::Error naming the node, its
/// operator and the attribute: never a silently different model.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <set>
#include <string>
#include <vector>

#include "hepnn/data/input_transform.hpp"
#include "hepnn/io/graph_file.hpp"

namespace hepnn::inline HEPNN_ABI::io {

/// The oldest opset of the default ONNX domain that load_onnx reads.
inline constexpr std::int64_t onnx_min_opset = 13;
/// The newest opset of the default ONNX domain that load_onnx reads.
inline constexpr std::int64_t onnx_max_opset = 25;
/// The opset save_onnx writes.
inline constexpr std::int64_t onnx_export_opset = 17;

/// A constant of an ONNX graph (an initializer or a Constant node's value), values as doubles.
struct OnnxTensor {
  /// Its name in the graph.
  std::string name;
  /// Its dimensions (empty: a scalar).
  std::vector<std::int64_t> dims;
  /// Row-major values.
  std::vector<double> values;
  /// The values are integers (INT64 in a file: shapes, axes); otherwise the graph's float type.
  bool integer = false;
};

/// One attribute of a node: the member its kind names holds the value.
struct OnnxAttribute {
  /// Which member holds the value.
  enum class Kind { integer, real, text, integers, reals, tensor };
  /// The kind of value.
  Kind kind = Kind::integer;
  /// kind integer.
  std::int64_t i = 0;
  /// kind real.
  double f = 0;
  /// kind text.
  std::string s;
  /// kind integers.
  std::vector<std::int64_t> ints;
  /// kind reals.
  std::vector<double> floats;
  /// kind tensor.
  OnnxTensor t;
};

/// One node (operator call) of an ONNX graph.
struct OnnxNode {
  /// The operator, e.g. "Gemm".
  std::string op_type;
  /// The node's name (may be empty).
  std::string name;
  /// The operator's domain; empty: the default one (ai.onnx).
  std::string domain;
  /// The names of the values it reads; an empty name is an omitted optional input.
  std::vector<std::string> inputs;
  /// The names of the values it makes.
  std::vector<std::string> outputs;
  /// Its attributes by name.
  std::map<std::string, OnnxAttribute> attributes;
};

/// A graph input or output: its name and dimensions, the batch first (-1 where symbolic).
struct OnnxValue {
  /// The value's name.
  std::string name;
  /// Its dimensions; dims[0] is the batch axis.
  std::vector<std::int64_t> dims;
};

/// An ONNX model's graph as plain data.
struct OnnxGraph {
  /// The graph's name (the hepnn model's name).
  std::string name = "model";
  /// The opset of the default domain.
  std::int64_t opset = 0;
  /// The inputs that are not initializers, in order.
  std::vector<OnnxValue> inputs;
  /// The outputs, in order.
  std::vector<OnnxValue> outputs;
  /// The constants (weights).
  std::vector<OnnxTensor> initializers;
  /// The nodes in a topological order.
  std::vector<OnnxNode> nodes;
  /// Where the graph comes from (a file name), for messages.
  std::string source = "ONNX graph";
  /// The tensors are DOUBLE (a double model's export); otherwise FLOAT.
  bool double_precision = false;
};

namespace onnx_detail {

using ::hepnn::detail::config_of;  // layers/layer_config.hpp

inline std::int64_t count(const std::vector<std::int64_t>& dims) {
  std::int64_t n = 1;
  for (std::int64_t d : dims) n *= d;
  return n;
}

inline std::string dims_str(const std::vector<std::int64_t>& d) {
  std::string s = "(";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + (d.size() == 1 ? ",)" : ")");
}

/// A name hepnn accepts for a layer or input: letters, digits, '_', '-', '.'; others become '_'.
inline std::string clean_name(const std::string& n) {
  std::string s;
  for (char ch : n) s += (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.') ? ch : '_';
  while (!s.empty() && s.front() == '_') s.erase(s.begin());
  return s;
}

/// Explicit begin/end pads of one spatial axis for ONNX auto_pad SAME_UPPER / SAME_LOWER.
inline std::pair<std::int64_t, std::int64_t> same_pads(std::int64_t in, std::int64_t k, std::int64_t stride,
                                                       std::int64_t dilation, bool upper) {
  const std::int64_t out = (in + stride - 1) / stride;
  const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * stride + (k - 1) * dilation + 1 - in);
  return upper ? std::pair{total / 2, total - total / 2} : std::pair{total - total / 2, total / 2};
}

}  // namespace onnx_detail

/// Builds the hepnn Model of an ONNX graph (see the file's comment for what is supported); the
/// weights are set from the initializers, converted to T.
template <class T, class Device = cpu>
class OnnxImporter {
 public:
  /// An importer of graph g (which must outlive it).
  explicit OnnxImporter(const OnnxGraph& g) : m_g(g), m_where(g.source) {}

  /// The model, weights set; throws hepnn::Error for what hepnn does not support.
  Model<T, Device> build() {
    HEPNN_CHECK(m_g.opset >= onnx_min_opset && m_g.opset <= onnx_max_opset, m_where, ": opset ", m_g.opset,
                " of the default domain; hepnn reads opsets ", onnx_min_opset, " to ", onnx_max_opset,
                " (convert older models with onnx.version_converter)");
    HEPNN_CHECK(!m_g.inputs.empty() && !m_g.outputs.empty(), m_where, ": the graph has ", m_g.inputs.size(),
                " inputs and ", m_g.outputs.size(), " outputs; it needs at least one of each");
    std::int64_t total = 0;
    for (const OnnxTensor& c : m_g.initializers) {
      check_tensor(c, "initializer");
      HEPNN_CHECK(m_values.emplace(c.name, Val{{}, &c, -1}).second, m_where, ": two initializers are named '", c.name,
                  "'");
      total += std::int64_t(c.values.size());
    }
    m_budget = total + 1024;
    for (const OnnxNode& n : m_g.nodes)
      for (const std::string& x : n.inputs) ++m_uses[x];
    for (const OnnxValue& o : m_g.outputs) ++m_uses[o.name], m_graph_outputs.insert(o.name);
    std::vector<SymbolicTensor> ins;
    for (const OnnxValue& v : m_g.inputs) {
      HEPNN_CHECK(!m_values.count(v.name), m_where, ": input '", v.name, "' is given twice (or is also an initializer)");
      HEPNN_CHECK(v.dims.size() >= 1, m_where, ": input '", v.name, "' is a scalar; hepnn needs a batch axis first");
      Shape s;
      for (std::size_t a = 1; a < v.dims.size(); ++a) {
        HEPNN_CHECK(v.dims[a] > 0, m_where, ": input '", v.name, "' has dimensions ", onnx_detail::dims_str(v.dims),
                    "; all but the first (the batch) must be fixed and positive");
        s.push_back(v.dims[a]);
      }
      if (s.rank() == 0) s.push_back(1);  // one number per event
      std::string name = onnx_detail::clean_name(v.name);
      HEPNN_CHECK(!name.empty() && m_names.insert(name).second, m_where, ": input '", v.name,
                  "' has no usable name or one taken already");
      ins.push_back(Input(name, s));
      m_values[v.name] = Val{ins.back(), nullptr, int(ins.size() - 1)};
      m_transforms.emplace_back();
    }
    for (const OnnxNode& n : m_g.nodes) node(n);
    std::vector<SymbolicTensor> outs;
    for (const OnnxValue& o : m_g.outputs) {
      auto it = m_values.find(o.name);
      HEPNN_CHECK(it != m_values.end(), m_where, ": output '", o.name, "' is made by no node");
      HEPNN_CHECK(it->second.t.valid(), m_where, ": output '", o.name, "' is a constant; hepnn models compute their outputs");
      HEPNN_CHECK(it->second.t.node()->kind != graph::Node::Kind::input, m_where,
                  ": output '", o.name, "' is a graph input itself; hepnn needs at least one layer in between");
      outs.push_back(it->second.t);
    }
    Model<T, Device> m(ins, outs, onnx_detail::clean_name(m_g.name).empty() ? "model" : onnx_detail::clean_name(m_g.name));
    assign_weights(m);
    for (std::size_t k = 0; k < m_transforms.size(); ++k)
      if (!m_transforms[k].shift.empty()) {
        data::InputTransform<T> t;
        t.kind = "onnx";
        for (double v : m_transforms[k].shift) t.shift.push_back(T(v));
        for (double v : m_transforms[k].scale) t.scale.push_back(T(v));
        m.set_input_transform(m.input_names()[k], std::move(t));
      }
    return m;
  }

 private:
  struct Val {
    SymbolicTensor t;                   // a tensor of the graph, or
    const OnnxTensor* c = nullptr;      // a constant
    int input = -1;                     // t is graph input k itself (its transform may still grow)
  };
  struct Transform {
    std::vector<double> shift, scale;
  };

  // ---- helpers ----
  std::string at(const OnnxNode& n) const {
    return m_where + ": node '" + n.name + "' (" + n.op_type + ")";
  }
  [[noreturn]] void unsupported(const OnnxNode& n, const std::string& what) const {
    throw Error(at(n) + ": " + what + " is not supported by hepnn's ONNX import");
  }
  void check_tensor(const OnnxTensor& c, const std::string& kind) const {
    for (std::int64_t d : c.dims)
      HEPNN_CHECK(d >= 0, m_where, ": ", kind, " '", c.name, "' has a negative dimension ", onnx_detail::dims_str(c.dims));
    HEPNN_CHECK(onnx_detail::count(c.dims) == std::int64_t(c.values.size()), m_where, ": ", kind, " '", c.name,
                "' has dimensions ", onnx_detail::dims_str(c.dims), " but ", c.values.size(), " values");
    for (std::size_t k = 0; k < c.values.size(); ++k)
      HEPNN_CHECK(std::isfinite(c.values[k]), m_where, ": ", kind, " '", c.name, "' holds a non-finite value at element ", k);
  }
  void allow(const OnnxNode& n, std::initializer_list<const char*> keys) const {
    for (const auto& [k, v] : n.attributes) {
      bool ok = false;
      for (const char* a : keys) ok |= k == a;
      if (!ok) unsupported(n, "attribute '" + k + "'");
    }
  }
  const OnnxAttribute* attr(const OnnxNode& n, const char* key, OnnxAttribute::Kind kind) const {
    auto it = n.attributes.find(key);
    if (it == n.attributes.end()) return nullptr;
    HEPNN_CHECK(it->second.kind == kind, at(n), ": attribute '", key, "' has the wrong kind of value");
    return &it->second;
  }
  std::int64_t attr_i(const OnnxNode& n, const char* key, std::int64_t fallback) const {
    const OnnxAttribute* a = attr(n, key, OnnxAttribute::Kind::integer);
    return a ? a->i : fallback;
  }
  double attr_f(const OnnxNode& n, const char* key, double fallback) const {
    const OnnxAttribute* a = attr(n, key, OnnxAttribute::Kind::real);
    return a ? a->f : fallback;
  }
  std::string attr_s(const OnnxNode& n, const char* key, const std::string& fallback) const {
    const OnnxAttribute* a = attr(n, key, OnnxAttribute::Kind::text);
    return a ? a->s : fallback;
  }
  std::vector<std::int64_t> attr_ints(const OnnxNode& n, const char* key, std::vector<std::int64_t> fallback,
                                      std::size_t size = 0) const {
    const OnnxAttribute* a = attr(n, key, OnnxAttribute::Kind::integers);
    if (a) fallback = a->ints;
    HEPNN_CHECK(size == 0 || fallback.size() == size, at(n), ": attribute '", key, "' needs ", size, " values, got ",
                fallback.size());
    return fallback;
  }
  bool given(const OnnxNode& n, std::size_t k) const { return k < n.inputs.size() && !n.inputs[k].empty(); }
  const Val& in(const OnnxNode& n, std::size_t k) const {
    HEPNN_CHECK(given(n, k), at(n), ": input ", k, " is missing");
    auto it = m_values.find(n.inputs[k]);
    HEPNN_CHECK(it != m_values.end(), at(n), ": input ", k, " ('", n.inputs[k],
                "') is made by no earlier node (the nodes must be in a topological order)");
    return it->second;
  }
  SymbolicTensor tensor_in(const OnnxNode& n, std::size_t k) const {
    const Val& v = in(n, k);
    if (!v.t.valid()) unsupported(n, "a constant as input " + std::to_string(k) + " ('" + n.inputs[k] + "')");
    return v.t;
  }
  const OnnxTensor& const_in(const OnnxNode& n, std::size_t k, const char* what) const {
    const Val& v = in(n, k);
    if (!v.c) unsupported(n, std::string(what) + " computed by the graph (input " + std::to_string(k) + " '" + n.inputs[k] + "'; it must be a constant)");
    return *v.c;
  }
  const std::string& out(const OnnxNode& n) const {
    HEPNN_CHECK(!n.outputs.empty() && !n.outputs[0].empty(), at(n), ": the node has no output");
    return n.outputs[0];
  }
  void no_extra_outputs(const OnnxNode& n) const {
    for (std::size_t k = 1; k < n.outputs.size(); ++k)
      if (!n.outputs[k].empty() && m_uses.count(n.outputs[k])) unsupported(n, "using output " + std::to_string(k));
  }
  void set(const OnnxNode& n, Val v) {
    no_extra_outputs(n);
    HEPNN_CHECK(m_values.emplace(out(n), v).second, at(n), ": value '", out(n), "' is made twice");
  }
  std::string unique(std::string n) {
    if (n.empty()) n = "layer";
    std::string u = n;
    for (int k = 2; m_names.count(u); ++k) u = n + "_" + std::to_string(k);
    m_names.insert(u);
    return u;
  }
  /// Makes one layer of node n on xs; the last layer of a node that makes a graph output takes
  /// the output's name (hepnn names outputs after their layers).
  SymbolicTensor make(const OnnxNode& n, LayerConfig c, const std::vector<SymbolicTensor>& xs, bool last,
                      std::vector<std::vector<double>> params = {}, std::vector<std::vector<double>> state = {}) {
    std::string base = onnx_detail::clean_name(n.name);
    if (base.empty()) {
      base = n.op_type;
      std::transform(base.begin(), base.end(), base.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
    }
    const std::string& y = out(last && m_tail ? *m_tail : n);  // a fused node's output is the layer's
    if (last && m_graph_outputs.count(y) && !onnx_detail::clean_name(y).empty() && !m_names.count(onnx_detail::clean_name(y)))
      base = onnx_detail::clean_name(y);
    else if (!last)
      base += "_" + c.type;
    c.name = unique(base);
    if (!params.empty()) m_params[c.name] = std::move(params);
    if (!state.empty()) m_state[c.name] = std::move(state);
    return graph::call(std::make_shared<detail::ConfigDef>(c, m_budget), xs);
  }
  std::int64_t axis_of(const OnnxNode& n, std::int64_t axis, int rank) const {
    const std::int64_t a = axis < 0 ? axis + rank : axis;
    HEPNN_CHECK(a >= 0 && a < rank, at(n), ": axis ", axis, " does not exist in tensors of rank ", rank);
    return a;
  }

  // ---- the operators ----
  void node(const OnnxNode& n) {
    if (!n.domain.empty() && n.domain != "ai.onnx") unsupported(n, "the operator domain '" + n.domain + "'");
    const std::string& op = n.op_type;
    m_tail = nullptr;
    if (op == "Constant") return constant(n);
    if (op == "Identity") return identity(n);
    if (op == "Dropout") return dropout(n);
    if (op == "Gemm") return gemm(n);
    if (op == "MatMul") return matmul(n);
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") return arithmetic(n);
    if (op == "Sum" || op == "Mean") return n_ary(n);
    if (op == "Relu" || op == "LeakyRelu" || op == "Elu" || op == "Selu" || op == "Sigmoid" || op == "Tanh" ||
        op == "Softplus" || op == "Gelu")
      return activation(n);
    if (op == "Softmax" || op == "LogSoftmax") return softmax(n);
    if (op == "Conv") return conv(n);
    if (op == "MaxPool" || op == "AveragePool") return pool(n);
    if (op == "GlobalAveragePool" || op == "GlobalMaxPool") return global_pool(n);
    if (op == "BatchNormalization") return batchnorm(n);
    if (op == "Flatten") return flatten(n);
    if (op == "Reshape") return reshape(n);
    if (op == "Concat") return concat(n);
    if (op == "Transpose") return transpose(n);
    unsupported(n, "the operator " + op);
  }

  void constant(const OnnxNode& n) {
    allow(n, {"value", "value_float", "value_floats", "value_int", "value_ints"});
    HEPNN_CHECK(n.attributes.size() == 1, at(n), ": needs exactly one value attribute");
    const auto& [key, a] = *n.attributes.begin();
    OnnxTensor t;
    t.name = out(n);
    if (key == "value") {
      HEPNN_CHECK(a.kind == OnnxAttribute::Kind::tensor, at(n), ": attribute 'value' must be a tensor");
      t.dims = a.t.dims, t.values = a.t.values;
    } else if (key == "value_float" || key == "value_int") {
      t.values = {key == "value_float" ? attr_f(n, "value_float", 0) : double(attr_i(n, "value_int", 0))};
    } else if (key == "value_floats") {
      t.values = attr(n, "value_floats", OnnxAttribute::Kind::reals)->floats, t.dims = {std::int64_t(t.values.size())};
    } else {
      for (std::int64_t v : attr(n, "value_ints", OnnxAttribute::Kind::integers)->ints) t.values.push_back(double(v));
      t.dims = {std::int64_t(t.values.size())};
    }
    check_tensor(t, "Constant");
    m_budget += std::int64_t(t.values.size());
    const OnnxTensor* p = &m_constants.emplace(t.name, std::move(t)).first->second;
    set(n, Val{{}, p, -1});
  }

  void identity(const OnnxNode& n) {
    allow(n, {});
    Val v = in(n, 0);
    v.input = -1;  // a later transform would change what this alias sees too
    set(n, v);
  }

  /// Dropout: hepnn's Dropout (identity in inference, active when the imported model is trained).
  void dropout(const OnnxNode& n) {
    allow(n, {"seed"});
    if (given(n, 2)) {
      const OnnxTensor& mode = const_in(n, 2, "training_mode");
      if (!mode.values.empty() && mode.values[0] != 0) unsupported(n, "training_mode = true");
    }
    double rate = 0.5;
    if (given(n, 1)) {
      const OnnxTensor& r = const_in(n, 1, "the ratio");
      HEPNN_CHECK(r.values.size() == 1 && r.values[0] >= 0 && r.values[0] < 1, at(n), ": the ratio must be one number in [0, 1)");
      rate = r.values[0];
    }
    set(n, Val{make(n, onnx_detail::config_of("Dropout", Dropout{rate}), {tensor_in(n, 0)}, true), nullptr, -1});
  }

  /// Dense from a (K, N) kernel and an optional bias of N values.
  void dense(const OnnxNode& n, SymbolicTensor x, std::vector<double> kernel, std::int64_t units,
             std::vector<double> bias, const std::string& y) {
    Dense d;
    d.units = units;
    d.use_bias = !bias.empty();
    if (const OnnxNode* a = fuse_activation(y)) std::tie(d.activation, d.alpha) = fused_activation(*a);
    std::vector<std::vector<double>> p{std::move(kernel)};
    if (d.use_bias) p.push_back(std::move(bias));
    set(n, Val{make(n, onnx_detail::config_of("Dense", d), {x}, true, std::move(p)), nullptr, -1});
  }
  /// The N values of a bias constant: (N,), (1, N), or one value for all.
  std::vector<double> bias_values(const OnnxNode& n, const OnnxTensor& c, std::int64_t units, const char* what) const {
    const std::int64_t size = onnx_detail::count(c.dims);
    const bool row = c.dims.size() <= 1 || (c.dims.size() == 2 && c.dims[0] == 1);
    if (!row || (size != units && size != 1))
      unsupported(n, std::string(what) + " of dimensions " + onnx_detail::dims_str(c.dims) +
                         " (hepnn's Dense adds one bias per unit, " + std::to_string(units) + ", the same on every row)");
    return size == units ? c.values : std::vector<double>(std::size_t(units), c.values.at(0));
  }

  void gemm(const OnnxNode& n) {
    allow(n, {"alpha", "beta", "transA", "transB"});
    if (attr_i(n, "transA", 0) != 0) unsupported(n, "transA = 1 (it transposes the batch axis into the features)");
    const bool tb = attr_i(n, "transB", 0) != 0;
    const double alpha = attr_f(n, "alpha", 1.0), beta = attr_f(n, "beta", 1.0);
    SymbolicTensor x = tensor_in(n, 0);
    if (x.shape().rank() != 1) unsupported(n, "an input with per-sample shape " + x.shape().str() + " (Gemm takes (batch, K))");
    const OnnxTensor& b = const_in(n, 1, "the matrix B");
    HEPNN_CHECK(b.dims.size() == 2, at(n), ": B must be a matrix, it has dimensions ", onnx_detail::dims_str(b.dims));
    const std::int64_t K = tb ? b.dims[1] : b.dims[0], N = tb ? b.dims[0] : b.dims[1];
    HEPNN_CHECK(K == x.shape()[0], at(n), ": B has dimensions ", onnx_detail::dims_str(b.dims), (tb ? " (transposed)" : ""),
                " for inputs of ", x.shape()[0], " features");
    std::vector<double> kernel(std::size_t(K * N));
    for (std::int64_t k = 0; k < K; ++k)
      for (std::int64_t j = 0; j < N; ++j)
        kernel[std::size_t(k * N + j)] = alpha * b.values[std::size_t(tb ? j * K + k : k * N + j)];
    std::vector<double> bias;
    if (given(n, 2)) {
      bias = bias_values(n, const_in(n, 2, "the bias C"), N, "a bias C");
      for (double& v : bias) v *= beta;
    }
    dense(n, x, std::move(kernel), N, std::move(bias), out(n));
  }

  /// The Add right after node n that adds a constant to n's output alone (a bias), or nullptr.
  const OnnxNode* bias_add_after(const OnnxNode& n, std::int64_t units) const {
    const std::string& y = out(n);
    if (m_uses.count(y) == 0 || m_uses.at(y) != 1 || m_graph_outputs.count(y)) return nullptr;
    for (const OnnxNode& a : m_g.nodes) {
      if (a.op_type != "Add" || a.inputs.size() != 2 || !a.attributes.empty()) continue;
      const int k = a.inputs[0] == y ? 1 : a.inputs[1] == y ? 0 : -1;
      if (k < 0) continue;
      auto c = m_values.find(a.inputs[std::size_t(k)]);
      if (c == m_values.end() || !c->second.c) return nullptr;
      const OnnxTensor& t = *c->second.c;
      const std::int64_t size = onnx_detail::count(t.dims);
      const bool row = t.dims.size() <= 1 || (t.dims.size() == 2 && t.dims[0] == 1);
      return row && (size == units || size == 1) ? &a : nullptr;
    }
    return nullptr;
  }

  void matmul(const OnnxNode& n) {
    allow(n, {});
    SymbolicTensor x = tensor_in(n, 0);
    const OnnxTensor& b = const_in(n, 1, "the right operand");
    if (b.dims.size() != 2) unsupported(n, "a right operand of dimensions " + onnx_detail::dims_str(b.dims) + " (hepnn needs a (K, N) matrix)");
    const std::int64_t K = b.dims[0], N = b.dims[1];
    HEPNN_CHECK(x.shape()[x.shape().rank() - 1] == K, at(n), ": the right operand has dimensions ", onnx_detail::dims_str(b.dims),
                " for inputs of per-sample shape ", x.shape().str());
    std::vector<double> bias;
    std::string y = out(n);
    if (const OnnxNode* add = bias_add_after(n, N)) {
      const OnnxTensor& c = *m_values.at(add->inputs[0] == out(n) ? add->inputs[1] : add->inputs[0]).c;
      bias = bias_values(*add, c, N, "a bias");
      m_fused[add] = out(n);
      m_tail = add;
      y = out(*add);
    }
    dense(n, x, b.values, N, std::move(bias), y);
  }

  void arithmetic(const OnnxNode& n) {
    allow(n, {});
    HEPNN_CHECK(n.inputs.size() == 2, at(n), ": needs 2 inputs, has ", n.inputs.size());
    if (auto f = m_fused.find(&n); f != m_fused.end()) {  // the bias of the MatMul before it
      set(n, Val{m_values.at(f->second).t, nullptr, -1});
      return;
    }
    const Val &a = in(n, 0), &b = in(n, 1);
    const std::string& op = n.op_type;
    if (a.t.valid() && b.t.valid()) {
      if (op == "Div") unsupported(n, "dividing one tensor by another");
      if (a.t.shape() != b.t.shape())
        unsupported(n, "broadcasting " + a.t.shape().str() + " and " + b.t.shape().str() + " (per sample)");
      const char* type = op == "Add" ? "Add" : op == "Sub" ? "Subtract" : "Multiply";
      LayerConfig c{type, "", {}};
      set(n, Val{make(n, c, {a.t, b.t}, true), nullptr, -1});
      return;
    }
    if (!a.t.valid() && !b.t.valid()) unsupported(n, "an operation of two constants");
    const bool tensor_first = a.t.valid();
    const Val& v = tensor_first ? a : b;
    const OnnxTensor& c = *(tensor_first ? b : a).c;
    const std::string& vname = n.inputs[tensor_first ? 0 : 1];
    if (v.input < 0 || m_uses.at(vname) != 1)
      unsupported(n, "an " + op + " of a tensor and a constant here (hepnn takes it as the bias after a MatMul, or as "
                     "the preprocessing of a graph input used by nothing else)");
    if (!tensor_first && (op == "Sub" || op == "Div")) unsupported(n, "a constant " + op + " a tensor");
    // the constant: one value, or one per element of a sample (leading 1s allowed)
    const Shape& s = v.t.shape();
    std::vector<std::int64_t> dims = c.dims;
    while (!dims.empty() && dims.front() == 1 && std::int64_t(dims.size()) > s.rank()) dims.erase(dims.begin());
    bool per_element = std::int64_t(dims.size()) == s.rank();
    for (std::size_t i = 0; per_element && i < dims.size(); ++i) per_element = dims[i] == s[int(i)];
    if (!per_element && c.values.size() != 1)
      unsupported(n, "a constant of dimensions " + onnx_detail::dims_str(c.dims) + " with inputs of per-sample shape " +
                         s.str() + " (it must hold one value, or one per element of a sample)");
    Transform& t = m_transforms[std::size_t(v.input)];
    const std::size_t size = std::size_t(s.size());
    if (t.shift.empty()) t.shift.assign(size, 0.0), t.scale.assign(size, 1.0);
    for (std::size_t j = 0; j < size; ++j) {
      const double cv = c.values.size() == 1 ? c.values[0] : c.values[j];
      if (op == "Sub") t.shift[j] += cv / t.scale[j];
      else if (op == "Add") t.shift[j] -= cv / t.scale[j];
      else {
        HEPNN_CHECK(cv != 0, at(n), ": ", op, " by 0 (element ", j, " of '", c.name, "')");
        t.scale[j] = op == "Mul" ? t.scale[j] * cv : t.scale[j] / cv;
      }
    }
    set(n, v);
  }

  /// Sum and Mean of tensors of one shape: Add and Average layers (one input: that input).
  void n_ary(const OnnxNode& n) {
    allow(n, {});
    HEPNN_CHECK(!n.inputs.empty(), at(n), ": needs at least one input");
    std::vector<SymbolicTensor> xs;
    for (std::size_t k = 0; k < n.inputs.size(); ++k) {
      xs.push_back(tensor_in(n, k));
      if (xs.back().shape() != xs[0].shape())
        unsupported(n, "broadcasting " + xs[0].shape().str() + " and " + xs.back().shape().str() + " (per sample)");
    }
    if (xs.size() == 1) return set(n, Val{xs[0], nullptr, -1});
    LayerConfig c{n.op_type == "Sum" ? "Add" : "Average", "", {}};
    set(n, Val{make(n, c, xs, true), nullptr, -1});
  }

  /// The activation node that alone reads y (not a graph output), to fuse into the Dense or Conv2D
  /// that makes y; it becomes the node's tail (the layer is named after its output). nullptr: none.
  const OnnxNode* fuse_activation(const std::string& y) {
    if (m_uses.count(y) == 0 || m_uses.at(y) != 1 || m_graph_outputs.count(y)) return nullptr;
    for (const OnnxNode& a : m_g.nodes) {
      if (a.inputs.size() != 1 || a.inputs[0] != y) continue;
      static const std::set<std::string> ops{"Relu", "LeakyRelu", "Elu", "Selu", "Sigmoid", "Tanh", "Softplus", "Gelu"};
      if (!ops.count(a.op_type) || !(a.domain.empty() || a.domain == "ai.onnx")) return nullptr;
      m_fused[&a] = y;
      m_tail = &a;
      return &a;
    }
    return nullptr;
  }
  /// The Activation and its alpha of an activation node.
  std::pair<Activation, std::optional<double>> fused_activation(const OnnxNode& a) const {
    const LayerConfig c = activation_config(a);
    static const std::map<std::string, Activation> kinds{
        {"ReLU", Activation::relu}, {"LeakyReLU", Activation::leaky_relu}, {"ELU", Activation::elu},
        {"SELU", Activation::selu}, {"Sigmoid", Activation::sigmoid},      {"Tanh", Activation::tanh},
        {"Softplus", Activation::softplus}, {"GELU", Activation::gelu}};
    const Activation k = kinds.at(c.type);
    if (k == Activation::leaky_relu || k == Activation::elu) return {k, c.get<double>("alpha")};
    return {k, std::nullopt};
  }

  void activation(const OnnxNode& n) {
    if (auto f = m_fused.find(&n); f != m_fused.end()) {  // applied by the Dense or Conv2D before it
      set(n, Val{m_values.at(f->second).t, nullptr, -1});
      return;
    }
    set(n, Val{make(n, activation_config(n), {tensor_in(n, 0)}, true), nullptr, -1});
  }
  LayerConfig activation_config(const OnnxNode& n) const {
    const std::string& op = n.op_type;
    LayerConfig c;
    if (op == "LeakyRelu") {
      allow(n, {"alpha"});
      c = onnx_detail::config_of("LeakyReLU", LeakyReLU{attr_f(n, "alpha", 0.01)});
    } else if (op == "Elu") {
      allow(n, {"alpha"});
      c = onnx_detail::config_of("ELU", ELU{attr_f(n, "alpha", 1.0)});
    } else if (op == "Selu") {
      allow(n, {"alpha", "gamma"});
      const double alpha = attr_f(n, "alpha", 1.67326319217681884765625), gamma = attr_f(n, "gamma", 1.05070102214813232421875);
      if (std::abs(alpha - 1.6732632423543772) > 1e-6 || std::abs(gamma - 1.0507009873554805) > 1e-6)
        unsupported(n, "alpha = " + std::to_string(alpha) + ", gamma = " + std::to_string(gamma) +
                           " (hepnn's SELU has the standard constants)");
      c = LayerConfig{"SELU", "", {}};
    } else if (op == "Gelu") {
      allow(n, {"approximate"});
      if (attr_s(n, "approximate", "none") != "none") unsupported(n, "approximate = '" + attr_s(n, "approximate", "") + "'");
      c = LayerConfig{"GELU", "", {}};
    } else {
      allow(n, {});
      c = LayerConfig{op == "Relu" ? "ReLU" : op, "", {}};
    }
    return c;
  }

  /// Permutation of per-sample axes swapping axis p with the last.
  static std::vector<std::int64_t> swap_last(std::int64_t p, std::int64_t rank) {
    std::vector<std::int64_t> perm(static_cast<std::size_t>(rank), 0);
    for (std::int64_t i = 0; i < rank; ++i) perm[std::size_t(i)] = i;
    std::swap(perm[std::size_t(p)], perm.back());
    return perm;
  }

  void softmax(const OnnxNode& n) {
    allow(n, {"axis"});
    SymbolicTensor x = tensor_in(n, 0);
    const int rank = int(x.shape().rank()) + 1;
    const std::int64_t a = axis_of(n, attr_i(n, "axis", -1), rank);
    if (a == 0) unsupported(n, "axis 0 (the batch axis)");
    const LayerConfig c{n.op_type, "", {}};
    if (a == rank - 1) {
      set(n, Val{make(n, c, {x}, true), nullptr, -1});
      return;
    }
    const auto perm = swap_last(a - 1, rank - 1);
    SymbolicTensor y = make(n, onnx_detail::config_of("Permute", Permute{perm}), {x}, false);
    y = make(n, c, {y}, false);
    set(n, Val{make(n, onnx_detail::config_of("Permute", Permute{perm}), {y}, true), nullptr, -1});
  }

  /// Spatial attributes of Conv and the pools: per-sample input (C, H, W) or (C, L).
  struct Window {
    std::int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
    Padding pad = Padding::valid;
  };
  Window window(const OnnxNode& n, const Shape& in, std::vector<std::int64_t> kernel) const {
    const int dims = int(in.rank()) - 1;
    if (dims != 1 && dims != 2) unsupported(n, "inputs of per-sample shape " + in.str() + " (1-D and 2-D only)");
    const std::size_t d = std::size_t(dims);
    const auto k = attr_ints(n, "kernel_shape", kernel, d);
    const auto s = attr_ints(n, "strides", std::vector<std::int64_t>(d, 1), d);
    const auto dil = attr_ints(n, "dilations", std::vector<std::int64_t>(d, 1), d);
    auto p = attr_ints(n, "pads", std::vector<std::int64_t>(2 * d, 0), 2 * d);
    for (std::size_t i = 0; i < d; ++i)
      HEPNN_CHECK(k[i] > 0 && s[i] > 0 && dil[i] > 0 && p[i] >= 0 && p[i + d] >= 0, at(n),
                  ": kernel_shape, strides and dilations must be positive and pads not negative");
    const std::string auto_pad = attr_s(n, "auto_pad", "NOTSET");
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      for (std::size_t i = 0; i < d; ++i) {
        auto [b, e] = onnx_detail::same_pads(in[int(i) + 1], k[i], s[i], dil[i], auto_pad == "SAME_UPPER");
        p[i] = b, p[i + d] = e;
      }
    } else if (auto_pad == "VALID") {
      std::fill(p.begin(), p.end(), 0);
    } else if (auto_pad != "NOTSET") {
      unsupported(n, "auto_pad = '" + auto_pad + "'");
    }
    Window w;
    if (dims == 2) {
      w = {k[0], k[1], s[0], s[1], dil[0], dil[1], Padding::pads(p[0], p[2], p[1], p[3])};
    } else {
      w = {1, k[0], 1, s[0], 1, dil[0], Padding::pads(0, 0, p[0], p[1])};
    }
    if (std::all_of(p.begin(), p.end(), [](std::int64_t v) { return v == 0; })) w.pad = Padding::valid;
    return w;
  }
  /// x as an image: (C, L) becomes (C, 1, L).
  SymbolicTensor as_image(const OnnxNode& n, SymbolicTensor x) {
    if (x.shape().rank() == 3) return x;
    return make(n, onnx_detail::config_of("Reshape", Reshape{{x.shape()[0], 1, x.shape()[1]}}), {x}, false);
  }
  /// y back to (C, L) when the input was 1-D.
  void finish(const OnnxNode& n, SymbolicTensor y, int in_rank, LayerConfig last) {
    if (in_rank == 3) {
      set(n, Val{make(n, std::move(last), {y}, true), nullptr, -1});
      return;
    }
    y = make(n, std::move(last), {y}, false);
    set(n, Val{make(n, onnx_detail::config_of("Reshape", Reshape{{y.shape()[0], -1}}), {y}, true), nullptr, -1});
  }
  /// finish() for a layer with weights.
  void finish_weighted(const OnnxNode& n, SymbolicTensor y, int in_rank, LayerConfig last,
                       std::vector<std::vector<double>> params) {
    if (in_rank == 3) {
      set(n, Val{make(n, std::move(last), {y}, true, std::move(params)), nullptr, -1});
      return;
    }
    y = make(n, std::move(last), {y}, false, std::move(params));
    set(n, Val{make(n, onnx_detail::config_of("Reshape", Reshape{{y.shape()[0], -1}}), {y}, true), nullptr, -1});
  }

  void conv(const OnnxNode& n) {
    allow(n, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
    if (attr_i(n, "group", 1) != 1) unsupported(n, "group = " + std::to_string(attr_i(n, "group", 1)));
    SymbolicTensor x = tensor_in(n, 0);
    const Shape in = x.shape();
    const OnnxTensor& w = const_in(n, 1, "the weights W");
    HEPNN_CHECK(std::int64_t(w.dims.size()) == in.rank() + 1 && in.rank() >= 2, at(n), ": weights of dimensions ",
                onnx_detail::dims_str(w.dims), " for inputs of per-sample shape ", in.str());
    HEPNN_CHECK(w.dims[1] == in[0], at(n), ": weights of dimensions ", onnx_detail::dims_str(w.dims), " for ", in[0],
                " input channels");
    const Window win = window(n, in, std::vector<std::int64_t>(w.dims.begin() + 2, w.dims.end()));
    HEPNN_CHECK(win.kh == (in.rank() == 3 ? w.dims[2] : 1) && win.kw == w.dims.back(), at(n),
                ": kernel_shape does not match the weights ", onnx_detail::dims_str(w.dims));
    Conv2D c;
    c.filters = w.dims[0];
    c.kernel_size = {win.kh, win.kw};
    c.strides = {win.sh, win.sw};
    c.dilation = {win.dh, win.dw};
    c.padding = win.pad;
    c.use_bias = given(n, 2);
    if (const OnnxNode* a = fuse_activation(out(n))) std::tie(c.activation, c.alpha) = fused_activation(*a);
    std::vector<std::vector<double>> p{w.values};
    if (c.use_bias) {
      const OnnxTensor& b = const_in(n, 2, "the bias B");
      HEPNN_CHECK(b.values.size() == std::size_t(c.filters) && b.dims.size() == 1, at(n), ": a bias of dimensions ",
                  onnx_detail::dims_str(b.dims), " for ", c.filters, " filters");
      p.push_back(b.values);
    }
    finish_weighted(n, as_image(n, x), int(in.rank()), onnx_detail::config_of("Conv2D", c), std::move(p));
  }

  void pool(const OnnxNode& n) {
    const bool max = n.op_type == "MaxPool";
    if (max) allow(n, {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"});
    else allow(n, {"auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "strides"});
    if (!n.attributes.count("kernel_shape")) unsupported(n, "a pool without kernel_shape");
    if (attr_i(n, "ceil_mode", 0) != 0) unsupported(n, "ceil_mode = 1");
    if (attr_i(n, "storage_order", 0) != 0) unsupported(n, "storage_order = 1");
    SymbolicTensor x = tensor_in(n, 0);
    const Shape in = x.shape();
    const Window win = window(n, in, {});
    if (win.dh != 1 || win.dw != 1) unsupported(n, "dilations other than 1");
    if (!max && attr_i(n, "count_include_pad", 0) != 0 && win.pad.mode != Padding::Mode::valid)
      unsupported(n, "count_include_pad = 1 with padding (hepnn averages the real pixels only)");
    const LayerConfig c = max ? onnx_detail::config_of("MaxPool2D", MaxPool2D{{win.kh, win.kw}, Size2{win.sh, win.sw}, win.pad})
                              : onnx_detail::config_of("AvgPool2D", AvgPool2D{{win.kh, win.kw}, Size2{win.sh, win.sw}, win.pad});
    finish(n, as_image(n, x), int(in.rank()), c);
  }

  void global_pool(const OnnxNode& n) {
    allow(n, {});
    SymbolicTensor x = tensor_in(n, 0);
    const Shape in = x.shape();
    if (in.rank() != 3 && in.rank() != 2) unsupported(n, "inputs of per-sample shape " + in.str());
    const std::int64_t h = in.rank() == 3 ? in[1] : 1, w = in[in.rank() - 1];
    const LayerConfig c = n.op_type == "GlobalMaxPool"
                              ? onnx_detail::config_of("MaxPool2D", MaxPool2D{{h, w}, Size2{h, w}, Padding::valid})
                              : onnx_detail::config_of("AvgPool2D", AvgPool2D{{h, w}, Size2{h, w}, Padding::valid});
    finish(n, as_image(n, x), int(in.rank()), c);
  }

  void batchnorm(const OnnxNode& n) {
    allow(n, {"epsilon", "momentum", "training_mode"});
    if (attr_i(n, "training_mode", 0) != 0) unsupported(n, "training_mode = 1");
    SymbolicTensor x = tensor_in(n, 0);
    const std::int64_t C = x.shape()[0];
    std::vector<std::vector<double>> arrays;
    const char* names[] = {"scale", "B", "input_mean", "input_var"};
    for (std::size_t k = 1; k <= 4; ++k) {
      const OnnxTensor& t = const_in(n, k, names[k - 1]);
      HEPNN_CHECK(t.dims.size() == 1 && t.dims[0] == C, at(n), ": ", names[k - 1], " has dimensions ",
                  onnx_detail::dims_str(t.dims), "; the input has ", C, " channels");
      arrays.push_back(t.values);
    }
    for (double v : arrays[3]) HEPNN_CHECK(v >= 0, at(n), ": input_var holds a negative variance (", v, ")");
    BatchNormalization b;
    b.epsilon = attr_f(n, "epsilon", 1e-5);
    b.momentum = attr_f(n, "momentum", 0.9);
    HEPNN_CHECK(b.epsilon > 0, at(n), ": epsilon must be positive");
    set(n, Val{make(n, onnx_detail::config_of("BatchNormalization", b), {x}, true, {arrays[0], arrays[1]},
                    {arrays[2], arrays[3]}),
               nullptr, -1});
  }

  void flatten(const OnnxNode& n) {
    allow(n, {"axis"});
    SymbolicTensor x = tensor_in(n, 0);
    const int rank = int(x.shape().rank()) + 1;
    const std::int64_t a = axis_of(n, attr_i(n, "axis", 1), rank + (attr_i(n, "axis", 1) >= 0 ? 1 : 0));
    if (a != 1) unsupported(n, "axis " + std::to_string(attr_i(n, "axis", 1)) + " (it merges the batch axis with others)");
    if (x.shape().rank() == 1) {
      Val v = in(n, 0);
      v.input = -1;
      set(n, v);
      return;
    }
    set(n, Val{make(n, LayerConfig{"Flatten", "", {}}, {x}, true), nullptr, -1});
  }

  void reshape(const OnnxNode& n) {
    allow(n, {"allowzero"});
    SymbolicTensor x = tensor_in(n, 0);
    const OnnxTensor& shape = const_in(n, 1, "the shape");
    HEPNN_CHECK(shape.dims.size() == 1 && !shape.values.empty(), at(n), ": the shape must be a non-empty list, it has dimensions ",
                onnx_detail::dims_str(shape.dims));
    const bool allowzero = attr_i(n, "allowzero", 0) != 0;
    std::vector<std::int64_t> target;
    for (double v : shape.values) {  // held as doubles: whole numbers up to 2^53 are exact
      HEPNN_CHECK(v >= -1 && v <= 9007199254740992.0 && v == std::floor(v), at(n), ": the shape holds ", v,
                  ", which is not an extent (-1, 0 or a positive whole number)");
      target.push_back(std::int64_t(v));
    }
    if (target[0] != 0 && target[0] != -1)
      unsupported(n, "a shape " + onnx_detail::dims_str(target) + " that fixes the batch size (export with a dynamic batch axis)");
    if (target[0] == 0 && allowzero) unsupported(n, "allowzero = 1 with a zero batch size");
    std::vector<std::int64_t> rest;
    for (std::size_t i = 1; i < target.size(); ++i) {
      std::int64_t v = target[i];
      if (v == 0 && !allowzero) {
        HEPNN_CHECK(std::int64_t(i) - 1 < x.shape().rank(), at(n), ": shape ", onnx_detail::dims_str(target),
                    " copies axis ", i, ", which the input does not have");
        v = x.shape()[int(i) - 1];
      }
      HEPNN_CHECK(v == -1 || v > 0, at(n), ": shape ", onnx_detail::dims_str(target), " has extent ", v);
      rest.push_back(v);
    }
    const bool free_rest = std::count(rest.begin(), rest.end(), std::int64_t(-1)) > 0;
    if (target[0] == -1) {
      if (free_rest) unsupported(n, "a shape " + onnx_detail::dims_str(target) + " with two free extents");
      HEPNN_CHECK(onnx_detail::count(rest) == x.shape().size(), at(n), ": shape ", onnx_detail::dims_str(target),
                  " would change the batch size (samples of ", x.shape().size(), " values)");
    }
    if (rest.empty()) rest.push_back(1);
    set(n, Val{make(n, onnx_detail::config_of("Reshape", Reshape{rest}), {x}, true), nullptr, -1});
  }

  void concat(const OnnxNode& n) {
    allow(n, {"axis"});
    HEPNN_CHECK(n.attributes.count("axis"), at(n), ": needs the attribute 'axis'");
    std::vector<SymbolicTensor> xs;
    for (std::size_t k = 0; k < n.inputs.size(); ++k) xs.push_back(tensor_in(n, k));
    HEPNN_CHECK(!xs.empty(), at(n), ": has no inputs");
    const std::int64_t a = axis_of(n, attr_i(n, "axis", 1), int(xs[0].shape().rank()) + 1);
    if (a == 0) unsupported(n, "axis 0 (the batch axis)");
    if (xs.size() == 1) {
      set(n, Val{xs[0], nullptr, -1});
      return;
    }
    set(n, Val{make(n, onnx_detail::config_of("Concatenate", Concatenate{a - 1}), xs, true), nullptr, -1});
  }

  void transpose(const OnnxNode& n) {
    allow(n, {"perm"});
    SymbolicTensor x = tensor_in(n, 0);
    const std::int64_t rank = x.shape().rank() + 1;
    std::vector<std::int64_t> def(static_cast<std::size_t>(rank), 0);
    for (std::int64_t i = 0; i < rank; ++i) def[std::size_t(i)] = rank - 1 - i;
    const auto perm = attr_ints(n, "perm", def, std::size_t(rank));
    if (perm[0] != 0) unsupported(n, "perm " + onnx_detail::dims_str(perm) + " (the batch axis must stay first)");
    std::vector<std::int64_t> dims;
    for (std::size_t i = 1; i < perm.size(); ++i) dims.push_back(perm[i] - 1);
    set(n, Val{make(n, onnx_detail::config_of("Permute", Permute{dims}), {x}, true), nullptr, -1});
  }

  void assign_weights(Model<T, Device>& m) {
    const auto& core = m.core();
    std::vector<T> params = core.params.to_vector(), state = core.state.to_vector();
    std::size_t used = 0;
    for (std::size_t i = 0; i < core.layers.size(); ++i) {
      const std::string& name = core.topo.layers[i].name;
      auto put = [&](const std::vector<ParamInfo>& infos, const std::vector<std::vector<double>>& arrays,
                     std::vector<T>& dst, std::int64_t off) {
        HEPNN_CHECK(infos.size() == arrays.size(), m_where, ": layer '", name, "' has ", infos.size(), " arrays, the graph gives ",
                    arrays.size());
        for (std::size_t a = 0; a < infos.size(); ++a) {
          HEPNN_CHECK(std::int64_t(arrays[a].size()) == infos[a].shape.size(), m_where, ": layer '", name, "': ", infos[a].name,
                      " has ", arrays[a].size(), " values, expected ", infos[a].shape.size());
          for (std::size_t v = 0; v < arrays[a].size(); ++v) dst[std::size_t(off) + v] = T(arrays[a][v]);
          off += infos[a].shape.size();
        }
      };
      auto p = m_params.find(name);
      auto s = m_state.find(name);
      if (p != m_params.end()) put(core.layers[i]->params(), p->second, params, core.param_offset[i]), ++used;
      if (s != m_state.end()) put(core.layers[i]->state_params(), s->second, state, core.state_offset[i]), ++used;
    }
    HEPNN_CHECK(used == m_params.size() + m_state.size(), m_where, ": ", m_params.size() + m_state.size() - used,
                " nodes with weights are not on the way to the outputs");
    auto& mc = const_cast<graph::GraphCore<T, Device>&>(core);
    detail::copy_to_model(mc.params, params);
    detail::copy_to_model(mc.state, state);
  }

  const OnnxGraph& m_g;
  std::string m_where;
  std::int64_t m_budget = 1024;
  std::map<std::string, Val> m_values;
  std::map<std::string, OnnxTensor> m_constants;
  std::map<std::string, int> m_uses;
  std::set<std::string> m_graph_outputs, m_names;
  std::map<const OnnxNode*, std::string> m_fused;  // Add or activation node -> the Dense or Conv2D output it joins
  const OnnxNode* m_tail = nullptr;                // the last node fused into the node being read
  std::vector<Transform> m_transforms;
  std::map<std::string, std::vector<std::vector<double>>> m_params, m_state;
};

/// The hepnn Model of an ONNX graph, weights set (see the file's comment for what is supported).
template <class T, class Device = cpu>
Model<T, Device> model_from_onnx(const OnnxGraph& g) {
  return OnnxImporter<T, Device>(g).build();
}

}  // namespace hepnn::io
