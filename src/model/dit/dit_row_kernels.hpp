// The DiT's elementwise steps as single CUDA kernels (dit_row_kernels.cu), for bf16 models on CUDA.
//
// dit_fused.hpp's libtorch forms already keep the reference's rounding points with as few kernels as
// libtorch offers; these go further and do a whole step in one pass over the activations:
//   - the self-attention's q/k RMS-norm + weight + 3-D RoPE (five passes -> one),
//   - the residual update (x += y * gate, or x += y) together with the LayerNorm that follows it
//     (affine, or with the float32 modulation), so the updated row is normalised while it is in registers.
// Same values as dit_fused.hpp's forms up to float32 summation order (a rare one-ulp bf16 difference).
// Callers ask row_kernels_take() first and keep the libtorch forms for everything else (CPU, float32
// models, rows wider than the kernels hold).
#pragma once

#include <ATen/ATen.h>

#include "model/dit/dit_rope.hpp"

namespace talkgen::model::dit {

/// Whether this build has the kernels and they take x: CUDA, bf16, contiguous [.., cols] with cols a
/// multiple of 8 and at most 8192.
bool row_kernels_take(const at::Tensor& x);

/// WanRMSNorm of x [B, L, C] with `weight` [C], then, if `rope` is given, RoPE per head of `head_dim`
/// (head_dim a multiple of 8, rope's tables [L, 1, head_dim / 2]). Returns bf16 [B, L, C].
at::Tensor rms_norm_rope_rows(const at::Tensor& x, const at::Tensor& weight, double eps, const RopeGrid* rope,
                              int64_t head_dim);

/// The norm that follows a residual update.
struct RowNorm {
  enum class Kind { none, affine, modulate } kind = Kind::none;
  at::Tensor weight, bias;     ///< affine: bf16 [C]
  at::Tensor scale1p, shift;   ///< modulate: float32 [B, 1, C]
  double eps = 1e-6;

  static RowNorm affine(at::Tensor weight, at::Tensor bias, double eps) {
    return {Kind::affine, std::move(weight), std::move(bias), {}, {}, eps};
  }
  static RowNorm modulated(at::Tensor scale1p, at::Tensor shift, double eps) {
    return {Kind::modulate, {}, {}, std::move(scale1p), std::move(shift), eps};
  }
};

/// x [B, L, C] (contiguous, updated in place): x = bf16(x + y * gate) (gate float32 [B, 1, C]; undefined
/// gate: x + y; undefined y: no update), then returns `norm` of the updated x (undefined for Kind::none).
at::Tensor residual_norm_rows(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate, const RowNorm& norm);

}  // namespace talkgen::model::dit
