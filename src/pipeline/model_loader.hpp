// Loading the real models for a Pipeline from the official file layout (as downloaded from Hugging Face):
//
//   <wan_dir>/         Wan2.1-I2V-14B-480P: config.json, diffusion_pytorch_model-*.safetensors + index,
//                      models_t5_umt5-xxl-enc-bf16.pth, google/umt5-xxl/, Wan2.1_VAE.pth,
//                      models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth
//   <wav2vec2_dir>/    chinese-wav2vec2-base (Hugging Face folder)
//   <infinitetalk>     InfiniteTalk/single/infinitetalk.safetensors (or multi/, the two-person weights)
//
// Every path is checked before any weight is read, so a missing file fails at once, naming it.
#pragma once

#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "model/dit/dit_lora.hpp"
#include "pipeline/pipeline.hpp"

namespace talkgen::pipeline {

/// The lightx2v LoRA's official file (Hugging Face Kijai/WanVideo_comfy), looked for in the model folder.
inline constexpr const char* kLightx2vLoraFile = "Wan21_T2V_14B_lightx2v_cfg_step_distill_lora_rank32.safetensors";
inline constexpr const char* kLightx2vLoraFolder = "WanVideo_comfy";

struct ModelPaths {
  std::string wan_dir;
  std::string wav2vec2_dir;
  std::string infinitetalk;
  /// Distillation LoRA merged into the DiT at load (empty path: none), and which one it is.
  model::dit::LoraFile lora;
  DistillLora lora_kind = DistillLora::none;

  /// A folder holding the three: Wan2.1-I2V-14B-480P/, chinese-wav2vec2-base/ and
  /// InfiniteTalk/single/infinitetalk.safetensors (InfiniteTalk/multi/... with `multi_person`), and
  /// optionally the lightx2v LoRA (WanVideo_comfy/<kLightx2vLoraFile> or <kLightx2vLoraFile>), merged when
  /// present. Throws Error(not_found) naming what is missing.
  static ModelPaths from_model_dir(const std::string& dir, bool multi_person = false);
};

struct ModelLoadOptions {
  at::Device device = at::kCPU;
  /// DiT and umT5 weights (bf16 as the reference; float32 for parity tests).
  at::ScalarType dtype = at::kBFloat16;
  /// The CLIP tower (the reference runs it in float16 under autocast).
  at::ScalarType clip_dtype = at::kHalf;
  /// VAE and wav2vec2 (float32 in the reference).
  at::ScalarType vae_dtype = at::kFloat;
};

/// Loads every component. Throws Error(not_found / checkpoint_mismatch / invalid_argument) naming the
/// file (and key) at fault.
PipelineModels load_models(const ModelPaths& paths, const ModelLoadOptions& options = {});

}  // namespace talkgen::pipeline
