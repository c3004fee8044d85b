// LoRA merge into the DiT weights at load time (lightx2v, FusionX and PEFT-style files).
//
// Accepted keys, with an optional "diffusion_model." prefix before the module path:
//   <path>.lora_down.weight + <path>.lora_up.weight [+ <path>.alpha]   (kohya / lightx2v)
//   <path>.lora_A.weight    + <path>.lora_B.weight  [+ <path>.alpha]   (PEFT / FusionX)
//   <path>.diff    (a full delta of <path>.weight),   <path>.diff_b (a delta of <path>.bias)
// Merge: W += scale * (alpha / rank) * up @ down (alpha / rank = 1 without an alpha key); diffs are
// added times scale. The reference (wan/wan_lora.py) ignores alpha; the two agree whenever
// alpha == rank, as in the published lightx2v / FusionX files (a warning is logged otherwise).
#pragma once

#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "model/io/tensor_source.hpp"

namespace talkgen::model::dit {

struct LoraFile {
  std::string path;
  double scale = 1.0;
};

/// One update of one parameter.
struct LoraUpdate {
  std::string parameter;  ///< module key, e.g. blocks.0.self_attn.q.weight
  enum class Kind { low_rank, diff } kind = Kind::low_rank;
  std::string down, up, alpha;  ///< low_rank: checkpoint keys (alpha may be empty)
  std::string diff;             ///< diff: checkpoint key
};

/// Matches every key of `lora` to a parameter of `module` and checks shapes, reading only scalars
/// (alpha). Throws Error(checkpoint_mismatch) naming every key that matches nothing, an unpaired
/// down/up, or a shape that does not fit. Nothing is modified.
std::vector<LoraUpdate> plan_lora(torch::nn::Module& module, const io::TensorSource& lora);

/// plan_lora, then adds every update in place (computed in float32 on the parameter's device, added in
/// the parameter's dtype). Returns the number of parameters changed.
size_t merge_lora(torch::nn::Module& module, const io::TensorSource& lora, double scale);

}  // namespace talkgen::model::dit
