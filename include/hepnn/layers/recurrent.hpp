/// @file layers/recurrent.hpp
/// @brief LSTM and GRU over sequences (L, F), with masks, Keras' equations and weight layouts.
///
///   i = sigmoid(x W_i + h U_i + b_i)   f = sigmoid(x W_f + h U_f + b_f)
///   g = tanh(x W_g + h U_g + b_g)      o = sigmoid(x W_o + h U_o + b_o)
///   c' = f c + i g                     h' = o tanh(c')
///
/// Parameters, as Keras stores them: kernel W (F, 4H), recurrent_kernel U (H, 4H), bias b (4H),
/// the four blocks of 4H in the order i, f, g, o (Keras calls g "c"). PyTorch's nn.LSTM has the
/// same gate order with transposed matrices and two biases: weight_ih = W^T, weight_hh = U^T,
/// bias_ih + bias_hh = b (tests/golden/make_sequence_golden.py does this mapping).
///
/// Masks (layers/masking.hpp): a padded element leaves the state unchanged, so the last state is
/// that after the last real element, wherever the padding is; with return_sequences its output
/// is 0. `reverse` runs from the last element to the first; its outputs stay at their elements'
/// positions (as the backward half of PyTorch's bidirectional LSTM; Keras' go_backwards returns
/// them reversed).
#pragma once
#include "hepnn/core/config.hpp"
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hepnn/graph/symbolic.hpp"
#include "hepnn/init/initializers.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/layers/merge.hpp"
#include "hepnn/layers/sequence_layer.hpp"
#include "hepnn/ops/elementwise.hpp"
#include "hepnn/ops/gemm.hpp"
#include "hepnn/ops/recurrent.hpp"
#include "hepnn/ops/sequence.hpp"

namespace hepnn::inline HEPNN_ABI {

/// What LSTM and GRU layers share: inputs sequences (L, F) and optionally their mask (L,);
/// output (L, H) with return_sequences, else (H); `gates` blocks of H per step. The input product
/// x W + b of all steps is one gemm before the steps, and its gradient one after them.
template <class T, class Device>
class RecurrentLayer : public SequenceLayer<T, Device> {
 public:
  RecurrentLayer(std::string name, const std::vector<Shape>& in, const char* type, std::int64_t gates,
                 std::int64_t units, bool return_sequences, bool reverse)
      : SequenceLayer<T, Device>(std::move(name), in, type),
        m_G(gates * units),
        m_H(units),
        m_return_sequences(return_sequences),
        m_reverse(reverse) {
    HEPNN_CHECK(units > 0, type, " '", this->m_name, "': units must be positive, got ", units);
    this->m_output_shape = return_sequences ? Shape{this->m_L, m_H} : Shape{m_H};
  }
  std::string describe() const override {
    std::string s = m_return_sequences ? "return_sequences" : "";
    if (m_reverse) s += s.empty() ? "reverse" : ", reverse";
    if (this->masked()) s += s.empty() ? "masked" : ", masked";
    return s;
  }
  std::int64_t inference_workspace_per_sample() const override { return this->workspace_per_sample(); }

  void forward_many(std::int64_t B, const T* const* xs, T* y, T* ws, const Pass&) const override {
    HEPNN_CHECK(ws != nullptr, this->type(), " '", this->m_name, "': forward needs its workspace");
    run_forward(B, xs[0], this->mask_of(xs), y, ws);
  }
  void backward_many(std::int64_t B, const T* const* xs, const T*, const T* dy, T* const* dxs, T* ws,
                     const Pass&) override {
    HEPNN_CHECK(ws != nullptr, this->type(), " '", this->m_name, "': backward needs the training workspace");
    const std::int64_t L = this->m_L, F = this->m_F;
    T* dxw = run_backward(B, this->mask_of(xs), dy, ws);  // d(x W + b), (B, L, G)
    ops::gemm<Device>(true, false, F, m_G, B * L, T(1), xs[0], dxw, T(0), this->m_grads);
    ops::bias_add_backward<Device>(B * L, m_G, dxw, this->m_grads + input_bias_offset());
    if (dxs[0]) ops::gemm<Device>(false, true, B * L, F, m_G, T(1), dxw, this->m_params, T(0), dxs[0]);
    this->zero_mask_gradient(B, dxs);
  }
  /// H, the size of the state.
  std::int64_t units() const { return m_H; }

