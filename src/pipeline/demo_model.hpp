// `--model demo`: every InfiniteTalk component at a tiny size with deterministic random weights, built in
// memory (no files), so a whole generation runs on a CPU in seconds. The architecture and the pipeline
// are the real ones; the weights are not trained, so the video is coloured noise, and every result says
// so (GenerateResult::untrained_model, a warning in the log).
//
// Sizes: wav2vec2 16 wide x 2 layers; CLIP ViT 32 wide, 32 px input in 2 px patches (257 tokens, as
// ViT-H/14); umT5 32 wide x 2 layers over a ~110-piece vocabulary; VAE base width 4 (16 latent channels);
// DiT 64 wide x 2 blocks. Output frames are the reference's buckets / 8 (a square portrait gives 80x80).
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

#include "pipeline/pipeline.hpp"

namespace talkgen::pipeline {

/// Name reported for the demo model.
extern const char* const kDemoModelName;

/// Builds the demo models on `device` (float32). The same seed gives the same weights everywhere.
PipelineModels make_demo_models(const at::Device& device = at::kCPU, uint64_t seed = 2024);

/// Fills every parameter of `module` with reproducible random values drawn on the CPU: matrices
/// N(0, 1/fan_in), norm scales (names with "norm" ending in "weight", or ending in "gamma") 1 + N(0, 0.2^2),
/// other vectors N(0, 0.1^2).
void randomize_module(torch::nn::Module& module, uint64_t seed);

}  // namespace talkgen::pipeline
