/// @file ops/conv_geometry.hpp
/// @brief Conv2DGeometry: the sizes of one 2-D convolution or pooling window sweep (NCHW), shared
/// by the CPU and CUDA backends and by the layers that describe them.
#pragma once
#include <cstdint>

namespace hepnn {

/// Per sample, x is (C, H, W) and y is (F, OH, OW); a convolution kernel is (F, C, KH, KW)
/// (PyTorch's layout). Output pixel (oh, ow) reads the input rows oh * SH - PT + i * DH,
/// i in [0, KH), and the columns likewise; positions outside the image are padding.
/// For pooling F == C and the window is KH x KW.
struct Conv2DGeometry {
  std::int64_t C = 1, H = 1, W = 1;  // input channels and image size
  std::int64_t F = 1;                // output channels (filters)
  std::int64_t KH = 1, KW = 1;       // kernel (window) size
  std::int64_t SH = 1, SW = 1;       // strides
  std::int64_t DH = 1, DW = 1;       // dilations
  std::int64_t PT = 0, PB = 0, PL = 0, PR = 0;  // padding: top, bottom, left, right
  std::int64_t OH = 1, OW = 1;       // output size

  std::int64_t in_size() const { return C * H * W; }
  std::int64_t out_size() const { return F * OH * OW; }
  /// Rows of the im2col matrix: one per (channel, kernel row, kernel column).
  std::int64_t patch() const { return C * KH * KW; }
  std::int64_t pixels() const { return OH * OW; }
  /// Output extent along one axis: floor((n + pads - dilated kernel) / stride) + 1.
  static std::int64_t output_extent(std::int64_t n, std::int64_t k, std::int64_t s, std::int64_t d, std::int64_t pads) {
    const std::int64_t span = n + pads - (k - 1) * d - 1;
    return span < 0 ? 0 : span / s + 1;
  }
};

}  // namespace hepnn
