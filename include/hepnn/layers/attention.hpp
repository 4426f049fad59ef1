/// @file layers/attention.hpp
/// @brief MultiHeadAttention (self-attention over the elements of a sequence, with a key-padding
/// mask) and TransformerEncoderBlock (pre-norm: LayerNormalization, attention, residual;
/// LayerNormalization, feed-forward, residual).
///
/// For sequences x (L, D): per head a, q = x Wq_a + bq_a, k = x Wk_a + bk_a, v = x Wv_a + bv_a;
/// o_a = softmax(q k^T / sqrt(key_dim)) v over the real keys; y = [o_1 ... o_h] Wo + bo. Keras'
/// parameter shapes: query/key kernels (D, heads, key_dim), value kernel (D, heads, value_dim),
/// biases (heads, dim), output kernel (heads, value_dim, output_dim), output bias (output_dim).
/// PyTorch's nn.MultiheadAttention (batch_first, key_dim = D / heads) packs the three input
/// kernels in in_proj_weight (3D, D): Wq = in_proj_weight[0:D]^T, and so on; Wo = out_proj.weight^T.
///
/// Masks (layers/masking.hpp): padded keys get no attention; the outputs of padded queries are 0
/// and the output carries the mask on. A query of a sequence without real elements gets 0 (plus
/// the output bias, then 0 as it is padding).
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "hepnn/graph/symbolic.hpp"
#include "hepnn/init/initializers.hpp"
#include "hepnn/layers/activations.hpp"
#include "hepnn/layers/dense.hpp"
#include "hepnn/layers/dropout.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/layers/layer_norm.hpp"
#include "hepnn/layers/merge.hpp"
#include "hepnn/layers/sequence_layer.hpp"
#include "hepnn/ops/attention.hpp"
#include "hepnn/ops/elementwise.hpp"
#include "hepnn/ops/gemm.hpp"
#include "hepnn/ops/sequence.hpp"

namespace hepnn::inline HEPNN_ABI {

/// The layer a MultiHeadAttention spec builds: inputs sequences (L, D) and optionally their mask.
template <class T, class Device>
class MultiHeadAttentionLayer final : public SequenceLayer<T, Device> {
 public:
  MultiHeadAttentionLayer(std::string name, const std::vector<Shape>& in, std::int64_t heads, std::int64_t key_dim,
                          std::int64_t value_dim, std::int64_t output_dim, bool use_bias, Init kernel_init)
      : SequenceLayer<T, Device>(std::move(name), in, "MultiHeadAttention"),
        m_heads(heads),
        m_dk(key_dim),
        m_use_bias(use_bias),
        m_kernel_init(kernel_init) {
    const std::string who = "MultiHeadAttention '" + this->m_name + "'";
    HEPNN_CHECK(heads > 0 && key_dim > 0, who, ": num_heads and key_dim must be positive, got ", heads, " and ",
                key_dim);
    HEPNN_CHECK(value_dim >= 0 && output_dim >= 0, who, ": value_dim and output_dim must be 0 (default) or positive");
    m_D = this->m_F;
    m_dv = value_dim > 0 ? value_dim : key_dim;
    m_out = output_dim > 0 ? output_dim : m_D;
    this->m_output_shape = Shape{this->m_L, m_out};
  }
  std::string type() const override { return "MultiHeadAttention"; }
  std::string describe() const override {
    return detail::concat("heads=", m_heads, ", key_dim=", m_dk, this->masked() ? ", masked" : "");
  }
  std::vector<ParamInfo> params() const override {
    std::vector<ParamInfo> p{{"query_kernel", Shape{m_D, m_heads, m_dk}}};
    if (m_use_bias) p.push_back({"query_bias", Shape{m_heads, m_dk}});
    p.push_back({"key_kernel", Shape{m_D, m_heads, m_dk}});
    if (m_use_bias) p.push_back({"key_bias", Shape{m_heads, m_dk}});
    p.push_back({"value_kernel", Shape{m_D, m_heads, m_dv}});
    if (m_use_bias) p.push_back({"value_bias", Shape{m_heads, m_dv}});
    p.push_back({"output_kernel", Shape{m_heads, m_dv, m_out}});
    if (m_use_bias) p.push_back({"output_bias", Shape{m_out}});
    return p;
  }
  void initialize(T* p, std::uint64_t seed, std::uint64_t stream) const override {
    const Offsets o = offsets();
    const std::int64_t hk = m_heads * m_dk, hv = m_heads * m_dv;
    hepnn::initialize(m_kernel_init, p + o.wq, m_D * hk, m_D, hk, seed, stream);
    hepnn::initialize(m_kernel_init, p + o.wk, m_D * hk, m_D, hk, seed, stream + (1ull << 32));
    hepnn::initialize(m_kernel_init, p + o.wv, m_D * hv, m_D, hv, seed, stream + (2ull << 32));
    hepnn::initialize(m_kernel_init, p + o.wo, hv * m_out, hv, m_out, seed, stream + (3ull << 32));
    if (m_use_bias) {  // the four biases start at 0
      std::fill(p + o.bq, p + o.bq + hk, T(0));
      std::fill(p + o.bk, p + o.bk + hk, T(0));
      std::fill(p + o.bv, p + o.bv + hv, T(0));
      std::fill(p + o.bo, p + o.bo + m_out, T(0));
    }
  }
  // per sample: q, k, v, the probabilities, the heads' outputs; in training also the gradients of
  // the scores, of the heads' outputs, of q, k and v, and the masked output gradient
  std::int64_t inference_workspace_per_sample() const override {
    return this->m_L * (2 * m_heads * m_dk + 2 * m_heads * m_dv) + m_heads * this->m_L * this->m_L;
  }
  std::int64_t workspace_per_sample() const override {
    return 2 * inference_workspace_per_sample() + this->m_L * m_out;
  }