 protected:
  /// The steps: y from x (B, L, F); ws as workspace_per_sample() says.
  virtual void run_forward(std::int64_t B, const T* x, const T* mask, T* y, T* ws) const = 0;
  /// Backward through the steps, after a forward on ws: returns d(x W + b) as (B, L, G) in ws and
  /// leaves the recurrent parameters' gradients in m_grads.
  virtual T* run_backward(std::int64_t B, const T* mask, const T* dy, T* ws) = 0;
  /// Where the input bias starts in the parameters (after W and U).
  std::int64_t input_bias_offset() const { return (this->m_F + m_H) * m_G; }
  /// Element t of the order of the steps s = 0, 1, ...
  std::int64_t element(std::int64_t s) const { return m_reverse ? this->m_L - 1 - s : s; }
  /// xw (B, L, G) = x W + b_in for every element.
  void input_products(std::int64_t B, const T* x, T* xw) const {
    ops::gemm<Device>(false, false, B * this->m_L, m_G, this->m_F, T(1), x, this->m_params, T(0), xw);
    ops::bias_add_forward<Device>(B * this->m_L, m_G, this->m_params + input_bias_offset(), xw);
  }
  /// Moves step s's block (B, G) of a time-major buffer to element t's rows of (B, L, G).
  void to_batch_major(std::int64_t B, const T* steps, T* rows) const {
    const std::int64_t L = this->m_L;
    for (std::int64_t s = 0; s < L; ++s)
      ops::copy_2d<Device>(B, m_G, steps + s * B * m_G, m_G, rows + element(s) * m_G, L * m_G);
  }
  /// y from the states h of every step (time-major (L, B, H)): all of them (0 on padding) or the last.
  void write_outputs(std::int64_t B, const T* h, const T* mask, T* y) const {
    const std::int64_t L = this->m_L;
    if (!m_return_sequences) {
      ops::axpby<Device>(B * m_H, T(1), h + (L - 1) * B * m_H, T(0), y);
      return;
    }
    for (std::int64_t s = 0; s < L; ++s)
      ops::copy_2d<Device>(B, m_H, h + s * B * m_H, m_H, y + element(s) * m_H, L * m_H);
    if (mask) ops::apply_mask<Device>(B * L, m_H, y, mask, y);
  }
  /// dh before the last step: 0 with return_sequences (each step adds its dy), else dy.
  void initial_dh(std::int64_t B, const T* dy, T* dh) const {
    if (m_return_sequences) ops::zero_fill<Device>(B * m_H, dh);
    else ops::axpby<Device>(B * m_H, T(1), dy, T(0), dh);
  }
  /// The gradient of step s's output, or null (the last state only).
  const T* step_dy(const T* dy, std::int64_t s) const { return m_return_sequences ? dy + element(s) * m_H : nullptr; }

