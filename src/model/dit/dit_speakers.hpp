// Two speakers in one video: which audio each video token listens to (InfiniteTalk / MultiTalk's
// SingleStreamMutiAttention with human_num = 2, get_attn_map_with_target, RotaryPositionalEmbedding1D).
//
// The reference does not mask the audio cross-attention per person. It places everything on a 1-D
// "speaker axis" and lets RoPE's relative-position decay do the routing:
//   * ref_target_masks [M, H, W] (person 1, person 2[, background]) are cut to the patch grid (nearest)
//     and mark tokens of the reference frame (latent frame 0).
//   * Every block's self-attention (its normed, RoPE'd q and k, model dtype) gives a speaker map: for each
//     video token and mask m, the mean over heads of its softmax attention to the reference-frame tokens,
//     summed over mask m's tokens and divided by their count -> [B, L, M].
//   * Person 1's column is min-max normalised over all L tokens into [0, 4], person 2's into [20, 24];
//     each token takes the value of its argmax column (the background column means position 12).
//   * The audio cross-attention rotates each token's query by that position (1-D RoPE, interleaved pairs)
//     and the audio keys by their person's band centre (2 for person 1's tokens, 22 for person 2's); then
//     each token attends to both persons' audio tokens of its latent frame, unmasked.
// With one speaker (human_num = 1) none of this runs: the map is computed and discarded by the reference,
// and skipped here.
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

#include "model/layers/attention.hpp"

namespace talkgen::model::dit {

/// The reference's SingleStreamMutiAttention constants (class_range 24, class_interval 4).
inline constexpr double kSpeakerClassRange = 24.0;
inline constexpr double kSpeakerClassInterval = 4.0;
/// Speakers the reference's multi-person attention handles (human_num is 1 or 2).
inline constexpr int64_t kMaxSpeakers = 2;

/// The per-person token masks of one forward: built once per forward, shared by all blocks.
struct SpeakerRouting {
  int64_t speakers = 2;
  /// [M, h * w] 0/1 float32 over the patch grid of one latent frame: persons first, then the background
  /// (M = speakers + 1), or the persons only (M = speakers).
  at::Tensor masks;
  /// [M] float32, tokens per mask (every row has at least one).
  at::Tensor counts;

  /// From the reference's ref_target_masks [M, H_m, W_m] (any resolution; non-zero = inside), cut to the
  /// h x w patch grid the way F.interpolate(mode='nearest') does, then binarised (> 0). Throws
  /// Error(invalid_argument) when M is not speakers or speakers + 1, or when a person's mask covers no
  /// token of the grid (the reference would divide by zero). An empty background row is dropped (the
  /// reference's map would be NaN there and send every token to the neutral position).
  static SpeakerRouting from_masks(const at::Tensor& ref_target_masks, int64_t speakers, int64_t h, int64_t w,
                                   const at::Device& device);
  /// Rows of masks (M).
  int64_t rows() const { return masks.size(0); }
};

/// The speaker map from self-attention queries and reference-frame keys: q [B, H, Lq, D] and
/// k_ref [B, H, h*w, D] (model dtype, the reference's q/k after norm and RoPE) -> [B, Lq, H, M] float32:
/// per head, each query's softmax attention to the reference tokens averaged over each mask. Runs as one
/// attention whose values are the masks, through the same kernel as the self-attention.
/// `attention`: the kernel preference of the self-attention (DitRuntimeOptions::attention).
at::Tensor speaker_map_per_head(const at::Tensor& q, const at::Tensor& k_ref, const SpeakerRouting& routing,
                                layers::AttentionBackend attention = layers::default_attention_backend());

/// Mean over the heads the reference averages ([B, L, H, M] -> [B, L, M]): it splits the heads into two
/// halves of H/2 and averages the halves' means, so with odd H the last head is left out.
at::Tensor speaker_map_mean(const at::Tensor& per_head);

/// Per-token positions on the speaker axis from the whole sequence's map [B, L, M] (float32) -> [B, L]
/// float32: min-max over all L tokens per person (per sample), argmax over the M columns. Rounded to
/// `dtype` (the reference computes them in the model dtype: bf16 positions step by 1/8 in [16, 32)).
at::Tensor speaker_positions(const at::Tensor& map, at::ScalarType dtype);

/// Positions of one frame's audio tokens, speakers side by side (`tokens` per speaker): person p's tokens
/// at the centre of its band (2, 22) -> [speakers * tokens] float32 on `device`.
at::Tensor audio_key_positions(int64_t speakers, int64_t tokens, const at::Device& device);

/// RotaryPositionalEmbedding1D: x [..., L, H, D] rotated pairwise (x[2i], x[2i+1]) by pos * 10000^(-2i/D),
/// in float32, returned in x's dtype. `pos` float32 broadcastable to x's leading dims without the last two
/// ([B, L] or [L]).
at::Tensor rope_1d(const at::Tensor& x, const at::Tensor& pos);

}  // namespace talkgen::model::dit
