// Computing with a quantized Linear: the dequantise-then-matmul path (what quanto itself runs, the CPU
// build's path and the int8 weight-only GPU path) and LoRA as a low-rank side path.
//
// LoRA on quantized weights. The reference skips LoRA entirely when --quant is given
// (wan/multitalk.py: `if lora_dir is not None and quant is None`), silently: a user who passes the
// distillation LoRA with the fp8 file gets a different model than asked for. Merging is impossible (the
// merged weight would have to be re-quantized, changing the published file's numbers), so talkgen applies
// each LoRA beside the quantized product, as LightX2V does for its quantized Linears
// (mm_weight.py MMWeightTemplate.apply_lora, added to the quantized GEMM's output):
//     y = x W_q^T + b + sum_k scale_k * (x down_k^T) up_k^T
// which equals the merged layer x (W_q + sum_k scale_k up_k down_k)^T + b up to rounding. `scale` is the
// user's --lora_scale, with the file's alpha ignored as talkgen's merge ignores it (dit_lora.hpp). The
// cost is two thin GEMMs per Linear (rank r: 2 r (in + out) flops per token, ~1.6 % of the layer at r = 32,
// in = out = 5120).
#pragma once

#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "model/io/quant_weight.hpp"

namespace talkgen::model::io {

/// One LoRA on one Linear: down [r, in], up [out, r] (the file's lora_down / lora_A, lora_up / lora_B).
struct LoraBranch {
  at::Tensor down;
  at::Tensor up;
  double scale = 1.0;
};

/// Checks a branch against a Linear of [out, in]; Error(checkpoint_mismatch) naming `what` (the LoRA key)
/// when the ranks or features disagree.
void check_lora_branch(const LoraBranch& lora, int64_t out_features, int64_t in_features, const std::string& what);

/// scale * (x down^T) up^T, computed in x's dtype (down and up are cast to it) on x's device; x is [..., in].
at::Tensor lora_side_path(const at::Tensor& x, const LoraBranch& lora);

/// x W^T + b (+ the LoRA side paths) with W dequantised on x's device and x and W in `compute_dtype`; the
/// result is in `compute_dtype` (promoted with the bias's dtype, as torch adds them). With compute_dtype = w.reference_dtype() this is quanto's own forward
/// (quanto/library/qbytes_mm.py qbytes_mm: activations cast to the scale dtype, weight = scale * data,
/// matmul, then + bias in WeightQBytesLinearFunction.forward).
at::Tensor quantized_linear(const at::Tensor& x, const QuantizedWeight& w, const at::Tensor& bias,
                            at::ScalarType compute_dtype, const std::vector<LoraBranch>& loras = {});

}  // namespace talkgen::model::io
