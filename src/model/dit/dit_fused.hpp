// The DiT's elementwise steps in fewer kernels and memory passes (DitSpeedOptions::fused_elementwise).
//
// At 480p every [tokens, dim] activation is 335 MB in bf16 (670 MB in float32) and a block touches
// dozens of them, so the plain transcription (x.float(), op, op, .to(dtype), each a full pass) spends
// ~1 s of a 4 s forward moving memory. These helpers keep the reference's precision rules (float32
// statistics and modulation, results rounded to the model dtype where the reference rounds) with
// PyTorch kernels that widen to float32 per element on the fly (CUDA TensorIterator casts inside the
// kernel; CPU ternary kernels cannot, so there the mixed-dtype cases take an explicit float32 copy).
// Where a fusion drops one of the reference's intermediate roundings it says so; float32 models compute
// the same values up to float32 rounding order.
#pragma once

#include <ATen/ATen.h>

#include "model/dit/dit_rope.hpp"
#include "model/dit/dit_row_kernels.hpp"
#include "model/layers/modules.hpp"

namespace talkgen::model::dit {

/// WanLayerNorm in one kernel: at::layer_norm on the model dtype computes the statistics and the affine
/// in float32 and rounds once to x's dtype — the values of layers::float32_layer_norm without the float32 copies.
/// `weight`/`bias` (optional) must have x's dtype (the model's parameters do).
at::Tensor layer_norm_fused(const at::Tensor& x, double eps, const at::Tensor& weight = {},
                            const at::Tensor& bias = {});

/// (normed * scale1p + shift) in float32, rounded once to normed's dtype: the reference's
/// `(norm(x).float() * (1 + scale) + shift).type_as(x)` as one addcmul. scale1p = 1 + scale and shift
/// are float32 [B, 1, dim]; normed [B, L, dim].
at::Tensor modulate(const at::Tensor& normed, const at::Tensor& scale1p, const at::Tensor& shift);

/// x += y * gate in place, computed in float32 (gate float32 [B, 1, dim]) and rounded once to x's dtype:
/// the reference's `x = (x + y * e) under autocast(float32)` then `.to(dtype)`, as one addcmul_.
void gated_residual_(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate);

/// WanRMSNorm: x * rsqrt(mean(x^2) + eps) with float32 statistics (one reduction pass over x in its own
/// dtype), rounded to x's dtype, times `weight` in x's dtype. The result is returned in `out_dtype`
/// (x's dtype, or float32 to feed RoPE without another widening pass).
at::Tensor rms_norm_fused(const at::Tensor& x, const at::Tensor& weight, double eps, at::ScalarType out_dtype);

/// RoPE as one complex multiply: x float32 [B, L, H, d] (contiguous; rotated in place, so pass a tensor
/// nobody else reads) by grid.rotation (cos + i sin; built from cos/sin if absent), returned in
/// `out_dtype`. The same products as apply_rope.
at::Tensor apply_rope_fused(at::Tensor x, const RopeGrid& grid, at::ScalarType out_dtype);

/// x += y * gate in place (undefined gate: x += y; undefined y: no update), then the norm that follows it
/// (undefined for RowNorm::Kind::none). With `row_kernels` and a tensor they take (dit_row_kernels.hpp),
/// one CUDA kernel; else gated_residual_ / add_ and layer_norm_fused (+ modulate).
at::Tensor residual_then_norm(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate, const RowNorm& norm,
                              bool row_kernels);

/// The attention's q/k norm: WanRMSNorm of x [B, L, heads * d] and, if `rope` is given, RoPE in float32;
/// returns [B, L, heads, d] in x's dtype. With `row_kernels` and a tensor they take, one CUDA kernel; else
/// rms_norm_fused (+ apply_rope_fused).
at::Tensor qk_norm_rope(const at::Tensor& x, const at::Tensor& weight, double eps, const RopeGrid* rope,
                        int64_t heads, bool row_kernels);

/// tanh-GELU(fc(x)) as one GEMM with a GELU epilogue (at::_addmm_activation; cuBLASLt on CUDA rounds
/// once after the GELU where the plain path rounds the linear output first). CPU tensors take the plain
/// path: the CPU op applies the erf GELU. x [..., in] -> [..., out].
at::Tensor linear_gelu(const layers::LinearImpl& fc, const at::Tensor& x);

}  // namespace talkgen::model::dit
