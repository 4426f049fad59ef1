/// @file layers/batchnorm.hpp
/// @brief BatchNormalization over the first per-sample axis: the features of (F,) samples after
/// Dense, the channels of (C, H, W) samples after Conv2D. Keras semantics.
///
/// Training: y = gamma * (x - mean) / sqrt(var + eps) + beta with the batch's mean and biased
/// variance; after each step the moving statistics (the model's non-trainable state) become
/// moving = momentum * moving + (1 - momentum) * batch, with the biased batch variance as Keras
/// does (PyTorch uses the unbiased one). Inference (Pass.training == false) uses the moving ones.
///
/// `synchronized` (Keras' option): in a data-parallel fit (Pass.comm) the batch statistics, and
/// the sums of the backward pass, are pooled over the ranks, so that N ranks with batch b
/// normalise as one process with batch N b does (docs/distributed.md). Alone, it changes nothing.
#pragma once
#include "hepnn/core/config.hpp"
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "hepnn/core/tensor.hpp"
#include "hepnn/graph/symbolic.hpp"
#include "hepnn/layers/layer.hpp"
#include "hepnn/ops/batchnorm.hpp"
#include "hepnn/ops/elementwise.hpp"

namespace hepnn::inline HEPNN_ABI {

template <class T, class Device>
class BatchNormalizationLayer final : public Layer<T, Device> {
 public:
  /// The layer of the spec BatchNormalization (its fields, in order) for samples of shape `in`.
  BatchNormalizationLayer(std::string name, const Shape& in, double momentum, double epsilon, bool center, bool scale,
                          bool synchronized = false)
      : Layer<T, Device>(std::move(name), in),
        m_momentum(momentum),
        m_epsilon(epsilon),
        m_center(center),
        m_scale(scale),
        m_sync(synchronized) {
    HEPNN_CHECK(in.rank() >= 1 && in.size() > 0, "BatchNormalization '", this->m_name,
                "': needs a non-empty per-sample input, got ", in.str());
    HEPNN_CHECK(momentum >= 0 && momentum <= 1, "BatchNormalization '", this->m_name,
                "': momentum must be in [0, 1], got ", momentum);
    HEPNN_CHECK(epsilon > 0, "BatchNormalization '", this->m_name, "': epsilon must be positive, got ", epsilon);
    m_channels = in[0];
    m_inner = in.size() / m_channels;
    this->m_output_shape = in;
  }

  std::string type() const override { return "BatchNormalization"; }
  std::string describe() const override {
    return detail::concat("momentum=", m_momentum, ", epsilon=", m_epsilon, m_sync ? ", synchronized" : "");
  }
  std::vector<ParamInfo> params() const override {
    std::vector<ParamInfo> p;
    if (m_scale) p.push_back({"gamma", Shape{m_channels}});
    if (m_center) p.push_back({"beta", Shape{m_channels}});
    return p;
  }
  void initialize(T* p, std::uint64_t, std::uint64_t) const override {
    const std::int64_t C = m_channels;
    for (std::int64_t c = 0; c < C; ++c) {
      if (m_scale) p[c] = T(1);
      if (m_center) p[(m_scale ? C : 0) + c] = T(0);
    }
  }
  std::vector<ParamInfo> state_params() const override {
    return {{"moving_mean", Shape{m_channels}}, {"moving_variance", Shape{m_channels}}};
  }
  void initialize_state(T* s) const override {
    for (std::int64_t c = 0; c < m_channels; ++c) {
      s[c] = T(0);
      s[m_channels + c] = T(1);
    }
  }
  /// xhat for every element, then (once per batch, fitting since B >= 1) the batch mean and variance.
  std::int64_t workspace_per_sample() const override { return this->m_input_shape.size() + 2 * m_channels; }

  // x and y are (B, C, inner...); ws keeps xhat (B, C, inner...), then mean (C) and var (C) of the batch
  void forward(std::int64_t B, const T* x, T* y, T* ws, const Pass& pass) const override {
    const std::int64_t n = B * this->m_input_shape.size();
    if (pass.training) {
      Tensor<T, Device> local;  // batch statistics without a workspace (a forward pass on its own)
      T* stats = ws ? ws + n : (local = Tensor<T, Device>(Shape{2 * m_channels})).data();
      ops::batchnorm_forward_training<Device>(B, m_channels, m_inner, x, gamma(), beta(), T(m_epsilon), y, ws, stats,
                                              stats + m_channels);
      if (pools(pass)) {  // the statistics of the whole batch over the ranks, then y and xhat with them
        pool_statistics(B, stats, *pass.comm);
        ops::batchnorm_forward_inference<Device>(B, m_channels, m_inner, x, gamma(), beta(), stats, stats + m_channels,
                                                 T(m_epsilon), y, ws);
      }
    } else {
      ops::batchnorm_forward_inference<Device>(B, m_channels, m_inner, x, gamma(), beta(), this->m_state,
                                               this->m_state + m_channels, T(m_epsilon), y, ws);
    }
  }

