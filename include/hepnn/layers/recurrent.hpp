/// @file layers/recurrent.hpp
/// @brief LSTM over sequences (L, F), with masks, Keras' equations and weight layout.
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
#include "hepnn/ops/elementwise.hpp"
#include "hepnn/ops/gemm.hpp"
#include "hepnn/ops/recurrent.hpp"
#include "hepnn/ops/sequence.hpp"

namespace hepnn::inline HEPNN_ABI {

/// The layer an LSTM spec builds: inputs sequences (L, F) and optionally their mask (L,);
/// output (L, H) with return_sequences, else (H).
template <class T, class Device>
class LSTMLayer final : public Layer<T, Device> {
 public:
  LSTMLayer(std::string name, const std::vector<Shape>& in, std::int64_t units, bool return_sequences, bool reverse,
            Init kernel_init, Init recurrent_init, bool unit_forget_bias)
      : Layer<T, Device>(std::move(name), in.empty() ? Shape{} : in[0]),
        m_inputs(in),
        m_H(units),
        m_return_sequences(return_sequences),
        m_reverse(reverse),
        m_kernel_init(kernel_init),
        m_recurrent_init(recurrent_init),
        m_unit_forget_bias(unit_forget_bias) {
    HEPNN_CHECK(in.size() == 1 || in.size() == 2, "LSTM '", this->m_name,
                "': takes sequences and optionally their mask, got ", in.size(), " inputs");
    HEPNN_CHECK(in[0].rank() == 2 && in[0].size() > 0, "LSTM '", this->m_name,
                "': expects sequences of per-sample shape (elements, features), got ", in[0].str());
    if (in.size() == 2)
      HEPNN_CHECK(in[1] == Shape{in[0][0]}, "LSTM '", this->m_name, "': the mask has per-sample shape ", in[1].str(),
                  ", the sequences ", in[0].str(), "; it must be (", in[0][0], ",)");
    HEPNN_CHECK(units > 0, "LSTM '", this->m_name, "': units must be positive, got ", units);
    m_L = in[0][0];
    m_F = in[0][1];
    this->m_output_shape = return_sequences ? Shape{m_L, m_H} : Shape{m_H};
  }
  std::string type() const override { return "LSTM"; }
  std::string describe() const override {
    std::string s = m_return_sequences ? "return_sequences" : "";
    if (m_reverse) s += s.empty() ? "reverse" : ", reverse";
    if (m_inputs.size() == 2) s += s.empty() ? "masked" : ", masked";
    return s;
  }
  std::int64_t num_inputs() const override { return std::int64_t(m_inputs.size()); }
  const Shape& input_shape_at(std::int64_t k) const override { return m_inputs.at(std::size_t(k)); }
  std::vector<ParamInfo> params() const override {
    return {{"kernel", Shape{m_F, 4 * m_H}}, {"recurrent_kernel", Shape{m_H, 4 * m_H}}, {"bias", Shape{4 * m_H}}};
  }
  void initialize(T* p, std::uint64_t seed, std::uint64_t stream) const override {
    hepnn::initialize(m_kernel_init, p, m_F * 4 * m_H, m_F, 4 * m_H, seed, stream);
    hepnn::initialize(m_recurrent_init, p + m_F * 4 * m_H, m_H * 4 * m_H, m_H, 4 * m_H, seed, stream + (1ull << 32));
    T* b = p + (m_F + m_H) * 4 * m_H;
    for (std::int64_t j = 0; j < 4 * m_H; ++j) b[j] = (m_unit_forget_bias && j >= m_H && j < 2 * m_H) ? T(1) : T(0);
  }
  // per sample: x W + b (L, 4H), the gates of every step (L, 4H), c and h of every step (L, H
  // each), and three (H) vectors for the backward pass
  std::int64_t workspace_per_sample() const override { return m_L * 10 * m_H + 3 * m_H; }
  std::int64_t inference_workspace_per_sample() const override { return workspace_per_sample(); }

