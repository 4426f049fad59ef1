/// @file io/onnx.hpp
/// @brief `.onnx` files: load_onnx (an ONNX model as a trainable hepnn Model) and save_onnx (a
/// hepnn model as an ONNX model that ONNX Runtime runs). The optional component hepnn::onnx:
/// the protobuf encoding is ONNX's own (libonnx_proto and libprotobuf; Debian: libonnx-dev
/// libprotobuf-dev), the rest is io/onnx_graph.hpp (import) and io/onnx_export.hpp (export).
///
/// Read: opsets onnx_min_opset to onnx_max_opset (13 to 25) of the default domain; FLOAT, DOUBLE,
/// INT64 and INT32 tensors (typed fields or raw_data); weights stored inside the file. Written:
/// opset 17 (20 with GELU), IR version 8 (9), FLOAT or DOUBLE tensors as the model's T, the batch
/// axis symbolic ("batch"), the file replaced atomically. Every defect of a file is a hepnn::Error
/// naming the file and what is wrong.
#pragma once
#include "hepnn/core/config.hpp"
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

// ONNX's generated protobuf classes, as Debian's libonnx_proto was built (the -ml variant)
#ifndef ONNX_ML
/// Selects ONNX's `-ml` protobuf classes (onnx/onnx-ml.pb.h), the ones Debian's libonnx_proto holds.
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>

#include "hepnn/core/version.hpp"
#include "hepnn/io/onnx_export.hpp"
#include "hepnn/io/onnx_graph.hpp"

namespace hepnn::inline HEPNN_ABI::io {

namespace onnx_detail {

template <class V>
void raw_values(const std::string& raw, std::size_t n, std::vector<double>& out, const std::string& where) {
  HEPNN_CHECK(raw.size() == n * sizeof(V), where, ": raw_data holds ", raw.size(), " bytes for ", n, " values of ",
              sizeof(V), " bytes");
  out.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    V v;
    std::memcpy(&v, raw.data() + k * sizeof(V), sizeof(V));  // little-endian, as ONNX stores it (x86-64, aarch64)
    out[k] = double(v);
  }
}

inline OnnxTensor tensor_from_proto(const onnx::TensorProto& p, const std::string& where) {
  OnnxTensor t;
  t.name = p.name();
  const std::string w = where + ": tensor '" + t.name + "'";
  HEPNN_CHECK(p.data_location() != onnx::TensorProto::EXTERNAL && p.external_data_size() == 0, w,
              ": its data lie in an external file; hepnn reads weights stored inside the .onnx file");
  HEPNN_CHECK(!p.has_segment(), w, ": segmented tensors are not supported");
  std::uint64_t n = 1;
  for (std::int64_t d : p.dims()) {
    HEPNN_CHECK(d >= 0 && d <= (std::int64_t(1) << 40), w, ": dimension ", d, " is out of range");
    t.dims.push_back(d);
    n *= std::uint64_t(d);
    HEPNN_CHECK(n <= (std::uint64_t(1) << 40), w, ": too many elements");
  }
  const bool raw = p.has_raw_data();
  switch (p.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (raw) raw_values<float>(p.raw_data(), n, t.values, w);
      else t.values.assign(p.float_data().begin(), p.float_data().end());
      break;
    case onnx::TensorProto::DOUBLE:
      if (raw) raw_values<double>(p.raw_data(), n, t.values, w);
      else t.values.assign(p.double_data().begin(), p.double_data().end());
      break;
    case onnx::TensorProto::INT64:
      t.integer = true;
      if (raw) raw_values<std::int64_t>(p.raw_data(), n, t.values, w);
      else t.values.assign(p.int64_data().begin(), p.int64_data().end());
      break;
    case onnx::TensorProto::INT32:
      t.integer = true;
      if (raw) raw_values<std::int32_t>(p.raw_data(), n, t.values, w);
      else t.values.assign(p.int32_data().begin(), p.int32_data().end());
      break;
    case onnx::TensorProto::BOOL:  // Dropout's training_mode
      t.integer = true;
      if (raw) raw_values<std::uint8_t>(p.raw_data(), n, t.values, w);
      else t.values.assign(p.int32_data().begin(), p.int32_data().end());
      break;
    default:
      throw Error(w + ": element type " + onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(p.data_type())) +
                  " (code " + std::to_string(p.data_type()) + "); hepnn reads FLOAT, DOUBLE, INT64, INT32 and BOOL");
  }
  HEPNN_CHECK(t.values.size() == n, w, ": dimensions ", dims_str(t.dims), " but ", t.values.size(), " values");
  return t;
}