  void backward(std::int64_t B, const T*, const T*, const T* dy, T* dx, T* ws, const Pass& pass) override {
    const std::int64_t n = B * this->m_input_shape.size();
    const T* var = pass.training ? ws + n + m_channels : this->m_state + m_channels;
    T* dgamma = m_scale ? this->m_grads : nullptr;
    T* dbeta = m_center ? this->m_grads + (m_scale ? m_channels : 0) : nullptr;
    if (pass.training && pools(pass)) return pooled_backward(B, dy, dx, ws, var, dgamma, dbeta, *pass.comm);
    ops::batchnorm_backward<Device>(B, m_channels, m_inner, dy, ws, gamma(), var, T(m_epsilon), pass.training, dx,
                                    dgamma, dbeta);
  }

  /// A synchronized layer on a rank with no event in the step: its share of the collectives
  /// (nothing), and the moving statistics updated with the other ranks' batch statistics.
  void take_part_without_events(bool backward, const Pass& pass) override {
    if (!pass.training || !pools(pass)) return;
    const std::int64_t C = m_channels;
    if (backward) {
      std::vector<double> sums(std::size_t(2 * C + 1), 0.0);
      pass.comm->allreduce_sum(sums.data(), std::int64_t(sums.size()));
      return;
    }
    scratch(2 * C);
    pool_statistics(0, m_scratch.data(), *pass.comm);
    ops::batchnorm_update_moving<Device>(C, m_scratch.data(), m_scratch.data() + C, T(m_momentum), this->m_state,
                                         this->m_state + C);
  }

  void update_state(std::int64_t B, const T*, const T* ws, const Pass& pass) override {
    if (!pass.training) return;
    const T* stats = ws + B * this->m_input_shape.size();
    ops::batchnorm_update_moving<Device>(m_channels, stats, stats + m_channels, T(m_momentum), this->m_state,
                                         this->m_state + m_channels);
  }

  double momentum() const { return m_momentum; }
  double epsilon() const { return m_epsilon; }
  /// Pools its statistics over the ranks of a data-parallel fit (the spec's `synchronized`).
  bool synchronized() const { return m_sync; }

 private:
  bool pools(const Pass& pass) const { return m_sync && pass.comm != nullptr && pass.comm->size() > 1; }

  // stats (C means, then C biased variances, on Device) of this rank's B samples become those of
  // the whole batch over the ranks: pooled sums in double, then the pooled squared deviations
  // from the pooled mean (Chan et al.'s combination; no cancellation for large means).
  void pool_statistics(std::int64_t B, T* stats, Communicator& comm) const {
    const std::int64_t C = m_channels;
    std::vector<T> local(std::size_t(2 * C), T(0));
    if (B > 0) ::hepnn::detail::copy_bytes<cpu, Device>(local.data(), stats, sizeof(T) * local.size());
    const double n = double(B) * double(m_inner);
    std::vector<double> sums(std::size_t(C + 1));
    sums[0] = n;
    for (std::int64_t c = 0; c < C; ++c) sums[std::size_t(1 + c)] = n * double(local[std::size_t(c)]);
    comm.allreduce_sum(sums.data(), C + 1);
    const double N = sums[0];
    HEPNN_CHECK(N > 0, "BatchNormalization '", this->m_name, "': no rank has an event in this step");
    std::vector<double> dev(static_cast<std::size_t>(C));
    for (std::int64_t c = 0; c < C; ++c) {
      const double d = double(local[std::size_t(c)]) - sums[std::size_t(1 + c)] / N;
      dev[std::size_t(c)] = n > 0 ? n * (double(local[std::size_t(C + c)]) + d * d) : 0.0;
    }
    comm.allreduce_sum(dev.data(), C);
    for (std::int64_t c = 0; c < C; ++c) {
      local[std::size_t(c)] = T(sums[std::size_t(1 + c)] / N);
      local[std::size_t(C + c)] = T(dev[std::size_t(c)] / N);
    }
    ::hepnn::detail::copy_bytes<Device, cpu>(stats, local.data(), sizeof(T) * local.size());
  }

