// LoRA merge into the DiT weights at load time, as the reference merges them (wan/wan_lora.py,
// WanLoraWrapper._apply_lora_weights, called by wan/multitalk.py with the user's --lora_scale).
//
// Accepted keys, with an optional "diffusion_model." prefix before the module path:
//   <path>.lora_down.weight + <path>.lora_up.weight [+ <path>.alpha]   (kohya / lightx2v)
//   <path>.lora_A.weight    + <path>.lora_B.weight  [+ <path>.alpha]   (PEFT / ComfyUI-style files)
//   <path>.diff    (a full delta of <path>.weight),   <path>.diff_b (a delta of <path>.bias)
// Merge, as the reference: W += scale * up @ down, and diffs are added times scale. The file's `.alpha`
// tensors are IGNORED, as the reference ignores them (it never reads them): no alpha / rank factor.
// Tools that follow the kohya / diffusers convention scale by alpha / rank instead; when a file's alpha
// differs from its rank a warning says so, with the scale that reproduces that convention when the
// ratio is the same in every layer (kohya's network_alpha is one number per file). There is deliberately
// no switch for that rule: the pipeline merges only the distillation LoRA the reference is run with, and
// results are compared against the reference.
//
// Rounding follows the reference's GPU path (multitalk.py passes a CUDA device, so the merge runs in the
// parameter dtype): the file's tensors are rounded to the parameter dtype first, the product up @ down
// and the scaled delta are each rounded to it, then added. The products themselves are computed in
// float32 (what cuBLAS accumulates bf16 GEMMs in). For float32 parameters every rounding is a no-op.
//
// Where talkgen is stricter or wider than the reference (both documented in tests/data/parity/README.md):
//   - the reference silently skips keys it does not know (lora_A / lora_B, keys without the prefix, a
//     down without its up, anything else) and applies nothing when nothing matches; talkgen merges
//     lora_A / lora_B and unprefixed keys like their lightx2v equivalents and refuses every other key,
//     naming it, before any weight is changed;
//   - the reference crashes (AttributeError / a shape error) on a key whose module does not exist or
//     whose shapes do not fit; talkgen refuses those with Error(checkpoint_mismatch) as well;
//   - a convolution's delta (5-D down / up) is flattened to a matrix product and reshaped back; the
//     reference's torch.matmul would broadcast the 5-D tensors instead (no published file has one).
#pragma once

#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "model/io/tensor_source.hpp"

namespace talkgen::model::dit {

struct LoraFile {
  std::string path;
  double scale = 1.0;  ///< the reference's --lora_scale: W += scale * up @ down
};

/// One update of one parameter.
struct LoraUpdate {
  std::string parameter;  ///< module key, e.g. blocks.0.self_attn.q.weight
  enum class Kind { low_rank, diff } kind = Kind::low_rank;
  std::string down, up, alpha;  ///< low_rank: checkpoint keys (alpha may be empty; read only to warn)
  std::string diff;             ///< diff: checkpoint key
};

/// Matches every key of `lora` to a parameter of `module` and checks shapes (an alpha: one element),
/// reading no tensor data. Throws Error(checkpoint_mismatch) naming every key that matches nothing, an
/// unpaired down/up, or a shape that does not fit. Nothing is modified.
std::vector<LoraUpdate> plan_lora(torch::nn::Module& module, const io::TensorSource& lora);

/// plan_lora, then adds every update in place on the parameter's device (rounding as described above).
/// Returns the number of parameters changed.
size_t merge_lora(torch::nn::Module& module, const io::TensorSource& lora, double scale);

}  // namespace talkgen::model::dit