inline OnnxValue value_from_proto(const onnx::ValueInfoProto& v, const std::string& where) {
  OnnxValue out{v.name(), {}};
  const std::string w = where + ": graph input or output '" + v.name() + "'";
  HEPNN_CHECK(v.type().has_tensor_type(), w, " is not a tensor");
  const auto& tt = v.type().tensor_type();
  const auto et = tt.elem_type();
  HEPNN_CHECK(et == onnx::TensorProto::FLOAT || et == onnx::TensorProto::DOUBLE, w, " has element type ",
              onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(et)), "; hepnn models take FLOAT or DOUBLE");
  HEPNN_CHECK(tt.has_shape(), w, " has no shape; hepnn needs the per-sample dimensions");
  for (const auto& d : tt.shape().dim()) out.dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
  return out;
}

inline OnnxAttribute attribute_from_proto(const onnx::AttributeProto& a, const std::string& where) {
  OnnxAttribute r;
  switch (a.type()) {
    case onnx::AttributeProto::INT: r.kind = OnnxAttribute::Kind::integer, r.i = a.i(); break;
    case onnx::AttributeProto::FLOAT: r.kind = OnnxAttribute::Kind::real, r.f = a.f(); break;
    case onnx::AttributeProto::STRING: r.kind = OnnxAttribute::Kind::text, r.s = a.s(); break;
    case onnx::AttributeProto::INTS:
      r.kind = OnnxAttribute::Kind::integers, r.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case onnx::AttributeProto::FLOATS:
      r.kind = OnnxAttribute::Kind::reals, r.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case onnx::AttributeProto::TENSOR: r.kind = OnnxAttribute::Kind::tensor, r.t = tensor_from_proto(a.t(), where); break;
    default:
      throw Error(where + ": attribute '" + a.name() + "' is of kind " +
                  onnx::AttributeProto::AttributeType_Name(a.type()) + ", which hepnn does not read");
  }
  return r;
}

inline void to_proto(const OnnxTensor& t, bool dbl, onnx::TensorProto* p) {
  p->set_name(t.name);
  for (std::int64_t d : t.dims) p->add_dims(d);
  if (t.integer) {
    p->set_data_type(onnx::TensorProto::INT64);
    for (double v : t.values) p->add_int64_data(std::int64_t(v));
  } else if (dbl) {
    p->set_data_type(onnx::TensorProto::DOUBLE);
    for (double v : t.values) p->add_double_data(v);
  } else {
    p->set_data_type(onnx::TensorProto::FLOAT);
    for (double v : t.values) p->add_float_data(float(v));  // exact: the values came from floats
  }
}

inline void to_proto(const OnnxValue& v, bool dbl, onnx::ValueInfoProto* p) {
  p->set_name(v.name);
  auto* tt = p->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(dbl ? onnx::TensorProto::DOUBLE : onnx::TensorProto::FLOAT);
  auto* shape = tt->mutable_shape();
  for (std::int64_t d : v.dims) {
    auto* dim = shape->add_dim();
    if (d < 0) dim->set_dim_param("batch");
    else dim->set_dim_value(d);
  }
}

}  // namespace onnx_detail

/// The graph of a serialised ONNX ModelProto (`where` names it in messages).
inline OnnxGraph onnx_graph_from_bytes(const std::string& bytes, const std::string& where) {
  onnx::ModelProto m;
  HEPNN_CHECK(!bytes.empty(), where, ": the file is empty");
  HEPNN_CHECK(m.ParseFromString(bytes), where, ": not an ONNX model (the protobuf message does not parse: truncated or "
                                               "not a .onnx file)");
  HEPNN_CHECK(m.has_graph(), where, ": the ONNX model has no graph");
  OnnxGraph g;
  g.source = where;
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") g.opset = o.version();
  HEPNN_CHECK(g.opset > 0, where, ": the model imports no opset of the default ONNX domain");
  const onnx::GraphProto& gp = m.graph();
  g.name = gp.name().empty() ? "model" : gp.name();
  std::set<std::string> init_names;
  for (const auto& t : gp.initializer()) {
    g.initializers.push_back(onnx_detail::tensor_from_proto(t, where));
    init_names.insert(t.name());
  }
  HEPNN_CHECK(gp.sparse_initializer_size() == 0, where, ": sparse initializers are not supported");
  for (const auto& v : gp.input())
    if (!init_names.count(v.name())) {  // older exporters list the initializers as inputs too
      g.inputs.push_back(onnx_detail::value_from_proto(v, where));
      if (v.type().tensor_type().elem_type() == onnx::TensorProto::DOUBLE) g.double_precision = true;
    }
  for (const auto& v : gp.output()) g.outputs.push_back(onnx_detail::value_from_proto(v, where));
  for (const auto& np : gp.node()) {
    OnnxNode n{np.op_type(), np.name(), np.domain(), {np.input().begin(), np.input().end()},
               {np.output().begin(), np.output().end()}, {}};
    const std::string at = where + ": node '" + n.name + "' (" + n.op_type + ")";
    for (const auto& a : np.attribute()) {
      HEPNN_CHECK(a.ref_attr_name().empty(), at, ": attribute '", a.name(), "' refers to a function's attribute");
      HEPNN_CHECK(n.attributes.emplace(a.name(), onnx_detail::attribute_from_proto(a, at)).second, at,
                  ": attribute '", a.name(), "' is given twice");
    }
    g.nodes.push_back(std::move(n));
  }
  return g;
}

