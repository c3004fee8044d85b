// The time and memory of one option. Every constant here is named and says where it comes from.
#include "planner/option_model.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "planner/memory_model.hpp"

namespace talkgen::planner {
namespace {

// Tiled VAE decode: 10.5 s instead of 2.95 s untiled for 21 latents at 480p on the H100
// (benchmarks/RESULTS.md, TileOptions{}): the halos are decoded twice and the tiles are small.
constexpr double kTiledDecodeSlowdown = 10.5 / 2.95;

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
  return estimate_memory(w, r, s.mode, s.gpus, m).device_gib();
}

double streamed_forward_seconds(int blocks, int resident_blocks, double compute_seconds, double copy_seconds) {
  // distributed/block_offload.cpp's policy, restated (the planner part does not link the distributed one):
  // resident block i where i = ceil(j N / K); the j-th streamed block copies into slot j % 2 once the
  // copy stream is free and the block two ahead of it has computed; each block computes once it is there.
  std::vector<bool> resident(blocks, false);
  for (int j = 0; j < resident_blocks; ++j)
    resident[(static_cast<long long>(j) * blocks + resident_blocks - 1) / resident_blocks] = true;
  std::vector<double> landed, computed;  // per streamed block
  double copy_free = 0, compute_free = 0;
  auto copy = [&](size_t j) {  // the j-th streamed block's copy, issued once its slot is free
    const double slot_free = j >= 2 ? computed[j - 2] : 0.0;
    copy_free = std::max(copy_free, slot_free) + copy_seconds;
    landed.push_back(copy_free);
  };
  const int streamed = blocks - resident_blocks;
  for (int j = 0; j < std::min(streamed, 2); ++j) copy(j);
  for (int i = 0; i < blocks; ++i) {
    if (resident[i]) {
      compute_free += compute_seconds;
      continue;
    }
    const size_t j = computed.size();
    compute_free = std::max(compute_free, landed[j]) + compute_seconds;
    computed.push_back(compute_free);
    if (j + 2 < static_cast<size_t>(streamed)) copy(j + 2);
  }
  return compute_free;
}

ForwardTime forward_time(const Workload& w, const Rates& r, const OptionShape& s, const ModelDims& m) {
  const MemoryMode& mode = s.mode;
  const double n = s.gpus;
  const double L = static_cast<double>(w.summary.tokens);
  const double tokens_per_gpu = ceil_div(L, n);
  const double heads_per_gpu = ceil_div(m.heads, n);  // Ulysses: heads split (zero-padded when uneven)
  // FP8 runs the GEMMs (linears and the cross-attention projections) faster; attention stays bf16.
  const double matmul_rate = r.matmul_tflops * 1e12 * (mode.dtype == WeightDtype::fp8 && r.fp8_matmul_speedup > 0
                                                           ? r.fp8_matmul_speedup : 1.0);
  // The busiest GPU: its token share of the per-token work, all of the small fixed work, and self-attention
  // over all L tokens for its heads.
  double compute = (w.flops.per_token * tokens_per_gpu / L + w.flops.fixed) / matmul_rate +
                   w.flops.self_attention * heads_per_gpu / m.heads / (r.attention_tflops * 1e12);
  const DitBytes bytes = dit_bytes(mode.dtype, m);
  // int8 weight-only: every block's weights are read as int8 and written as bf16 once per forward.
  if (mode.dtype == WeightDtype::int8)
    compute += mode.blocks * dit_block_linears(m).weights * 3 / (r.memory_bandwidth_gbps * 1e9);

  ForwardTime t;
  const int streamed = mode.weight_sharded ? 0 : mode.streamed_blocks();
  if (streamed > 0) {
    const double block_copy = bytes.block / (r.host_link_gbps * 1e9);
    compute = streamed_forward_seconds(mode.blocks, mode.resident_blocks, compute / mode.blocks, block_copy);
    t.streamed_bytes = streamed * bytes.block;
  }
  t.compute = compute;
  if (s.gpus > 1)
    t.communication = alltoall_bytes_per_forward(m, tokens_per_gpu, n) / (r.comm_gbps * 1e9) +
                      m.layers * 2 * r.comm_latency_s;
  if (mode.weight_sharded) {
    // Each forward all-gathers every block's weights; prefetching overlaps that with compute, so the
    // forward takes the longer of the two.
    const double gather = bytes.total(mode.blocks) * (n - 1) / n / (r.comm_gbps * 1e9) + m.layers * r.comm_latency_s;
    t.communication += std::max(0.0, gather - compute);
  }
  return t;
}

PlanTimes option_times(const Workload& w, const Rates& r, const OptionShape& s, bool include_model_load,
                       const ModelDims& m) {
  const auto& job = w.summary;
  const MemoryMode& mode = s.mode;
  const double forwards = static_cast<double>(job.forwards);
  PlanTimes t;
  const ForwardTime forward = forward_time(w, r, s, m);
  t.sampling = forwards * forward.compute;
  t.communication = forwards * forward.communication;

  // VAE on rank 0: the portrait and its 81-frame padded condition video once, each chunk's 81 frames
  // decoded, and every chunk but the last re-encodes its 9 motion frames for the next.
  const double mpix = w.pixels_per_frame / 1e6;
  const double encoded_frames = 1 + kChunkFrames + static_cast<double>(job.chunks - 1) * kMotionFrames;
  t.vae = encoded_frames * mpix / r.vae_encode_mpix_per_s +
          static_cast<double>(job.chunks) * kChunkFrames * mpix / r.vae_decode_mpix_per_s *
              (mode.vae_tiled_decode ? kTiledDecodeSlowdown : 1.0);

  // Encoders, once per job: umT5 over the prompt and the negative prompt (2 x 512 tokens), CLIP over 257
  // image tokens, wav2vec2 over 50 feature frames per second of speech.
  const double umt5_flops = 2 * kUmt5EncoderMatmulParams * 2 * m.text_len;
  const double gpu_flops = 2 * kClipVisionParams * m.clip_tokens + 2 * kWav2vec2Params * 50 * (job.frames / kFps);
  t.encoders = (mode.text_encoder_on_gpu ? umt5_flops / (r.matmul_tflops * 1e12) : umt5_flops / (r.cpu_tflops * 1e12)) +
               gpu_flops / (r.matmul_tflops * 1e12);
  if (mode.encoders_on_demand) {
    // Copied from host memory each time they are used: umT5 (on the GPU), CLIP and wav2vec2 once per job,
    // the VAE once per chunk (it encodes the motion frames and decodes the chunk between DiT chunks).
    const double per_job = (mode.text_encoder_on_gpu ? kUmt5EncoderParams * 2 : 0) + kClipVisionParams * 2 +
                           kWav2vec2Params * 4;
    t.encoders += (per_job + job.chunks * kVaeParams * 4) / (r.host_link_gbps * 1e9);
  }

  // H.264 runs on the CPU while the next chunk samples: only what does not fit behind sampling shows,
  // and at least the last chunk's frames.
  const double encode_total = static_cast<double>(job.frames) * mpix / r.video_encode_mpix_per_s;
  const double last_chunk = std::min(encode_total, (kChunkFrames - kMotionFrames) * mpix / r.video_encode_mpix_per_s);
  const double hidden_window = (t.sampling + t.communication) * (job.chunks - 1) / job.chunks;
  t.video_encode = std::max(last_chunk, encode_total - hidden_window);

  if (include_model_load) {
    // The DiT in its format: FP8 / int8 files are about half the bf16 ones (quantising a bf16 file at
    // load time reads the bf16 bytes: slower than this).
    const double bytes = dit_bytes(mode.dtype, m).total(mode.blocks) + kUmt5EncoderParams * 2 +
                         kClipVisionParams * 2 + kVaeParams * 4 + kWav2vec2Params * 4;
    t.model_load = bytes / (r.load_gbps * 1e9);
  }
  t.total = t.sampling + t.communication + t.vae + t.encoders + t.video_encode + t.model_load;
  return t;
}

}  // namespace talkgen::planner
