// Loading the DiT from the official files: the Wan2.1-I2V-14B shards (+ index) and, over them,
// InfiniteTalk's infinitetalk.safetensors (audio_proj.*, blocks.N.audio_cross_attn.*, blocks.N.norm_x.*),
// then optional LoRAs merged into the weights.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/dit/dit_lora.hpp"
#include "model/dit/dit_model.hpp"
#include "model/io/tensor_source.hpp"

namespace talkgen::model::dit {

struct DitCheckpointPaths {
  std::string base;          ///< diffusion_pytorch_model.safetensors.index.json (or its folder, or one file)
  std::string infinitetalk;  ///< InfiniteTalk/single/infinitetalk.safetensors
  std::vector<LoraFile> loras;  ///< merged in order after loading
};

/// Fills `model` from the two checkpoints, as the reference's merged state dict: every parameter must
/// come from one of them; a key in both takes the InfiniteTalk file's value. Unexpected or mis-shaped
/// keys in either file, or a parameter in neither, throw Error(checkpoint_mismatch) naming the keys.
void load_dit_weights(DitModel& model, const io::TensorSource& base, const io::TensorSource& infinitetalk);

/// Builds the model for `config` in `dtype` on `device`, loads both checkpoints and merges the LoRAs.
/// Everything is checked before any weight is read (missing files throw Error(not_found)). `runtime`: the
/// model's attention kernel and fast paths (DitModel::set_runtime_options changes them later).
std::shared_ptr<DitModel> load_dit(const DitConfig& config, const DitCheckpointPaths& paths, at::ScalarType dtype,
                                   const at::Device& device, const DitRuntimeOptions& runtime = {});

}  // namespace talkgen::model::dit
