// Timing and memory of the VAE on the current machine (for `talkgen bench vae`; not a test).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <ATen/ATen.h>

#include "model/vae/vae_tiling.hpp"
#include "model/vae/wan_vae.hpp"

namespace talkgen::model::vae {

struct VaeBenchOptions {
  std::string checkpoint;                 // Wan2.1_VAE.pth; empty = random weights (same speed)
  VaeConfig config = VaeConfig::wan21();
  at::Device device = at::kCPU;
  at::ScalarType dtype = at::kFloat;
  int64_t height = 480;                   // video pixels, multiples of 8
  int64_t width = 832;
  int64_t latent_frames = 21;             // decoded latent frames (21 -> 81 video frames)
  int repeats = 1;                        // timed runs after one untimed warm-up; the median is reported
  std::optional<TileOptions> tiling;      // decode in tiles
  bool compare_untiled = false;           // with tiling: also decode untiled and report the difference
};

struct VaeBenchResult {
  std::string device;                     // "cuda:0", "cpu"
  int64_t video_frames = 0;               // frames the decode produced
  double encode_frame_ms = 0;             // encode of one frame (the reference image)
  double decode_ms = 0;                   // decode of all latent frames
  double decode_ms_per_video_frame = 0;
  int64_t encode_peak_bytes = -1;         // peak device memory allocated during the call (CUDA); -1 if unknown
  int64_t decode_peak_bytes = -1;
  int64_t host_peak_rss_bytes = 0;        // process high-water mark (CPU runs: the only memory figure)
  double tiled_max_abs_diff = -1;         // compare_untiled: max / mean |tiled - untiled| (frames in [-1, 1])
  double tiled_mean_abs_diff = -1;
};

/// Runs the benchmark. Throws Error(device_unavailable) for a CUDA device this build or machine
/// lacks, Error(invalid_argument) for bad sizes.
VaeBenchResult benchmark_vae(const VaeBenchOptions& options);

}  // namespace talkgen::model::vae