  std::int64_t m_G;          ///< gate values per step: 4H (LSTM) or 3H (GRU)
  std::int64_t m_H;          ///< units, the size of the state
  bool m_return_sequences;   ///< output every step's h, or the last
  bool m_reverse;            ///< run from the last element to the first
};

/// The layer an LSTM spec builds (RecurrentLayer with gates i, f, g, o).
template <class T, class Device>
class LSTMLayer final : public RecurrentLayer<T, Device> {
 public:
  LSTMLayer(std::string name, const std::vector<Shape>& in, std::int64_t units, bool return_sequences, bool reverse,
            Init kernel_init, Init recurrent_init, bool unit_forget_bias)
      : RecurrentLayer<T, Device>(std::move(name), in, "LSTM", 4, units, return_sequences, reverse),
        m_kernel_init(kernel_init),
        m_recurrent_init(recurrent_init),
        m_unit_forget_bias(unit_forget_bias) {}
  std::string type() const override { return "LSTM"; }
  std::vector<ParamInfo> params() const override {
    return {{"kernel", Shape{this->m_F, this->m_G}}, {"recurrent_kernel", Shape{this->m_H, this->m_G}},
            {"bias", Shape{this->m_G}}};
  }
  void initialize(T* p, std::uint64_t seed, std::uint64_t stream) const override {
    const std::int64_t F = this->m_F, H = this->m_H, G = this->m_G;
    hepnn::initialize(m_kernel_init, p, F * G, F, G, seed, stream);
    hepnn::initialize(m_recurrent_init, p + F * G, H * G, H, G, seed, stream + (1ull << 32));
    T* b = p + (F + H) * G;
    for (std::int64_t j = 0; j < G; ++j) b[j] = (m_unit_forget_bias && j >= H && j < 2 * H) ? T(1) : T(0);
  }
  // per sample: x W + b (L, 4H), the gates of every step (L, 4H), c and h of every step (L, H
  // each), and three (H) vectors for the backward pass
  std::int64_t workspace_per_sample() const override { return this->m_L * (2 * this->m_G + 2 * this->m_H) + 3 * this->m_H; }

 private:
  struct Buffers {
    T *xw, *gates, *c, *h, *scratch;
  };
  Buffers buffers(std::int64_t B, T* ws) const {
    const std::int64_t L = this->m_L, G = this->m_G, H = this->m_H;
    Buffers b{};
    b.xw = ws;
    b.gates = b.xw + B * L * G;  // time-major: step s at gates + s * B * 4H
    b.c = b.gates + B * L * G;
    b.h = b.c + B * L * H;
    b.scratch = b.h + B * L * H;
    return b;
  }

  void run_forward(std::int64_t B, const T* x, const T* mask, T* y, T* ws) const override {
    const std::int64_t L = this->m_L, F = this->m_F, H = this->m_H, G = this->m_G;
    const Buffers w = buffers(B, ws);
    const T* U = this->m_params + F * G;
    this->input_products(B, x, w.xw);
    for (std::int64_t s = 0; s < L; ++s) {
      const std::int64_t t = this->element(s);
      T* g = w.gates + s * B * G;
      ops::copy_2d<Device>(B, G, w.xw + t * G, L * G, g, G);
      const T* h_prev = s > 0 ? w.h + (s - 1) * B * H : nullptr;
      if (h_prev) ops::gemm<Device>(false, false, B, G, H, T(1), h_prev, U, T(1), g);
      ops::lstm_cell_forward<Device>(B, H, g, s > 0 ? w.c + (s - 1) * B * H : nullptr, h_prev,
                                     mask ? mask + t : nullptr, L, w.c + s * B * H, w.h + s * B * H);
    }
    this->write_outputs(B, w.h, mask, y);
  }

  T* run_backward(std::int64_t B, const T* mask, const T* dy, T* ws) override {
    const std::int64_t L = this->m_L, F = this->m_F, H = this->m_H, G = this->m_G;
    const Buffers w = buffers(B, ws);
    const T* U = this->m_params + F * G;
    T* dU = this->m_grads + F * G;
    T *dh = w.scratch, *dh_next = w.scratch + B * H, *dc = w.scratch + 2 * B * H;
    ops::zero_fill<Device>(B * H, dc);
    ops::zero_fill<Device>(H * G, dU);
    this->initial_dh(B, dy, dh);
    for (std::int64_t s = L; s-- > 0;) {
      const std::int64_t t = this->element(s);
      T* g = w.gates + s * B * G;
      ops::lstm_cell_backward<Device>(B, H, g, w.c + s * B * H, s > 0 ? w.c + (s - 1) * B * H : nullptr,
                                      mask ? mask + t : nullptr, L, dh, this->step_dy(dy, s), L * H, dc, dh_next);
      if (s > 0) {
        ops::gemm<Device>(true, false, H, G, B, T(1), w.h + (s - 1) * B * H, g, T(1), dU);
        ops::gemm<Device>(false, true, B, H, G, T(1), g, U, T(1), dh_next);
      }
      std::swap(dh, dh_next);
    }
    this->to_batch_major(B, w.gates, w.xw);
    return w.xw;
  }

