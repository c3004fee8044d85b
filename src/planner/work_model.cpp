// DiT FLOPs and parameters term by term, following wan/modules/multitalk_model.py.
#include "planner/work_model.hpp"

#include <algorithm>
#include <cmath>

#include "talkgen/error.hpp"

namespace talkgen::planner {

std::int64_t dit_tokens(const ModelDims& m, std::int64_t frames, int height, int width) {
  const std::int64_t latent_frames = 1 + (frames - 1) / m.vae_stride_t;
  const std::int64_t lh = height / (m.vae_stride_hw * m.patch_h);
  const std::int64_t lw = width / (m.vae_stride_hw * m.patch_w);
  return latent_frames / m.patch_t * lh * lw;
}

ForwardFlops dit_forward_flops(const ModelDims& m, double L, double nt) {
  const double D = m.dim, F = m.ffn_dim, Lt = m.text_len, Li = m.clip_tokens, La = m.audio_tokens;
  const double patch = static_cast<double>(m.patch_t * m.patch_h * m.patch_w);
  ForwardFlops f;
  // Per block, per video token: self q/k/v/o (4 D^2), cross q/o (2 D^2), audio q_linear/proj (2 D^2), FFN
  // (2 D F); attention against the 512 text + 257 image keys and against the frame's 32 audio keys
  // (QK^T and PV: 2 x 2 x keys x D). Plus the patch embedding and the head.
  const double block_per_token = 2 * (8 * D * D + 2 * D * F) + 4 * (Lt + Li) * D + 4 * La * D;
  f.per_token = L * (m.layers * block_per_token + 2 * m.in_dim * patch * D + 2 * D * patch * m.out_dim);
  // Per block, independent of the video: text k/v and image k_img/v_img over their tokens, audio kv_linear
  // over 32 tokens per latent frame. Once per forward: text and image embeddings, audio_proj, time MLPs.
  const double block_fixed = 4 * (Lt + Li) * D * D + 2 * nt * La * m.audio_dim * 2 * D;
  const double audio_in_first = m.audio_window * m.audio_blocks * m.audio_channels;
  const double audio_in_later = m.audio_window_vf * m.audio_blocks * m.audio_channels;
  const double I = m.audio_hidden;
  f.fixed = m.layers * block_fixed + 2 * Lt * (m.text_dim * D + D * D) +
            2 * Li * (m.clip_dim * m.clip_dim + m.clip_dim * D) +
            2 * (audio_in_first + (nt - 1) * audio_in_later) * I + 2 * nt * I * (I + La * m.audio_dim) +
            2 * (m.freq_dim * D + D * D + D * 6 * D);
  // Self-attention: QK^T and PV, 2 x 2 x L x L x D per block.
  f.self_attention = m.layers * 4 * L * L * D;
  return f;
}

double dit_block_parameters(const ModelDims& m) {
  const double D = m.dim, F = m.ffn_dim, hd = m.dim / m.heads;
  const double self_attn = 4 * (D * D + D) + 2 * D;              // q k v o, RMS norm_q / norm_k
  const double cross_attn = 6 * (D * D + D) + 3 * D;             // + k_img v_img, three RMS norms
  const double ffn = (D * F + F) + (F * D + D);
  const double audio = (D * D + D) + (m.audio_dim * 2 * D + 2 * D) + (D * D + D) + 2 * hd;  // q, kv, proj, norms
  const double norms = 2 * D + 2 * D + 6 * D;                    // norm3, norm_x (affine), modulation
  return self_attn + cross_attn + ffn + audio + norms;
}

BlockLinears dit_block_linears(const ModelDims& m) {
  const double D = m.dim, F = m.ffn_dim;
  BlockLinears l;
  // self q k v o (4 D x D), cross q k v o k_img v_img (6 D x D), FFN (D x F, F x D), audio q and proj (D x D)
  // and kv (audio_dim -> 2 D).
  l.weights = 4 * D * D + 6 * D * D + 2 * D * F + 2 * D * D + m.audio_dim * 2 * D;
  l.output_channels = 4 * D + 6 * D + (F + D) + 2 * D + 2 * D;
  return l;
}

double dit_parameters(const ModelDims& m) {
  const double D = m.dim;
  const double block = dit_block_parameters(m);
  const double patch = static_cast<double>(m.patch_t * m.patch_h * m.patch_w);
  const double embeddings = (m.in_dim * patch * D + D) + (m.text_dim * D + D) + (D * D + D) +
                            (m.freq_dim * D + D) + (D * D + D) + (D * 6 * D + 6 * D) +
                            (2 * m.clip_dim + m.clip_dim * m.clip_dim + m.clip_dim + m.clip_dim * D + D + 2 * D) +
                            (D * patch * m.out_dim + patch * m.out_dim + 2 * D);  // head + its modulation
  const double I = m.audio_hidden;
  const double audio_proj = (m.audio_window * m.audio_blocks * m.audio_channels * I + I) +
                            (m.audio_window_vf * m.audio_blocks * m.audio_channels * I + I) + (I * I + I) +
                            (I * m.audio_tokens * m.audio_dim + m.audio_tokens * m.audio_dim) + 2 * m.audio_dim;
  return m.layers * block + embeddings + audio_proj;
}

void resolution_size(Resolution resolution, int* height, int* width) {
  *height = resolution == Resolution::p720 ? 720 : 480;
  *width = resolution == Resolution::p720 ? 1280 : 832;
}

int chunk_count(std::int64_t frames) {
  if (frames <= kChunkFrames) return 1;
  const std::int64_t fresh = kChunkFrames - kMotionFrames;
  return static_cast<int>(1 + (frames - kChunkFrames + fresh - 1) / fresh);
}

Workload describe_workload(double duration_seconds, const QualitySettings& settings, Resolution resolution,
                           const ModelDims& m, std::optional<FrameSize> frame) {
  if (!std::isfinite(duration_seconds) || duration_seconds <= 0)
    fail(ErrorCode::invalid_argument, "duration {} s: expected a speech length > 0 seconds", duration_seconds);
  if (duration_seconds > 24 * 3600)
    fail(ErrorCode::invalid_argument, "duration {} s is over a day of video; plan shorter jobs", duration_seconds);
  if (settings.steps < 1)
    fail(ErrorCode::invalid_argument, "{} sampling steps: expected at least 1", settings.steps);
  Workload w;
  PlanWorkload& s = w.summary;
  if (frame) {
    if (frame->width < 16 || frame->height < 16 || frame->width % 16 || frame->height % 16)
      fail(ErrorCode::invalid_argument, "frame size {}x{}: expected positive multiples of 16 (the model's bucket "
           "sizes, e.g. 640x640)", frame->width, frame->height);
    s.width = frame->width;
    s.height = frame->height;
  } else {
    resolution_size(resolution, &s.height, &s.width);
  }
  s.frames = std::max<std::int64_t>(1, std::llround(duration_seconds * kFps));
  s.chunks = chunk_count(s.frames);
  s.tokens = dit_tokens(m, kChunkFrames, s.height, s.width);  // every chunk samples a full 81-frame window
  s.steps = settings.steps;
  s.forwards_per_step = settings.forwards_per_step();
  s.forwards = static_cast<std::int64_t>(s.chunks) * s.steps * s.forwards_per_step;
  w.latent_frames = 1 + (kChunkFrames - 1) / m.vae_stride_t;
  w.flops = dit_forward_flops(m, static_cast<double>(s.tokens), w.latent_frames);
  s.tflop_per_forward = w.flops.total() / 1e12;
  s.dit_params_billion = dit_parameters(m) / 1e9;
  w.pixels_per_frame = static_cast<double>(s.height) * s.width;
  return w;
}

}  // namespace talkgen::planner