  void forward_many(std::int64_t B, const T* const* xs, T* y, T* ws, const Pass&) const override {
    run_forward(B, xs[0], this->mask_of(xs), y, ws);
  }
  void backward_many(std::int64_t B, const T* const* xs, const T*, const T* dy, T* const* dxs, T* ws,
                     const Pass&) override {
    HEPNN_CHECK(ws != nullptr, "MultiHeadAttention '", this->m_name, "': backward needs the training workspace");
    const T* x = xs[0];
    const T* mask = this->mask_of(xs);
    const Buffers w = buffers(B, ws);
    const Offsets o = offsets();
    const std::int64_t R = B * this->m_L, hk = m_heads * m_dk, hv = m_heads * m_dv;
    const T* P = this->m_params;
    T* G = this->m_grads;
    const T* dym = dy;
    if (mask) {  // the outputs of padded queries were set to 0: no gradient flows through them
      ops::apply_mask<Device>(R, m_out, dy, mask, w.dy_masked);
      dym = w.dy_masked;
    }
    ops::gemm<Device>(true, false, hv, m_out, R, T(1), w.o, dym, T(0), G + o.wo);
    if (m_use_bias) ops::bias_add_backward<Device>(R, m_out, dym, G + o.bo);
    ops::gemm<Device>(false, true, R, hv, m_out, T(1), dym, P + o.wo, T(0), w.dout);
    ops::attention_backward<Device>(B, m_heads, this->m_L, m_dk, m_dv, w.q, w.k, w.v, w.p, w.dout, scale(), w.ds, w.dq,
                                    w.dk, w.dv);
    const T* dproj[3] = {w.dq, w.dk, w.dv};
    const std::int64_t kernel[3] = {o.wq, o.wk, o.wv}, bias[3] = {o.bq, o.bk, o.bv}, cols[3] = {hk, hk, hv};
    for (int j = 0; j < 3; ++j) {
      ops::gemm<Device>(true, false, m_D, cols[j], R, T(1), x, dproj[j], T(0), G + kernel[j]);
      if (m_use_bias) ops::bias_add_backward<Device>(R, cols[j], dproj[j], G + bias[j]);
      if (dxs[0])
        ops::gemm<Device>(false, true, R, m_D, cols[j], T(1), dproj[j], P + kernel[j], j == 0 ? T(0) : T(1), dxs[0]);
    }
    this->zero_mask_gradient(B, dxs);
  }