  Init m_kernel_init, m_recurrent_init;
  bool m_unit_forget_bias;
};

/// The layer a GRU spec builds (RecurrentLayer with gates z, r, h; Keras' reset_after form).
template <class T, class Device>
class GRULayer final : public RecurrentLayer<T, Device> {
 public:
  GRULayer(std::string name, const std::vector<Shape>& in, std::int64_t units, bool return_sequences, bool reverse,
           Init kernel_init, Init recurrent_init)
      : RecurrentLayer<T, Device>(std::move(name), in, "GRU", 3, units, return_sequences, reverse),
        m_kernel_init(kernel_init),
        m_recurrent_init(recurrent_init) {}
  std::string type() const override { return "GRU"; }
  std::vector<ParamInfo> params() const override {
    return {{"kernel", Shape{this->m_F, this->m_G}}, {"recurrent_kernel", Shape{this->m_H, this->m_G}},
            {"bias", Shape{2, this->m_G}}};  // row 0 the input bias, row 1 the recurrent bias (Keras)
  }
  void initialize(T* p, std::uint64_t seed, std::uint64_t stream) const override {
    const std::int64_t F = this->m_F, H = this->m_H, G = this->m_G;
    hepnn::initialize(m_kernel_init, p, F * G, F, G, seed, stream);
    hepnn::initialize(m_recurrent_init, p + F * G, H * G, H, G, seed, stream + (1ull << 32));
    for (std::int64_t j = 0; j < 2 * G; ++j) p[(F + H) * G + j] = T(0);
  }
  // per sample: x W + b_in (L, 3H), the gates of every step (L, 3H), h U + b_rec of every step
  // (L, 3H), h of every step (L, H), and two (H) vectors for the backward pass
  std::int64_t workspace_per_sample() const override { return this->m_L * (3 * this->m_G + this->m_H) + 2 * this->m_H; }

 private:
  struct Buffers {
    T *xw, *gates, *hu, *h, *scratch;
  };
  Buffers buffers(std::int64_t B, T* ws) const {
    const std::int64_t L = this->m_L, G = this->m_G;
    Buffers b{};
    b.xw = ws;
    b.gates = b.xw + B * L * G;
    b.hu = b.gates + B * L * G;
    b.h = b.hu + B * L * G;
    b.scratch = b.h + B * L * this->m_H;
    return b;
  }
  const T* recurrent_bias() const { return this->m_params + (this->m_F + this->m_H + 1) * this->m_G; }

  void run_forward(std::int64_t B, const T* x, const T* mask, T* y, T* ws) const override {
    const std::int64_t L = this->m_L, F = this->m_F, H = this->m_H, G = this->m_G;
    const Buffers w = buffers(B, ws);
    const T* U = this->m_params + F * G;
    this->input_products(B, x, w.xw);
    for (std::int64_t s = 0; s < L; ++s) {
      const std::int64_t t = this->element(s);
      T* g = w.gates + s * B * G;
      T* hu = w.hu + s * B * G;
      ops::copy_2d<Device>(B, G, w.xw + t * G, L * G, g, G);
      const T* h_prev = s > 0 ? w.h + (s - 1) * B * H : nullptr;
      if (h_prev) ops::gemm<Device>(false, false, B, G, H, T(1), h_prev, U, T(0), hu);
      else ops::zero_fill<Device>(B * G, hu);
      ops::bias_add_forward<Device>(B, G, recurrent_bias(), hu);
      ops::gru_cell_forward<Device>(B, H, g, hu, h_prev, mask ? mask + t : nullptr, L, w.h + s * B * H);
    }
    this->write_outputs(B, w.h, mask, y);
  }

