/// @file backend/cpu/conv.hpp
/// @brief 2-D convolution on the CPU: im2col / col2im and matrix products over chunks of samples.
///
/// The batch is cut into chunks of S samples (S from the shape only, so that a chunk's product
/// has about `conv_target_columns` columns) and the chunks are dealt round-robin to G groups
/// (G from the shape and the batch only). Each group owns a slice of the scratch buffer and, in
/// backward, its own partial kernel gradient; the partials are added in group order. A group
/// runs on one thread, so results are bitwise the same for any thread count.
#pragma once
#include "hepnn/core/config.hpp"
#include <algorithm>
#include <cstdint>

#include "hepnn/backend/cpu/gemm.hpp"
#include "hepnn/backend/cpu/parallel.hpp"
#include "hepnn/ops/conv_geometry.hpp"

namespace hepnn::backend::cpu::inline HEPNN_ABI {

inline constexpr std::int64_t conv_target_columns = 256;  // columns of one chunk's product
inline constexpr std::int64_t conv_max_groups = 16;
inline constexpr std::int64_t conv_scratch_budget = std::int64_t(1) << 23;  // elements, all groups

// x is (S, C, H, W), col is (C*KH*KW, S*OH*OW): col[(c, i, j), (s, oh, ow)] = x[s, c, ih, iw] or 0
template <class T>
void im2col(const Conv2DGeometry& g, std::int64_t S, const T* x, T* col) {
  const std::int64_t P = g.pixels(), ld = S * P;
  for (std::int64_t c = 0; c < g.C; ++c)
    for (std::int64_t i = 0; i < g.KH; ++i)
      for (std::int64_t j = 0; j < g.KW; ++j) {
        T* row = col + ((c * g.KH + i) * g.KW + j) * ld;
        for (std::int64_t s = 0; s < S; ++s) {
          const T* plane = x + (s * g.C + c) * g.H * g.W;
          T* out = row + s * P;
          for (std::int64_t oh = 0; oh < g.OH; ++oh) {
            const std::int64_t ih = oh * g.SH - g.PT + i * g.DH;
            T* o = out + oh * g.OW;
            if (ih < 0 || ih >= g.H) {
              std::fill(o, o + g.OW, T(0));
              continue;
            }
            const T* src = plane + ih * g.W;
            const std::int64_t off = j * g.DW - g.PL;
            if (g.SW == 1) {  // contiguous run: [ow0, ow1) reads src[ow + off]
              const std::int64_t ow0 = std::clamp<std::int64_t>(-off, 0, g.OW);
              const std::int64_t ow1 = std::clamp<std::int64_t>(g.W - off, ow0, g.OW);
              std::fill(o, o + ow0, T(0));
              std::copy(src + ow0 + off, src + ow1 + off, o + ow0);
              std::fill(o + ow1, o + g.OW, T(0));
            } else {
              for (std::int64_t ow = 0; ow < g.OW; ++ow) {
                const std::int64_t iw = ow * g.SW + off;
                o[ow] = iw >= 0 && iw < g.W ? src[iw] : T(0);
              }
            }
          }
        }
      }
}

// col is (C*KH*KW, S*OH*OW), dx is (S, C, H, W): dx = sum of the columns scattered back (overwrites dx)
template <class T>
void col2im(const Conv2DGeometry& g, std::int64_t S, const T* col, T* dx) {
  std::fill(dx, dx + S * g.in_size(), T(0));
  const std::int64_t P = g.pixels(), ld = S * P;
  for (std::int64_t c = 0; c < g.C; ++c)
    for (std::int64_t i = 0; i < g.KH; ++i)
      for (std::int64_t j = 0; j < g.KW; ++j) {
        const T* row = col + ((c * g.KH + i) * g.KW + j) * ld;
        for (std::int64_t s = 0; s < S; ++s) {
          T* plane = dx + (s * g.C + c) * g.H * g.W;
          const T* in = row + s * P;
          for (std::int64_t oh = 0; oh < g.OH; ++oh) {
            const std::int64_t ih = oh * g.SH - g.PT + i * g.DH;
            if (ih < 0 || ih >= g.H) continue;
            T* dst = plane + ih * g.W;
            const T* v = in + oh * g.OW;
            const std::int64_t off = j * g.DW - g.PL;
            for (std::int64_t ow = 0; ow < g.OW; ++ow) {
              const std::int64_t iw = ow * g.SW + off;
              if (iw >= 0 && iw < g.W) dst[iw] += v[ow];
            }
          }
        }
      }
}

/// How the batch is cut: S samples per chunk, `chunks` chunks, `groups` groups.
struct ConvPlan {
  std::int64_t S = 1, chunks = 0, groups = 0;
  std::int64_t col = 0, tmp = 0, dw = 0;  // scratch elements per group
  std::int64_t per_group() const { return col + tmp + dw; }
};

inline ConvPlan conv2d_plan(const Conv2DGeometry& g, std::int64_t batch) {
  ConvPlan p;
  const std::int64_t P = std::max<std::int64_t>(g.pixels(), 1);
  p.S = std::max<std::int64_t>(1, std::min<std::int64_t>(batch, (conv_target_columns + P - 1) / P));
  p.chunks = (batch + p.S - 1) / p.S;
  p.col = g.patch() * p.S * P;
  p.tmp = g.F * p.S * P;
  p.dw = g.F * g.patch() + g.F;
  p.groups = std::max<std::int64_t>(
      1, std::min({p.chunks, conv_max_groups, conv_scratch_budget / std::max<std::int64_t>(p.per_group(), 1)}));
  return p;
}

/// Scratch elements conv2d_forward / conv2d_backward need for a batch of `batch` samples (at
/// most; a smaller batch needs no more).
inline std::int64_t conv2d_scratch_size(const Conv2DGeometry& g, std::int64_t batch) {
  const ConvPlan p = conv2d_plan(g, batch);
  return p.groups * p.per_group();
}

// x is (B, C, H, W), w is (F, C, KH, KW), b is (F) or null, y is (B, F, OH, OW)
// requires: scratch holds conv2d_scratch_size(g, B) elements; y aliases nothing.
template <class T>
void conv2d_forward(const Conv2DGeometry& g, std::int64_t B, const T* x, const T* w, const T* b, T* y, T* scratch) {
  if (B <= 0) return;
  const ConvPlan p = conv2d_plan(g, B);
  const std::int64_t P = g.pixels(), K = g.patch(), in = g.in_size(), out = g.out_size();
  const double flops = 2.0 * double(g.F) * double(K) * double(P) * double(B);
  parallel_chunks(p.groups, flops, [&](std::int64_t grp) {
    T* col = scratch + grp * p.per_group();
    T* tmp = col + p.col;
    for (std::int64_t ch = grp; ch < p.chunks; ch += p.groups) {
      const std::int64_t s0 = ch * p.S, S = std::min(p.S, B - s0);
      im2col(g, S, x + s0 * in, col);
      T* dst = S == 1 ? y + s0 * out : tmp;  // one sample: its (F, P) block is y itself
      gemm(false, false, g.F, S * P, K, T(1), w, col, T(0), dst);
      for (std::int64_t s = 0; s < S; ++s)
        for (std::int64_t f = 0; f < g.F; ++f) {
          const T* src = dst + f * S * P + s * P;
          T* o = y + (s0 + s) * out + f * P;
          const T bias = b ? b[f] : T(0);
          if (S == 1) {
            if (b)
              for (std::int64_t q = 0; q < P; ++q) o[q] += bias;
          } else {
            for (std::int64_t q = 0; q < P; ++q) o[q] = src[q] + bias;
          }
        }
    }
  });
}

// dy is (B, F, OH, OW); writes dw (F, C, KH, KW), db (F) when not null, dx (B, C, H, W) when not null.
// All outputs are overwritten. requires: scratch holds conv2d_scratch_size(g, B) elements.
template <class T>
void conv2d_backward(const Conv2DGeometry& g, std::int64_t B, const T* x, const T* w, const T* dy, T* dx, T* dw,
                     T* db, T* scratch) {
  const std::int64_t K = g.patch(), nw = g.F * K;
  if (B <= 0) {
    std::fill(dw, dw + nw, T(0));
    if (db) std::fill(db, db + g.F, T(0));
    return;
  }
  const ConvPlan p = conv2d_plan(g, B);
  const std::int64_t P = g.pixels(), in = g.in_size(), out = g.out_size();
  const double flops = (dx ? 4.0 : 2.0) * double(g.F) * double(K) * double(P) * double(B);
  parallel_chunks(p.groups, flops, [&](std::int64_t grp) {
    T* col = scratch + grp * p.per_group();
    T* tmp = col + p.col;
    T* pdw = tmp + p.tmp;  // this group's kernel gradient, then its bias gradient
    T* pdb = pdw + nw;
    std::fill(pdw, pdw + nw + g.F, T(0));
    for (std::int64_t ch = grp; ch < p.chunks; ch += p.groups) {
      const std::int64_t s0 = ch * p.S, S = std::min(p.S, B - s0);
      const T* d = dy + s0 * out;  // (F, S*P): one sample's block, or the chunk gathered into tmp
      if (S > 1) {
        for (std::int64_t f = 0; f < g.F; ++f)
          for (std::int64_t s = 0; s < S; ++s)
            std::copy_n(dy + (s0 + s) * out + f * P, P, tmp + f * S * P + s * P);
        d = tmp;
      }
      im2col(g, S, x + s0 * in, col);
      gemm(false, true, g.F, K, S * P, T(1), d, col, T(1), pdw);  // dw += dy col^T
      if (db)
        for (std::int64_t f = 0; f < g.F; ++f) {
          T acc = T(0);
          for (std::int64_t q = 0; q < S * P; ++q) acc += d[f * S * P + q];
          pdb[f] += acc;
        }
      if (dx) {
        gemm(true, false, K, S * P, g.F, T(1), w, d, T(0), col);  // dcol = w^T dy
        col2im(g, S, col, dx + s0 * in);
      }
    }
  });
  // Partials added in group order: the same sum for any thread count.
  const T* first = scratch + p.col + p.tmp;
  std::copy_n(first, nw, dw);
  if (db) std::copy_n(first + nw, g.F, db);
  for (std::int64_t grp = 1; grp < p.groups; ++grp) {
    const T* part = scratch + grp * p.per_group() + p.col + p.tmp;
    for (std::int64_t i = 0; i < nw; ++i) dw[i] += part[i];
    if (db)
      for (std::int64_t f = 0; f < g.F; ++f) db[f] += part[nw + f];
  }
}

}  // namespace hepnn::backend::cpu
