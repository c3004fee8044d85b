// The time and memory of one option. Every constant here is named and says where it comes from.
#include "planner/option_model.hpp"

#include <algorithm>
#include <cmath>

namespace talkgen::planner {
namespace {

constexpr double kGiB = 1024.0 * 1024 * 1024;
constexpr double kRuntimeGiB = 2.0;          // CUDA context + cuBLAS/cuDNN workspaces
constexpr double kFragmentation = 0.05;      // caching-allocator slack on top of live tensors
// Wan VAE decode, one latent frame at a time with its causal cache: ~4 frames of 96-channel float32
// activations at full resolution live at once, about 4 tensors deep (6 KiB per output pixel).
constexpr double kVaeWorkspaceBytesPerPixel = 6.0 * 1024;

double ceil_div(double a, double b) { return std::ceil(a / b); }

// Ulysses per block: q, k, v sequence->heads and the output heads->sequence, each moving (N-1)/N of the
// GPU's tokens x dim bf16 values: 4 x tokens/N x D x 2 bytes x (N-1)/N, for every block.
double alltoall_bytes_per_forward(const ModelDims& m, double tokens_per_gpu, double n) {
  return m.layers * 4 * tokens_per_gpu * m.dim * 2 * (n - 1) / n;
}

}  // namespace

double effective_comm_gbps(const ModelDims& m, double tokens, int gpus, double one_gpu_forward_s, double forward_s) {
  const double n = gpus;
  if (gpus < 2 || !(tokens > 0) || !(one_gpu_forward_s > 0) || !(forward_s > 0)) return 0;
  // The busiest GPU's share of the one-GPU forward, as option_times prices compute (one rate for all).
  const auto f = dit_forward_flops(m, tokens, 1 + (kChunkFrames - 1) / m.vae_stride_t);
  const double share = (f.per_token * ceil_div(tokens, n) / tokens + f.fixed +
                        f.self_attention * ceil_div(m.heads, n) / m.heads) / f.total();
  const double lost = forward_s - one_gpu_forward_s * share - m.layers * 2 * Rates{}.comm_latency_s;
  if (lost <= 0) return 0;
  return alltoall_bytes_per_forward(m, ceil_div(tokens, n), n) / lost / 1e9;
}

double memory_gib_per_gpu(const Workload& w, const Rates& r, const OptionShape& s, const ModelDims& m) {
  const double n = s.gpus;
  const double dit_bytes = dit_parameters(m) * 2;
  const double dit_weights = s.weight_sharded ? dit_bytes / n + 2 * dit_bytes / m.layers : dit_bytes;
  const double encoders = (s.text_encoder_on_gpu ? kUmt5EncoderParams * 2 : 0) + kClipVisionParams * 2 +
                          kWav2vec2Params * 4 + kVaeParams * 4;
  const double tokens_per_gpu = ceil_div(static_cast<double>(w.summary.tokens), n);
  const double activations = tokens_per_gpu * r.activation_bytes_per_token;
  // The decoded chunk itself (float32 [3, 81, H, W]) stays while the next chunk's condition is encoded.
  const double vae_workspace = w.pixels_per_frame * (kVaeWorkspaceBytesPerPixel + 3.0 * 4 * kChunkFrames);
  const double live = dit_weights + encoders + std::max(activations, vae_workspace);
  return live * (1 + kFragmentation) / kGiB + kRuntimeGiB;
}

PlanTimes option_times(const Workload& w, const Rates& r, const OptionShape& s, bool include_model_load,
                       const ModelDims& m) {
  const auto& job = w.summary;
  const double n = s.gpus;
  const double L = static_cast<double>(job.tokens);
  const double tokens_per_gpu = ceil_div(L, n);
  const double heads_per_gpu = ceil_div(m.heads, n);  // Ulysses: heads split (zero-padded when uneven)
  const double forwards = static_cast<double>(job.forwards);
  PlanTimes t;

  // One forward on the busiest GPU: its token share of the per-token work, all of the small fixed work,
  // and self-attention over all L tokens for its heads.
  const double compute = (w.flops.per_token * tokens_per_gpu / L + w.flops.fixed) / (r.matmul_tflops * 1e12) +
                         w.flops.self_attention * heads_per_gpu / m.heads / (r.attention_tflops * 1e12);
  double comm = 0;
  if (s.gpus > 1)
    comm = alltoall_bytes_per_forward(m, tokens_per_gpu, n) / (r.comm_gbps * 1e9) + m.layers * 2 * r.comm_latency_s;
  double forward_compute = compute;
  if (s.weight_sharded) {
    // Each forward all-gathers every block's weights; prefetching overlaps that with compute, so the
    // forward takes the longer of the two.
    const double gather = dit_parameters(m) * 2 * (n - 1) / n / (r.comm_gbps * 1e9) + m.layers * r.comm_latency_s;
    comm += std::max(0.0, gather - compute);
  }
  t.sampling = forwards * forward_compute;
  t.communication = forwards * comm;

  // VAE on rank 0: the portrait and its 81-frame padded condition video once, each chunk's 81 frames
  // decoded, and every chunk but the last re-encodes its 9 motion frames for the next.
  const double mpix = w.pixels_per_frame / 1e6;
  const double encoded_frames = 1 + kChunkFrames + static_cast<double>(job.chunks - 1) * kMotionFrames;
  t.vae = encoded_frames * mpix / r.vae_encode_mpix_per_s +
          static_cast<double>(job.chunks) * kChunkFrames * mpix / r.vae_decode_mpix_per_s;

  // Encoders, once per job: umT5 over the prompt and the negative prompt (2 x 512 tokens), CLIP over 257
  // image tokens, wav2vec2 over 50 feature frames per second of speech.
  const double umt5_flops = 2 * kUmt5EncoderMatmulParams * 2 * m.text_len;
  const double gpu_flops = 2 * kClipVisionParams * m.clip_tokens + 2 * kWav2vec2Params * 50 * (job.frames / kFps);
  t.encoders = (s.text_encoder_on_gpu ? umt5_flops / (r.matmul_tflops * 1e12) : umt5_flops / (r.cpu_tflops * 1e12)) +
               gpu_flops / (r.matmul_tflops * 1e12);

  // H.264 runs on the CPU while the next chunk samples: only what does not fit behind sampling shows,
  // and at least the last chunk's frames.
  const double encode_total = static_cast<double>(job.frames) * mpix / r.video_encode_mpix_per_s;
  const double last_chunk = std::min(encode_total, (kChunkFrames - kMotionFrames) * mpix / r.video_encode_mpix_per_s);
  const double hidden_window = (t.sampling + t.communication) * (job.chunks - 1) / job.chunks;
  t.video_encode = std::max(last_chunk, encode_total - hidden_window);

  if (include_model_load) {
    const double bytes = dit_parameters(m) * 2 + kUmt5EncoderParams * 2 + kClipVisionParams * 2 +
                         kVaeParams * 4 + kWav2vec2Params * 4;
    t.model_load = bytes / (r.load_gbps * 1e9);
  }
  t.total = t.sampling + t.communication + t.vae + t.encoders + t.video_encode + t.model_load;
  return t;
}

}  // namespace talkgen::planner