 private:
  struct Offsets {
    std::int64_t wq, bq, wk, bk, wv, bv, wo, bo;
  };
  Offsets offsets() const {
    const std::int64_t hk = m_heads * m_dk, hv = m_heads * m_dv, b = m_use_bias ? 1 : 0;
    Offsets o{};
    o.wq = 0;
    o.bq = o.wq + m_D * hk;
    o.wk = o.bq + b * hk;
    o.bk = o.wk + m_D * hk;
    o.wv = o.bk + b * hk;
    o.bv = o.wv + m_D * hv;
    o.wo = o.bv + b * hv;
    o.bo = o.wo + hv * m_out;
    return o;
  }
  struct Buffers {
    T *q, *k, *v, *p, *o, *ds, *dout, *dq, *dk, *dv, *dy_masked;
  };
  Buffers buffers(std::int64_t B, T* ws) const {
    const std::int64_t R = B * this->m_L, hk = m_heads * m_dk, hv = m_heads * m_dv;
    Buffers b{};
    b.q = ws;
    b.k = b.q + R * hk;
    b.v = b.k + R * hk;
    b.p = b.v + R * hv;
    b.o = b.p + B * m_heads * this->m_L * this->m_L;
    b.ds = b.o + R * hv;  // training only from here on
    b.dout = b.ds + B * m_heads * this->m_L * this->m_L;
    b.dq = b.dout + R * hv;
    b.dk = b.dq + R * hk;
    b.dv = b.dk + R * hk;
    b.dy_masked = b.dv + R * hv;
    return b;
  }
  T scale() const { return T(1) / std::sqrt(T(m_dk)); }

  void run_forward(std::int64_t B, const T* x, const T* mask, T* y, T* ws) const {
    HEPNN_CHECK(ws != nullptr, "MultiHeadAttention '", this->m_name, "': forward needs its workspace");
    const Buffers w = buffers(B, ws);
    const Offsets o = offsets();
    const std::int64_t R = B * this->m_L, hk = m_heads * m_dk, hv = m_heads * m_dv;
    const T* P = this->m_params;
    T* proj[3] = {w.q, w.k, w.v};
    const std::int64_t kernel[3] = {o.wq, o.wk, o.wv}, bias[3] = {o.bq, o.bk, o.bv}, cols[3] = {hk, hk, hv};
    for (int j = 0; j < 3; ++j) {
      ops::gemm<Device>(false, false, R, cols[j], m_D, T(1), x, P + kernel[j], T(0), proj[j]);
      if (m_use_bias) ops::bias_add_forward<Device>(R, cols[j], P + bias[j], proj[j]);
    }
    ops::attention_forward<Device>(B, m_heads, this->m_L, m_dk, m_dv, w.q, w.k, w.v, mask, scale(), w.p, w.o);
    ops::gemm<Device>(false, false, R, m_out, hv, T(1), w.o, P + o.wo, T(0), y);
    if (m_use_bias) ops::bias_add_forward<Device>(R, m_out, P + o.bo, y);
    if (mask) ops::apply_mask<Device>(R, m_out, y, mask, y);
  }

  std::int64_t m_heads, m_dk, m_dv = 0, m_out = 0, m_D = 0;
  bool m_use_bias;
  Init m_kernel_init;
};

/// Spec: multi-head self-attention over sequences (L, D) -> (L, output_dim), with a key-padding
/// mask. Example: `MultiHeadAttention{.num_heads = 4, .key_dim = 16}(tracks)`.
struct MultiHeadAttention {
  /// Number of attention heads (required: positive).
  std::int64_t num_heads = 0;
  /// Size of each head's queries and keys (required: positive); the scores are scaled by 1/sqrt(key_dim).
  std::int64_t key_dim = 0;
  /// Size of each head's values; 0: key_dim.
  std::int64_t value_dim = 0;
  /// Features of the output; 0: those of the input (D), so that a residual connection adds up.
  std::int64_t output_dim = 0;
  /// Learn the four biases.
  bool use_bias = true;
  /// Initialiser of the four kernels.
  Init kernel_initializer = Init::glorot_uniform;
  /// The layer's name; empty: "multi_head_attention_1", ...
  std::string name = {};