  // Backward with pooled statistics: dx = gamma / sqrt(var + eps) * (dy - S / N - xhat * Sh / N)
  // with S = sum dy and Sh = sum dy * xhat over the whole batch of N elements per channel. This
  // rank's part: dx = gamma / sqrt(var + eps) * dy and its local sums (the inference-mode
  // backward), then the correction -gamma / sqrt(var + eps) * (xhat * Sh / N + S / N) as an
  // affine map of xhat (the inference-mode forward with mean 0). dgamma and dbeta stay the local
  // sums: the fit sums the gradients over the ranks.
  void pooled_backward(std::int64_t B, const T* dy, T* dx, T* ws, const T* var, T* dgamma, T* dbeta, Communicator& comm) {
    const std::int64_t C = m_channels, n = B * this->m_input_shape.size();
    scratch(5 * C + (dx ? n : 0));  // sum dy * xhat (C), sum dy (C), a (C), b (C), zeros (C), correction (n)
    T* s = m_scratch.data();
    ops::batchnorm_backward<Device>(B, C, m_inner, dy, ws, gamma(), var, T(m_epsilon), false, dx, s, s + C);
    std::vector<T> host(std::size_t(2 * C));
    ::hepnn::detail::copy_bytes<cpu, Device>(host.data(), s, sizeof(T) * host.size());
    if (dgamma) ::hepnn::detail::copy_bytes<Device, Device>(dgamma, s, sizeof(T) * std::size_t(C));
    if (dbeta) ::hepnn::detail::copy_bytes<Device, Device>(dbeta, s + C, sizeof(T) * std::size_t(C));
    std::vector<double> sums(std::size_t(2 * C + 1));
    for (std::size_t i = 0; i < host.size(); ++i) sums[i] = double(host[i]);
    sums[std::size_t(2 * C)] = double(B) * double(m_inner);
    comm.allreduce_sum(sums.data(), 2 * C + 1);
    if (!dx) return;
    const double N = sums[std::size_t(2 * C)];
    const auto uC = static_cast<std::size_t>(C);
    std::vector<T> g(uC, T(1)), v(uC), ab(3 * uC, T(0));
    if (m_scale) ::hepnn::detail::copy_bytes<cpu, Device>(g.data(), gamma(), sizeof(T) * g.size());
    ::hepnn::detail::copy_bytes<cpu, Device>(v.data(), var, sizeof(T) * v.size());
    for (std::int64_t c = 0; c < C; ++c) {
      const std::size_t k = std::size_t(c);
      ab[k] = T(-double(g[k]) * sums[k] / N);
      ab[std::size_t(C) + k] = T(-double(g[k]) * sums[std::size_t(C) + k] / (N * std::sqrt(double(v[k]) + m_epsilon)));
    }
    ::hepnn::detail::copy_bytes<Device, cpu>(s + 2 * C, ab.data(), sizeof(T) * ab.size());
    T* corr = s + 5 * C;
    ops::batchnorm_forward_inference<Device>(B, C, m_inner, ws, s + 2 * C, s + 3 * C, s + 4 * C, var, T(m_epsilon), corr,
                                             static_cast<T*>(nullptr));
    ops::axpby<Device>(n, T(1), corr, T(1), dx);
  }

  void scratch(std::int64_t n) {
    if (m_scratch.size() < n) m_scratch = Tensor<T, Device>(Shape{n});
  }

  const T* gamma() const { return m_scale ? this->m_params : nullptr; }
  const T* beta() const { return m_center ? this->m_params + (m_scale ? m_channels : 0) : nullptr; }

  double m_momentum, m_epsilon;
  bool m_center, m_scale, m_sync;
  std::int64_t m_channels = 1, m_inner = 1;
  Tensor<T, Device> m_scratch;  // the pooled backward's sums and correction
};

/// Spec: normalises each feature (after Dense) or channel (after Conv2D) over the batch, then
/// scales by gamma (when `scale`) and shifts by beta (when `center`); Keras' defaults.
struct BatchNormalization {
  /// Moving statistics for inference: moving = momentum * moving + (1 - momentum) * batch.
  double momentum = 0.99;
  /// Added to the variance: (x - mean) / sqrt(var + epsilon).
  double epsilon = 1e-3;
  /// Learn a shift beta.
  bool center = true;
  /// Learn a scale gamma.
  bool scale = true;
  /// In a data-parallel fit, normalise with the statistics of the whole batch over the ranks
  /// (Keras' `synchronized`, PyTorch's SyncBatchNorm); alone, no effect.
  bool synchronized = false;
  /// The layer's name; empty: "batch_normalization_1", ... in the order of the model.
  std::string name = {};
  static constexpr const char* type_name = "batch_normalization";
  HEPNN_FUNCTIONAL_SPEC()
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const Shape& in, const std::string& auto_name) const {
    return std::make_unique<BatchNormalizationLayer<T, Device>>(name.empty() ? auto_name : name, in, momentum,
                                                                epsilon, center, scale, synchronized);
  }
  /// The options as stored in model files (config()), and back (from_config).
  std::map<std::string, ConfigValue> options() const {
    return {{"momentum", momentum}, {"epsilon", epsilon}, {"center", center}, {"scale", scale},
            {"synchronized", synchronized}};
  }
  static BatchNormalization from_config(const LayerConfig& c) {
    return BatchNormalization{c.get<double>("momentum"), c.get<double>("epsilon"), c.get<bool>("center"),
                              c.get<bool>("scale"), c.get<bool>("synchronized", false), c.name};
  }
};

}  // namespace hepnn