  T* run_backward(std::int64_t B, const T* mask, const T* dy, T* ws) override {
    const std::int64_t L = this->m_L, F = this->m_F, H = this->m_H, G = this->m_G;
    const Buffers w = buffers(B, ws);
    const T* U = this->m_params + F * G;
    T* dU = this->m_grads + F * G;
    T *dh = w.scratch, *dh_next = w.scratch + B * H;
    ops::zero_fill<Device>(H * G, dU);
    this->initial_dh(B, dy, dh);
    for (std::int64_t s = L; s-- > 0;) {
      const std::int64_t t = this->element(s);
      T* g = w.gates + s * B * G;
      T* hu = w.hu + s * B * G;
      const T* h_prev = s > 0 ? w.h + (s - 1) * B * H : nullptr;
      ops::gru_cell_backward<Device>(B, H, g, hu, h_prev, mask ? mask + t : nullptr, L, dh, this->step_dy(dy, s),
                                     L * H, dh_next);
      if (h_prev) {
        ops::gemm<Device>(true, false, H, G, B, T(1), h_prev, hu, T(1), dU);
        ops::gemm<Device>(false, true, B, H, G, T(1), hu, U, T(1), dh_next);
      }
      std::swap(dh, dh_next);
    }
    // the recurrent bias: d(hu) of every step, summed over steps and samples
    ops::bias_add_backward<Device>(L * B, G, w.hu, this->m_grads + (F + H + 1) * G);
    this->to_batch_major(B, w.gates, w.xw);
    return w.xw;
  }

  Init m_kernel_init, m_recurrent_init;
};

namespace detail {
/// The options LSTM and GRU share, as model files store them.
inline std::map<std::string, ConfigValue> recurrent_options(std::int64_t units, bool return_sequences, bool reverse,
                                                            Init kernel_initializer, Init recurrent_initializer) {
  return {{"units", units},
          {"return_sequences", return_sequences},
          {"reverse", reverse},
          {"kernel_initializer", to_string(kernel_initializer)},
          {"recurrent_initializer", to_string(recurrent_initializer)}};
}
}  // namespace detail

/// Spec: a long short-term memory layer over sequences (L, F), Keras' equations and weight layout; a
/// padded element leaves the state unchanged. Example: `LSTM{.units = 64, .return_sequences = true}(tracks)`.
struct LSTM {
  /// H, the size of the state and of the output (required: positive).
  std::int64_t units = 0;
  /// Output every element's h, (L, H) (0 on padded elements), instead of the last state (H).
  bool return_sequences = false;
  /// Run from the last element to the first (outputs stay at their elements' positions).
  bool reverse = false;
  /// Initialiser of W (Keras' default).
  Init kernel_initializer = Init::glorot_uniform;
  /// Initialiser of U (Keras' default).
  Init recurrent_initializer = Init::orthogonal;
  /// Start the forget gate's bias at 1, the others at 0 (Keras' default); false: all 0.
  bool unit_forget_bias = true;
  /// The layer's name; empty: "lstm_1", "lstm_2", ...
  std::string name = {};

  static constexpr const char* type_name = "lstm";
  HEPNN_FUNCTIONAL_SPEC()
  /// Reads the mask; with return_sequences its output carries it on.
  MaskMode mask_mode_of_call() const { return return_sequences ? MaskMode::consume_propagate : MaskMode::consume; }
  std::map<std::string, ConfigValue> options() const {
    auto o = detail::recurrent_options(units, return_sequences, reverse, kernel_initializer, recurrent_initializer);
    o.emplace("unit_forget_bias", unit_forget_bias);
    return o;
  }
  static LSTM from_config(const LayerConfig& c) {
    return LSTM{c.get<std::int64_t>("units"),
                c.get<bool>("return_sequences"),
                c.get<bool>("reverse"),
                init_from_string(c.get<std::string>("kernel_initializer")),
                init_from_string(c.get<std::string>("recurrent_initializer")),
                c.get<bool>("unit_forget_bias"),
                c.name};
  }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const std::vector<Shape>& in, const std::string& auto_name) const {
    return std::make_unique<LSTMLayer<T, Device>>(name.empty() ? auto_name : name, in, units, return_sequences, reverse,
                                                  kernel_initializer, recurrent_initializer, unit_forget_bias);
  }
};

