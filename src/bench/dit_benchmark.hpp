// `talkgen bench dit --random 14b`: the DiT forward on random weights, timed, with an analytic FLOP
// count (so MFU compares with the reference's bench_ref.py numbers on the same GPU).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "model/dit/dit_model.hpp"
#include "model/layers/attention.hpp"

namespace talkgen::model::dit {

/// FLOPs of one forward (batch 1), multiply-add = 2 FLOPs.
struct DitFlops {
  double linear = 0;           ///< every matmul with a weight (patch/text/image/audio embeddings, blocks, head)
  double self_attention = 0;   ///< QK^T and PV of the video self-attention
  double cross_attention = 0;  ///< QK^T and PV against text + image tokens and against audio tokens
  double total() const { return linear + self_attention + cross_attention; }
};

/// Analytic count for `frames` video frames of height x width pixels (VAE stride 4x8x8, patch 1x2x2).
DitFlops dit_forward_flops(const DitConfig& config, int64_t frames, int64_t height, int64_t width);

/// "480p" -> 480x832, "720p" -> 720x1280, or "HxW"; throws Error(invalid_argument) otherwise.
std::pair<int64_t, int64_t> parse_video_size(const std::string& text);

struct DitBenchOptions {
  DitConfig config = DitConfig::wan_14b();
  int64_t height = 480, width = 832, frames = 81;
  at::ScalarType dtype = at::kBFloat16;
  at::Device device = at::kCPU;
  int warmup = 1;
  int reps = 3;
  double peak_tflops = 0;  ///< the device's dense peak for `dtype`; 0 leaves mfu at 0
  /// A/B runs after the main measurement, on the same weights and inputs: each "ATTENTION/DIT" with
  /// ATTENTION one of auto|cudnn|flash|efficient (model/layers/attention.hpp) and DIT one of all|none or
  /// fast paths joined by '+' (fused, gelu; DitSpeedOptions in dit_model.hpp), e.g. {"auto/none", "cudnn/none", "cudnn/all"}.
  /// Each is timed (median of `reps` after one warm-up) and compared with the first one's output.
  std::vector<std::string> variants;
  /// One more forward with a per-phase breakdown (dit_profile.hpp).
  bool profile = false;
  /// The attention kernel and fast paths of the main measurement (and of the profile).
  DitRuntimeOptions runtime;
};

struct DitVariantResult {
  std::string name;           ///< as given, e.g. "cudnn/all"
  double forward_s = 0;       ///< median forward
  double tflops = 0;
  double max_abs_diff = 0;    ///< against the first variant's output (0 for the first)
  double output_scale = 0;    ///< max |output| of this variant
};

/// One phase of the profiled forward, summed over the blocks.
struct DitPhaseTime {
  std::string phase;
  double seconds = 0;
};

struct DitBenchResult {
  std::string device;
  int64_t tokens = 0;        ///< video tokens per forward
  double build_s = 0;        ///< allocating + filling the random weights
  double forward_s = 0;      ///< median of `reps` forwards
  double step_s = 0;         ///< median of `reps` sampling steps of 3 forwards (cond / no text / no audio)
  DitFlops flops;            ///< per forward
  double tflops = 0;         ///< flops.total() / forward_s / 1e12
  double mfu = 0;            ///< tflops / peak_tflops
  int64_t peak_bytes = -1;   ///< peak device memory during the forwards (-1 where not measurable: CPU)
  int64_t param_count = 0;
  std::string configuration;            ///< attention backend and fast paths of the main measurement
  std::vector<DitVariantResult> variants;  ///< DitBenchOptions::variants, in order
  std::vector<DitPhaseTime> profile;    ///< the profiled forward's phases (empty unless asked for)
};

/// The benchmark's inputs for one forward at `frames` x height x width: random x, y, text context, CLIP
/// tokens and audio windows, drawn on the CPU from a generator seeded with `seed` (so every rank of a
/// multi-device benchmark gets the same ones) and moved to `options`' device and dtype; t = 999.
DitInputs bench_inputs(const DitConfig& config, int64_t frames, int64_t height, int64_t width,
                       const at::TensorOptions& options, uint64_t seed = 7);

/// Video tokens of one forward at `frames` x height x width.
int64_t bench_tokens(const DitConfig& config, int64_t frames, int64_t height, int64_t width);

/// Checks a benchmark's frames (4k+1), size (multiples of 16) and reps (>= 1); Error(invalid_argument).
void check_bench_options(const DitBenchOptions& options);

/// Parses one variant ("cudnn/all", "auto/fused+gelu", ...); throws Error(invalid_argument).
DitRuntimeOptions parse_bench_variant(const std::string& text);

/// Builds the model with random weights directly on the device in `dtype` (no float32 copy anywhere),
/// runs the forwards and measures. Synchronises only around the timed regions. The variants and the
/// profile are also logged (info level), one line each.
DitBenchResult bench_dit(const DitBenchOptions& options);

}  // namespace talkgen::model::dit
