// The memory model per mode. The byte counts come from the model shapes (work_model.hpp, the reference
// configs); the activation and VAE figures are fitted to the peaks measured on an H100
// (benchmarks/RESULTS.md), which this model reproduces within 1%:
//   DiT forward alone, bf16: 38.2 GiB at 480x832 (32,760 tokens), 42.0 GiB at 720x1280 (75,600 tokens);
//   VAE decode of 21 latents (fp32, untiled): 10.2 GiB at 480x832, 22.8 GiB at 720x1280;
//   whole job A (480p, 640x640, everything resident): 57.5 GiB (model: 57.7); job B (720p, 960x960): 69.5
//   GiB (model: 70.1). Those whole-job peaks are the VAE decode phase with every model loaded.
#include "planner/memory_model.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "talkgen/error.hpp"

namespace talkgen::planner {
namespace {

// DiT activations of one forward: the measured peaks less the 35.16 GiB of bf16 weights are 3.04 GiB at
// 32,760 tokens and 6.84 GiB at 75,600: a line of 93 KiB per token (slope) plus 0.14 GiB (intercept:
// the conditioning contexts, RoPE tables, cuBLAS / cuDNN workspaces). The per-token figure is
// Rates::activation_bytes_per_token (a calibration's measured peak replaces it).
constexpr double kActivationFixedBytes = 0.14 * kGiB;
// FP8 GEMMs quantise their input per token: the widest input (the FFN's second GEMM, ffn_dim wide) in
// 1 byte per value plus a float32 scale per token, on top of the bf16 activations.
constexpr double kFp8InputScaleBytes = 4;
// Quantised checkpoints: one scale per output channel of each Linear (float32 in LightX2V's FP8 files;
// optimum-quanto stores bf16 ones: counting 4 bytes errs on the safe side). The non-block modules
// (embeddings, head, audio_proj: 0.31e9 parameters) are counted in bf16 whatever the format: some
// quantised files keep them so, and it is 0.3 GiB at most.
constexpr double kScaleBytes = 4;
// The Wan VAE, float32, works on 4 frames per step (decode: one latent frame -> 4 frames; encode: chunks of
// 4 frames after the first) with its causal cache. Measured decode peaks less the 0.47 GiB of weights:
// 9.73 GiB / 399,360 px (480x832) = 26,160 B/px, 22.33 GiB / 921,600 px (720x1280) = 26,015 B/px; this
// includes the decoded 81 frames (3 x 81 x 4 = 972 B/px).
constexpr double kVaeStepBytesPerPixel = 26.1e3;
// Encode was measured for one frame only: 2.9 GiB at 480x832, 6.1 GiB at 720x1280, less the weights 6.5
// KB/px. The pipeline encodes the 81-frame condition video (and 9 motion frames per chunk) in 4-frame
// steps: 4 frames of activations, but the same causal caches (2 frames per full-resolution conv): about
// twice the 1-frame step, counting wan/modules/vae.py's encoder conv by conv. An estimate until `talkgen
// bench vae` measures an 81-frame encode; the whole-job peaks bound it (no phase above the decode's 26 KB).
// The pipeline does not tile the encode.
constexpr double kVaeEncodeStepBytesPerPixel = 2 * 6.5e3;
constexpr double kVaeOutputBytesPerPixel = 3.0 * kChunkFrames * 4;
// Tiled decode (model/vae/vae_tiling.hpp, TileOptions{}): 32-latent-pixel tiles (256 px) decoded with an
// 8-latent-pixel halo (64 px) on each side, one tile at a time: the per-pixel step figure over a 384 x 384
// region, plus the whole chunk's output that the tiles are blended into.
constexpr double kVaeTileSidePixels = 256, kVaeTileHaloPixels = 64;
// umT5-XXL's activations for 2 prompts x 512 tokens (4096 wide, 64 heads): well under 0.25 GiB; an
// estimate (the bench measured its time, not its peak). CLIP's 257 tokens and wav2vec2's ~50 frames per
// second are likewise small: 0.1 GiB each.
constexpr double kUmt5ActivationBytes = 0.25 * kGiB;
constexpr double kSmallEncoderActivationBytes = 0.1 * kGiB;

double umt5_bytes() { return kUmt5EncoderParams * 2; }  // bf16
double clip_bytes() { return kClipVisionParams * 2; }   // fp16, as the reference runs it
double wav2vec2_bytes() { return kWav2vec2Params * 4; } // float32
double vae_bytes() { return kVaeParams * 4; }           // float32

double vae_untiled_decode_bytes(double pixels) { return pixels * kVaeStepBytesPerPixel; }
double vae_encode_bytes(double pixels) { return pixels * kVaeEncodeStepBytesPerPixel; }
double vae_tiled_decode_bytes(const Workload& w) {
  const double region = kVaeTileSidePixels + 2 * kVaeTileHaloPixels;
  const double tile_pixels = std::min<double>(w.summary.height, region) * std::min<double>(w.summary.width, region);
  return tile_pixels * kVaeStepBytesPerPixel + w.pixels_per_frame * kVaeOutputBytesPerPixel;
}

// The DiT's weights on the GPU and, when streaming, in pinned host memory.
struct DitPlacement {
  double device = 0, host_pinned = 0, streamed_per_forward = 0;
};
DitPlacement place_dit(const MemoryMode& mode, int gpus, const ModelDims& m) {
  const DitBytes b = dit_bytes(mode.dtype, m);
  DitPlacement p;
  if (mode.weight_sharded) {
    // Each GPU keeps 1/N of the weights and all-gathers one block ahead: two whole blocks at a time.
    p.device = b.total(mode.blocks) / gpus + 2 * b.block;
    return p;
  }
  const int streamed = mode.streamed_blocks();
  p.device = b.non_block + mode.resident_blocks * b.block + std::min(streamed, kStreamingSlots) * b.block;
  p.host_pinned = streamed * b.block;
  p.streamed_per_forward = streamed * b.block;
  return p;
}

}  // namespace

DitBytes dit_bytes(WeightDtype dtype, const ModelDims& m) {
  const double block_params = dit_block_parameters(m);
  const double non_block = dit_parameters(m) - m.layers * block_params;
  DitBytes b;
  b.non_block = non_block * 2;
  switch (dtype) {
    case WeightDtype::bf16:
      b.block = block_params * 2;
      return b;
    case WeightDtype::fp8:
    case WeightDtype::int8: {
      const BlockLinears l = dit_block_linears(m);
      b.block = l.weights * 1 + l.output_channels * kScaleBytes + (block_params - l.weights) * 2;
      // int8 is weight-only: each block's Linear weights are dequantised to bf16 just before it runs
      // (issue 19 section 2); FP8 GEMMs read the 8-bit weights directly.
      if (dtype == WeightDtype::int8) b.dequant_workspace = l.weights * 2;
      return b;
    }
    case WeightDtype::automatic: break;
  }
  fail(ErrorCode::internal, "dit_bytes: a plan's weight dtype must be bf16, fp8 or int8");
}

MemoryEstimate estimate_memory(const Workload& w, const Rates& r, const MemoryMode& mode, int gpus,
                               const ModelDims& m) {
  const DitPlacement dit = place_dit(mode, gpus, m);
  const double umt5 = mode.text_encoder_on_gpu ? umt5_bytes() : 0;
  // Loaded next to the DiT for the whole job unless on demand.
  const double kept = mode.encoders_on_demand ? 0 : umt5 + clip_bytes() + wav2vec2_bytes() + vae_bytes();
  const double vae_loaded = mode.encoders_on_demand ? vae_bytes() : 0;  // else already in `kept`
  // The job's audio embedding stays on the GPU from wav2vec2 to the last chunk: float32 [frames, 12, 768].
  const double audio_embedding = static_cast<double>(w.summary.frames) * m.audio_blocks * m.audio_channels * 4;

  // (A calibrated per-token figure already carries the fixed part too: 0.14 GiB counted twice, on the safe side.)
  const double tokens_per_gpu = std::ceil(static_cast<double>(w.summary.tokens) / gpus);
  double activations = kActivationFixedBytes + tokens_per_gpu * r.activation_bytes_per_token;
  if (mode.dtype == WeightDtype::fp8) activations += tokens_per_gpu * (m.ffn_dim + kFp8InputScaleBytes);
  activations += dit_bytes(mode.dtype, m).dequant_workspace;

  struct Phase {
    const char* name;
    double bytes;
  };
  const double base = dit.device + kept;
  const Phase phases[] = {
      {"umT5", mode.text_encoder_on_gpu ? base + (mode.encoders_on_demand ? umt5 : 0) + kUmt5ActivationBytes : 0},
      {"CLIP and wav2vec2",
       base + (mode.encoders_on_demand ? clip_bytes() + wav2vec2_bytes() : 0) + kSmallEncoderActivationBytes},
      {"VAE encode", base + vae_loaded + audio_embedding + vae_encode_bytes(w.pixels_per_frame)},
      {"DiT sampling", base + audio_embedding + activations},
      {"VAE decode", base + vae_loaded + audio_embedding +
                         (mode.vae_tiled_decode ? vae_tiled_decode_bytes(w) : vae_untiled_decode_bytes(w.pixels_per_frame))},
  };
  MemoryEstimate e;
  for (const auto& p : phases) {
    e.phases.emplace_back(p.name, p.bytes);
    if (p.bytes > e.peak_bytes) {
      e.peak_bytes = p.bytes;
      e.peak_phase = p.name;
    }
  }
  e.dit_device_bytes = dit.device;
  e.host_pinned_bytes = dit.host_pinned;
  e.streamed_bytes_per_forward = dit.streamed_per_forward;
  return e;
}

std::optional<int> resident_blocks_within(const Workload& w, const Rates& r, MemoryMode mode, int gpus,
                                          double budget_bytes, const ModelDims& m) {
  mode.resident_blocks = mode.blocks;
  if (estimate_memory(w, r, mode, gpus, m).peak_bytes <= budget_bytes) return mode.blocks;
  if (mode.weight_sharded) return std::nullopt;  // sharding keeps every block's share resident
  // Every phase holds the resident blocks, so the peak grows by one block per resident block: from the
  // peak with none resident, the budget's room in whole blocks.
  mode.resident_blocks = 0;
  const double with_none = estimate_memory(w, r, mode, gpus, m).peak_bytes;
  if (with_none > budget_bytes) return std::nullopt;
  const int most = mode.blocks - 1 - kStreamingSlots;
  if (most < 0) return std::nullopt;  // too few blocks for streaming to save anything
  const double block = dit_bytes(mode.dtype, m).block;
  const int room = static_cast<int>(std::floor((budget_bytes - with_none) / block));
  return std::min(room, most);
}

}  // namespace talkgen::planner

namespace talkgen {

std::string describe(const MemoryMode& mode) {
  std::string text = to_string(mode.dtype);
  if (mode.weight_sharded)
    text += ", weight-sharded";
  else if (mode.offloaded())
    text += fmt::format(", {} of {} blocks resident ({} streamed)", mode.resident_blocks, mode.blocks,
                        mode.streamed_blocks());
  else
    text += " resident";
  if (mode.encoders_on_demand) text += ", encoders on demand";
  if (!mode.text_encoder_on_gpu) text += ", umT5 on CPU";
  if (mode.vae_tiled_decode) text += ", tiled VAE decode";
  return text;
}

}  // namespace talkgen