/// Spec: a gated recurrent unit over sequences (L, F), Keras' reset_after form (its default since
/// TF 2, and PyTorch's nn.GRU): z = sigmoid(x W_z + b_z + h U_z + c_z), r = sigmoid(x W_r + b_r +
/// h U_r + c_r), hh = tanh(x W_h + b_h + r (h U_h + c_h)), h' = z h + (1 - z) hh. Parameters as
/// Keras: kernel W (F, 3H), recurrent_kernel U (H, 3H), bias (2, 3H) (row 0 b, row 1 c), gate
/// blocks in the order z, r, h. PyTorch orders them r, z, n. Masks and options as LSTM.
struct GRU {
  /// H, the size of the state and of the output (required: positive).
  std::int64_t units = 0;
  /// Output every element's h, (L, H) (0 on padded elements), instead of the last state (H).
  bool return_sequences = false;
  /// Run from the last element to the first (outputs stay at their elements' positions).
  bool reverse = false;
  /// Initialiser of W (Keras' default).
  Init kernel_initializer = Init::glorot_uniform;
  /// Initialiser of U (Keras' default).
  Init recurrent_initializer = Init::orthogonal;
  /// The layer's name; empty: "gru_1", "gru_2", ...
  std::string name = {};

  static constexpr const char* type_name = "gru";
  HEPNN_FUNCTIONAL_SPEC()
  /// Reads the mask; with return_sequences its output carries it on.
  MaskMode mask_mode_of_call() const { return return_sequences ? MaskMode::consume_propagate : MaskMode::consume; }
  std::map<std::string, ConfigValue> options() const {
    return detail::recurrent_options(units, return_sequences, reverse, kernel_initializer, recurrent_initializer);
  }
  static GRU from_config(const LayerConfig& c) {
    return GRU{c.get<std::int64_t>("units"),
               c.get<bool>("return_sequences"),
               c.get<bool>("reverse"),
               init_from_string(c.get<std::string>("kernel_initializer")),
               init_from_string(c.get<std::string>("recurrent_initializer")),
               c.name};
  }
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const std::vector<Shape>& in, const std::string& auto_name) const {
    return std::make_unique<GRULayer<T, Device>>(name.empty() ? auto_name : name, in, units, return_sequences, reverse,
                                                 kernel_initializer, recurrent_initializer);
  }
};

/// Spec-like: `Bidirectional<LSTM>{.layer = {.units = 32}}(x)` runs a copy of `layer` forward and
/// one in reverse over x and concatenates their outputs (Keras' merge_mode "concat"): (2H) for
/// the last states, (L, 2H) with return_sequences (each element's two halves side by side, the
/// mask carried on). The two layers are named "<name>_forward" and "<name>_backward" and the
/// concatenation "<name>" (automatic names when name is empty).
template <class RNN>
struct Bidirectional {
  /// The recurrent layer's options (LSTM or GRU); its `reverse` and `name` are replaced.
  RNN layer = {};
  /// Names the concatenation, and "<name>_forward", "<name>_backward" the two layers.
  std::string name = {};
  /// The two layers over x and their concatenation.
  SymbolicTensor operator()(const SymbolicTensor& x) const {
    RNN fwd = layer, bwd = layer;
    fwd.identity = {};  // layers of their own, not the spec object's
    bwd.identity = {};
    fwd.reverse = false;
    bwd.reverse = true;
    fwd.name = name.empty() ? std::string() : name + "_forward";
    bwd.name = name.empty() ? std::string() : name + "_backward";
    return Concatenate{.axis = -1, .name = name}({fwd(x), bwd(x)});
  }
};

}  // namespace hepnn
