// Random-weight models for benchmarks: every InfiniteTalk component at its real size ("14b": DiT 14B + audio
// modules, umT5-XXL encoder, CLIP ViT-H/14, Wan2.1 VAE, wav2vec2-base) or the tiny demo size ("demo"),
// allocated and filled directly on the device, so timing a whole job needs no checkpoint files.
//
// The weights are noise (N(0, 1/fan_in) matrices, norm scales near 1), the tokenizer is the demo model's:
// the video is meaningless, the work done per job is exactly the real model's. Precision per component
// follows load_models(): DiT and umT5 in `dtype` (bf16), CLIP in float16 (norms float32), VAE and wav2vec2
// in float32.
#pragma once

#include <string>

#include <ATen/ATen.h>

#include "pipeline/pipeline.hpp"

namespace talkgen::pipeline {

struct RandomModelOptions {
  std::string preset = "14b";            ///< "14b" (full size) or "demo" (make_demo_models, float32)
  at::Device device = at::kCPU;          ///< every component but the text encoder
  at::Device text_encoder_device = at::kCPU;  ///< umT5 (11 GB in bf16 at 14b): the DiT's device or the CPU
  at::ScalarType dtype = at::kBFloat16;  ///< DiT and umT5 at 14b (the demo preset is always float32)
  uint64_t seed = 2024;
};

/// Builds the models. Throws Error(invalid_argument) for an unknown preset or a dtype other than
/// bfloat16 / float16 / float32.
PipelineModels make_random_models(const RandomModelOptions& options);

}  // namespace talkgen::pipeline
