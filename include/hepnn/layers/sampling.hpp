/// @file layers/sampling.hpp
/// @brief GaussianSample: the reparameterised sampling step of a variational autoencoder,
/// z = mean + exp(log_var / 2) * eps with eps ~ N(0, 1), as a layer of two inputs
/// (`GaussianSample{}({mean, log_var})`). The noise comes from Philox, keyed by the model's
/// seed, the layer's position and the optimizer step: the same eps on the CPU and the GPU, and
/// again after resuming from a checkpoint. Outside training the layer returns the mean.
///
/// The KL term that goes with it, KL(N(mean, exp(log_var)) || N(0, 1)) per sample, is
/// vae::gaussian_kl (losses/kl.hpp); docs/functional.md shows a VAE training step.
#pragma once
#include "hepnn/core/config.hpp"
#include <memory>
#include <string>
#include <vector>

#include "hepnn/core/philox.hpp"
#include "hepnn/core/storage.hpp"
#include "hepnn/layers/merge.hpp"
#include "hepnn/ops/elementwise.hpp"

namespace hepnn::inline HEPNN_ABI {

/// The layer a GaussianSample spec builds.
template <class T, class Device>
class GaussianSampleLayer final : public MergeLayer<T, Device> {
 public:
  /// A layer named `name` for the inputs {mean, log_var} of shapes `in` (equal).
  GaussianSampleLayer(std::string name, const std::vector<Shape>& in)
      : MergeLayer<T, Device>(std::move(name), in, "GaussianSample", 2, 2) {
    this->require_equal_shapes();
    this->m_output_shape = in[0];
  }
  std::string type() const override { return "GaussianSample"; }

  /// The Philox stream of the noise at a given optimizer step.
  static std::uint64_t stream(const Pass& pass) {
    return rng_stream::sampling + (static_cast<std::uint64_t>(pass.layer_index) << 32) + pass.step;
  }

  void forward_many(std::int64_t B, const T* const* xs, T* y, T*, const Pass& pass) const override {
    const std::int64_t n = B * this->m_output_shape.size();
    const auto first = static_cast<std::uint64_t>(pass.first_sample) * std::uint64_t(this->m_output_shape.size());
    if (pass.training) ops::gaussian_sample<Device>(n, pass.seed, stream(pass), xs[0], xs[1], y, first);
    else detail::copy_bytes<Device, Device>(y, xs[0], std::size_t(n) * sizeof(T));
  }
  // dz/dmean = 1; dz/dlog_var = eps exp(log_var / 2) / 2 = (z - mean) / 2 (training), 0 (inference)
  void backward_many(std::int64_t B, const T* const* xs, const T* y, const T* dy, T* const* dxs, T*,
                     const Pass& pass) override {
    const std::int64_t n = B * this->m_output_shape.size();
    if (dxs[0]) detail::copy_bytes<Device, Device>(dxs[0], dy, std::size_t(n) * sizeof(T));
    if (!dxs[1]) return;
    if (!pass.training) return ops::axpby<Device>(n, T(0), dy, T(0), dxs[1]);  // writes zeros
    ops::multiply<Device>(n, xs[0], dy, T(0), dxs[1]);    // mean dy
    ops::multiply<Device>(n, y, dy, T(-1), dxs[1]);       // z dy - mean dy
    ops::scale<Device>(n, T(0.5), dxs[1]);
  }
};

/// Spec: z = mean + exp(log_var / 2) eps, eps ~ N(0, 1) (Philox), from the inputs {mean,
/// log_var} of equal shapes; the mean outside training. `GaussianSample{}({mean, log_var})`.
struct GaussianSample {
  /// The layer's name; empty: "gaussian_sample_1", ...
  std::string name = {};
  /// The stem of automatic names.
  static constexpr const char* type_name = "gaussian_sample";
  HEPNN_FUNCTIONAL_MERGE_SPEC()
  /// The spec a model file's LayerConfig describes.
  static GaussianSample from_config(const LayerConfig& c) { return GaussianSample{c.name}; }
  /// The layer for inputs of shapes `in`, named `name` or else `auto_name`.
  template <class T, class Device>
  std::unique_ptr<Layer<T, Device>> build(const std::vector<Shape>& in, const std::string& auto_name) const {
    return std::make_unique<GaussianSampleLayer<T, Device>>(name.empty() ? auto_name : name, in);
  }
};

}  // namespace hepnn