/// The graph of an `.onnx` file.
inline OnnxGraph read_onnx_graph(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  HEPNN_CHECK(in.good(), "load_onnx: cannot open '", path, "'");
  std::ostringstream s;
  s << in.rdbuf();
  HEPNN_CHECK(!in.bad(), "load_onnx: cannot read '", path, "'");
  return onnx_graph_from_bytes(s.str(), "'" + path + "'");
}

/// A graph as a serialised ONNX ModelProto (producer "hepnn").
inline std::string onnx_bytes(const OnnxGraph& g) {
  onnx::ModelProto m;
  m.set_ir_version(g.opset >= 21 ? 10 : g.opset >= 19 ? 9 : 8);  // the IR version of the opset's ONNX release
  m.set_producer_name("hepnn");
  m.set_producer_version(hepnn_version);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(g.opset);
  auto* gp = m.mutable_graph();
  gp->set_name(g.name);
  for (const OnnxTensor& t : g.initializers) onnx_detail::to_proto(t, g.double_precision, gp->add_initializer());
  for (const OnnxValue& v : g.inputs) onnx_detail::to_proto(v, g.double_precision, gp->add_input());
  for (const OnnxValue& v : g.outputs) onnx_detail::to_proto(v, g.double_precision, gp->add_output());
  for (const OnnxNode& n : g.nodes) {
    auto* np = gp->add_node();
    np->set_op_type(n.op_type);
    np->set_name(n.name);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (const auto& x : n.inputs) np->add_input(x);
    for (const auto& y : n.outputs) np->add_output(y);
    for (const auto& [key, a] : n.attributes) {
      auto* ap = np->add_attribute();
      ap->set_name(key);
      switch (a.kind) {
        case OnnxAttribute::Kind::integer: ap->set_type(onnx::AttributeProto::INT), ap->set_i(a.i); break;
        case OnnxAttribute::Kind::real: ap->set_type(onnx::AttributeProto::FLOAT), ap->set_f(float(a.f)); break;
        case OnnxAttribute::Kind::text: ap->set_type(onnx::AttributeProto::STRING), ap->set_s(a.s); break;
        case OnnxAttribute::Kind::integers:
          ap->set_type(onnx::AttributeProto::INTS);
          for (std::int64_t v : a.ints) ap->add_ints(v);
          break;
        case OnnxAttribute::Kind::reals:
          ap->set_type(onnx::AttributeProto::FLOATS);
          for (double v : a.floats) ap->add_floats(float(v));
          break;
        case OnnxAttribute::Kind::tensor:
          ap->set_type(onnx::AttributeProto::TENSOR);
          onnx_detail::to_proto(a.t, g.double_precision, ap->mutable_t());
          break;
      }
    }
  }
  std::string out;
  HEPNN_CHECK(m.SerializeToString(&out), "save_onnx: protobuf could not serialise the model '", g.name,
              "' (over 2 GiB?)");
  return out;
}

/// Writes a graph to `path` atomically (a temporary file beside it, then a rename).
inline void write_onnx_graph(const OnnxGraph& g, const std::string& path) {
  const std::string bytes = onnx_bytes(g);
  const std::string tmp = path + ".tmp-hepnn";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    HEPNN_CHECK(out.good(), "save_onnx: cannot write '", tmp, "'");
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.flush();
    if (!out.good()) {
      std::remove(tmp.c_str());
      throw Error("save_onnx: writing '" + tmp + "' failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error("save_onnx: cannot move '" + tmp + "' to '" + path + "'");
  }
}

/// An `.onnx` file as a trainable hepnn Model of T on Device (see io/onnx_graph.hpp for the
/// operators read; anything else is a hepnn::Error naming the node).
template <class T, class Device = cpu>
Model<T, Device> load_onnx(const std::string& path) {
  return model_from_onnx<T, Device>(read_onnx_graph(path));
}

/// Writes a Model or Sequential to an `.onnx` file: the complete function, input preprocessing
/// included (see io/onnx_export.hpp for the layers written).
template <class M>
void save_onnx(const M& model, const std::string& path) {
  write_onnx_graph(onnx_graph_from_model(model), path);
}

}  // namespace hepnn::io