  static constexpr const char* type_name = "multi_head_attention";
  static constexpr MaskMode mask_mode = MaskMode::consume_propagate;
  HEPNN_FUNCTIONAL_SPEC()
  std::map<std::string, ConfigValue> options() const {
    return {{"num_heads", num_heads}, {"key_dim", key_dim},   {"value_dim", value_dim},
            {"output_dim", output_dim}, {"use_bias", use_bias}, {"kernel_initializer", to_string(kernel_initializer)}};
  }
  static MultiHeadAttention from_config(const LayerConfig& c) {
    return MultiHeadAttention{c.get<std::int64_t>("num_heads"),  c.get<std::int64_t>("key_dim"),
                              c.get<std::int64_t>("value_dim"),  c.get<std::int64_t>("output_dim"),
                              c.get<bool>("use_bias"), init_from_string(c.get<std::string>("kernel_initializer")),
                              c.name};
  }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const std::vector<Shape>& in, const std::string& auto_name) const {
    return std::make_unique<MultiHeadAttentionLayer<T, Device>>(name.empty() ? auto_name : name, in, num_heads,
                                                                key_dim, value_dim, output_dim, use_bias,
                                                                kernel_initializer);
  }
};

/// Spec-like: one pre-norm Transformer encoder block over sequences x (L, D),
///   h = x + Dropout(MultiHeadAttention(LayerNormalization(x)))
///   y = h + Dropout(Dense(D)(Dense(ff_dim, activation)(LayerNormalization(h))))
/// built from hepnn's layers (they appear in summary() and model files one by one). Masks
/// travel through it. Without positional input it is permutation-equivariant: reordering the
/// real elements reorders the outputs alike.
struct TransformerEncoderBlock {
  /// Number of attention heads (required: positive).
  std::int64_t num_heads = 0;
  /// Size of each head's queries and keys; 0: D / num_heads (D must divide).
  std::int64_t key_dim = 0;
  /// Width of the feed-forward network's hidden layer (required: positive).
  std::int64_t ff_dim = 0;
  /// Activation of the feed-forward network's hidden layer.
  Activation activation = Activation::relu;
  /// Dropout rate after the attention and after the feed-forward network; 0: none.
  double dropout = 0.0;
  /// epsilon of the two LayerNormalization layers (PyTorch's default).
  double epsilon = 1e-5;
  /// Prefix of the block's layer names ("<name>_attention", "<name>_ff1", ...); empty: automatic names.
  std::string name = {};

  /// The block's layers over x (sequences (L, D)): its output, of x's shape, carrying x's mask.
  SymbolicTensor operator()(const SymbolicTensor& x) const {
    HEPNN_CHECK(x.valid() && x.shape().rank() == 2, "TransformerEncoderBlock '", name,
                "': expects sequences of per-sample shape (elements, features)",
                x.valid() ? ", got " + x.shape().str() : std::string());
    const std::int64_t D = x.shape()[1];
    HEPNN_CHECK(num_heads > 0 && ff_dim > 0, "TransformerEncoderBlock '", name,
                "': num_heads and ff_dim must be positive, got ", num_heads, " and ", ff_dim);
    HEPNN_CHECK(key_dim > 0 || D % num_heads == 0, "TransformerEncoderBlock '", name, "': ", D,
                " features do not split into ", num_heads, " heads; give key_dim");
    auto named = [&](const char* part) { return name.empty() ? std::string() : name + "_" + part; };
    auto drop = [&](const SymbolicTensor& t, const char* part) {
      return dropout > 0 ? Dropout{.rate = dropout, .name = named(part)}(t) : t;
    };
    SymbolicTensor a = LayerNormalization{.epsilon = epsilon, .name = named("norm1")}(x);
    a = MultiHeadAttention{.num_heads = num_heads, .key_dim = key_dim > 0 ? key_dim : D / num_heads,
                           .name = named("attention")}(a);
    const SymbolicTensor h = Add{.name = named("add1")}({x, drop(a, "dropout1")});
    SymbolicTensor f = LayerNormalization{.epsilon = epsilon, .name = named("norm2")}(h);
    f = Dense{.units = ff_dim, .activation = activation, .name = named("ff1")}(f);
    f = Dense{.units = D, .name = named("ff2")}(f);
    return Add{.name = named("add2")}({h, drop(f, "dropout2")});
  }
};

}  // namespace hepnn