  void forward(std::int64_t B, const T* x, T* y, T* ws, const Pass& pass) const override {
    HEPNN_CHECK(m_inputs.size() == 1, "LSTM '", this->m_name, "': takes a mask; call it through a Model");
    run_forward(B, x, nullptr, y, ws, pass);
  }
  void forward_many(std::int64_t B, const T* const* xs, T* y, T* ws, const Pass& pass) const override {
    run_forward(B, xs[0], m_inputs.size() == 2 ? xs[1] : nullptr, y, ws, pass);
  }
  void backward(std::int64_t B, const T* x, const T* y, const T* dy, T* dx, T* ws, const Pass& pass) override {
    T* dxs[1] = {dx};
    const T* xs[1] = {x};
    backward_many(B, xs, y, dy, dxs, ws, pass);
  }
  void backward_many(std::int64_t B, const T* const* xs, const T*, const T* dy, T* const* dxs, T* ws,
                     const Pass&) override {
    HEPNN_CHECK(ws != nullptr, "LSTM '", this->m_name, "': backward needs the training workspace");
    const std::int64_t L = m_L, F = m_F, H = m_H, G4 = 4 * H;
    const T* x = xs[0];
    const T* mask = m_inputs.size() == 2 ? xs[1] : nullptr;
    const Buffers w = buffers(B, ws);
    T* dW = this->m_grads;
    T* dU = dW + F * G4;
    T* db = dU + H * G4;
    const T* W = this->m_params;
    const T* U = W + F * G4;
    T* dh = w.scratch;
    T* dh_next = w.scratch + B * H;
    T* dc = w.scratch + 2 * B * H;
    ops::zero_fill<Device>(B * H, dc);
    ops::zero_fill<Device>(H * G4, dU);
    if (m_return_sequences) ops::zero_fill<Device>(B * H, dh);
    else ops::axpby<Device>(B * H, T(1), dy, T(0), dh);
    for (std::int64_t s = L; s-- > 0;) {
      const std::int64_t t = m_reverse ? L - 1 - s : s;
      T* g = w.gates + s * B * G4;
      ops::lstm_cell_backward<Device>(B, H, g, w.c + s * B * H, s > 0 ? w.c + (s - 1) * B * H : nullptr,
                                      mask ? mask + t : nullptr, L, dh, m_return_sequences ? dy + t * H : nullptr,
                                      L * H, dc, dh_next);
      if (s > 0) {
        ops::gemm<Device>(true, false, H, G4, B, T(1), w.h + (s - 1) * B * H, g, T(1), dU);
        ops::gemm<Device>(false, true, B, H, G4, T(1), g, U, T(1), dh_next);
      }
      std::swap(dh, dh_next);
    }
    // the pre-activation gradients back in (B, L, 4H) order, for the input products
    for (std::int64_t s = 0; s < L; ++s) {
      const std::int64_t t = m_reverse ? L - 1 - s : s;
      ops::copy_2d<Device>(B, G4, w.gates + s * B * G4, G4, w.xw + t * G4, L * G4);
    }
    ops::gemm<Device>(true, false, F, G4, B * L, T(1), x, w.xw, T(0), dW);
    ops::bias_add_backward<Device>(B * L, G4, w.xw, db);
    if (dxs[0]) ops::gemm<Device>(false, true, B * L, F, G4, T(1), w.xw, W, T(0), dxs[0]);
    if (m_inputs.size() == 2 && dxs[1]) ops::zero_fill<Device>(B * L, dxs[1]);
  }

  std::int64_t units() const { return m_H; }

 private:
  struct Buffers {
    T *xw, *gates, *c, *h, *scratch;
  };
  Buffers buffers(std::int64_t B, T* ws) const {
    const std::int64_t G4 = 4 * m_H;
    Buffers b{};
    b.xw = ws;
    b.gates = b.xw + B * m_L * G4;  // time-major: step s at gates + s * B * 4H
    b.c = b.gates + B * m_L * G4;
    b.h = b.c + B * m_L * m_H;
    b.scratch = b.h + B * m_L * m_H;
    return b;
  }

  void run_forward(std::int64_t B, const T* x, const T* mask, T* y, T* ws, const Pass&) const {
    HEPNN_CHECK(ws != nullptr, "LSTM '", this->m_name, "': forward needs its workspace");
    const std::int64_t L = m_L, F = m_F, H = m_H, G4 = 4 * H;
    const Buffers w = buffers(B, ws);
    const T* W = this->m_params;
    const T* U = W + F * G4;
    const T* bias = U + H * G4;
    ops::gemm<Device>(false, false, B * L, G4, F, T(1), x, W, T(0), w.xw);
    ops::bias_add_forward<Device>(B * L, G4, bias, w.xw);
    for (std::int64_t s = 0; s < L; ++s) {
      const std::int64_t t = m_reverse ? L - 1 - s : s;
      T* g = w.gates + s * B * G4;
      ops::copy_2d<Device>(B, G4, w.xw + t * G4, L * G4, g, G4);
      const T* h_prev = s > 0 ? w.h + (s - 1) * B * H : nullptr;
      if (h_prev) ops::gemm<Device>(false, false, B, G4, H, T(1), h_prev, U, T(1), g);
      ops::lstm_cell_forward<Device>(B, H, g, s > 0 ? w.c + (s - 1) * B * H : nullptr, h_prev,
                                     mask ? mask + t : nullptr, L, w.c + s * B * H, w.h + s * B * H);
    }
    if (!m_return_sequences) {
      ops::axpby<Device>(B * H, T(1), w.h + (L - 1) * B * H, T(0), y);
      return;
    }
    for (std::int64_t s = 0; s < L; ++s) {
      const std::int64_t t = m_reverse ? L - 1 - s : s;
      ops::copy_2d<Device>(B, H, w.h + s * B * H, H, y + t * H, L * H);
    }
    if (mask) ops::apply_mask<Device>(B * L, H, y, mask, y);
  }

  std::vector<Shape> m_inputs;
  std::int64_t m_L = 0, m_F = 0, m_H;
  bool m_return_sequences, m_reverse;
  Init m_kernel_init, m_recurrent_init;
  bool m_unit_forget_bias;
};

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
    return {{"units", units},
            {"return_sequences", return_sequences},
            {"reverse", reverse},
            {"kernel_initializer", to_string(kernel_initializer)},
            {"recurrent_initializer", to_string(recurrent_initializer)},
            {"unit_forget_bias", unit_forget_bias}};
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

}  // namespace hepnn
