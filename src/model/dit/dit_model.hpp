// The InfiniteTalk DiT: Wan2.1-I2V-14B (WanModel of wan/modules/multitalk_model.py) with the audio
// modules. The module tree's names are the checkpoint keys (patch_embedding.weight,
// blocks.3.self_attn.q.weight, audio_proj.proj1.weight, ...), so loading is a name lookup.
//
// Precision follows the reference run in bf16: the big matmuls, attention and the residual stream in
// the model dtype; time embedding, modulation, the head and all norms in float32.
#pragma once

#include <memory>
#include <optional>

#include <torch/nn/modules/container/modulelist.h>

#include "model/dit/dit_block.hpp"
#include "model/dit/dit_embeddings.hpp"

namespace talkgen::model::dit {

/// One DiT forward's inputs (the reference's x, t, context, clip_fea, y, audio).
struct DitInputs {
  at::Tensor x;         ///< [B, out_dim, F, H, W] the noisy latent (F latent frames, H/W latent pixels)
  at::Tensor t;         ///< [B] timesteps (0..1000, float)
  at::Tensor context;   ///< [B, Lt <= text_len, text_dim] umT5 states (zero-padded to text_len inside)
  at::Tensor clip_fea;  ///< [B, clip_tokens, clip_dim] CLIP image tokens
  at::Tensor y;         ///< [B, in_dim - out_dim, F, H, W] mask + reference-image latent
  /// [B, speakers, frames, audio_window, audio_blocks, audio_channels] wav2vec2 windows, with
  /// frames = 1 + vae_scale * (F - 1); speakers 1 or 2 (the reference's human_num; its audio batch axis).
  at::Tensor audio;
  /// Two speakers only (ignored for one, as the reference ignores it): [M, H_m, W_m] with M = 3 (person 1,
  /// person 2, background = neither) or 2 (the persons only); non-zero = inside. The reference's
  /// ref_target_masks: boxes drawn on the input image, resized and centre-cropped like it, then cut to
  /// the latent size (nearest); any H_m x W_m is cut to the patch grid here (nearest, as the reference).
  /// Shared by the batch. See dit_speakers.hpp for what the masks do.
  at::Tensor ref_target_masks;
};

/// The conditions that stay fixed across the sampling steps of one chunk, embedded once.
struct DitConditions {
  at::Tensor context;  ///< [B, clip_tokens + text_len, dim] image tokens then text tokens
  at::Tensor audio;    ///< [B, N_t, speakers * audio_context_tokens, audio_output_dim]
  at::Tensor ref_target_masks;  ///< DitInputs::ref_target_masks as given (two speakers only)

  /// Speakers whose audio tokens `audio` holds side by side.
  int64_t speakers(int64_t audio_context_tokens) const { return audio.size(2) / audio_context_tokens; }
};

class DitModel : public torch::nn::Module {
 public:
  /// Parameters are allocated uninitialised with `options` (dtype + device); load or randomize them.
  DitModel(const DitConfig& config, const at::TensorOptions& options);

  /// The whole forward: embed the conditions, then `forward_embedded`. Returns float32
  /// [B, out_dim, F, H, W] (the reference's `torch.stack(x).float()`).
  ///
  /// With `comm`, the ranks of `comm` share the video tokens (Ulysses sequence parallelism, see
  /// distributed/sequence_parallel.hpp): every rank must call this with the same inputs, and every rank
  /// returns the whole output. Without, one device runs everything.
  at::Tensor forward(const DitInputs& inputs, Communicator* comm = nullptr) const;

  /// Text, image and audio embeddings of `inputs` (only context, clip_fea, audio and ref_target_masks, which
  /// is passed through, are read).
  DitConditions embed_conditions(const DitInputs& inputs) const;
  /// The forward for conditions embedded earlier: x, t and y are read from `inputs`.
  /// `comm`: as forward's (every rank passes the same conditions).
  at::Tensor forward_embedded(const DitInputs& inputs, const DitConditions& conditions,
                              Communicator* comm = nullptr) const;

  /// Throws Error(invalid_argument) naming the tensor whose shape does not fit the config.
  void check_inputs(const DitInputs& inputs) const;

  /// The fast paths the forward takes (DitSpeedOptions::from_env() until set). Not thread-safe against a
  /// forward running at the same time.
  void set_speed_options(const DitSpeedOptions& speed) { speed_ = speed; }
  const DitSpeedOptions& speed_options() const { return speed_; }

  const DitConfig& config() const { return config_; }
  at::ScalarType dtype() const { return dtype_; }
  at::Device device() const { return patch_embedding_weight_.device(); }

 private:
  DitConfig config_;
  at::ScalarType dtype_;
  DitSpeedOptions speed_ = DitSpeedOptions::from_env();
  Rope3d rope_;
  at::Tensor patch_embedding_weight_, patch_embedding_bias_;
  std::shared_ptr<TextEmbedding> text_embedding_;
  std::shared_ptr<TimeEmbedding> time_embedding_;
  std::shared_ptr<TimeProjection> time_projection_;
  torch::nn::ModuleList blocks_;
  std::shared_ptr<torch::nn::Module> head_;
  std::shared_ptr<Linear> head_linear_;
  at::Tensor head_modulation_;
  std::shared_ptr<ImageEmbedding> img_emb_;
  std::shared_ptr<AudioProjection> audio_proj_;
};

/// Fills every parameter with reproducible random values (a Generator seeded with `seed`, drawn on the
/// CPU in float32 one tensor at a time, so results do not depend on the device): weights ~ N(0, 1/fan_in),
/// norm weights ~ 1 + N(0, 0.2^2), biases ~ N(0, 0.1^2). For tests and benchmarks.
void randomize_parameters(torch::nn::Module& module, uint64_t seed);

}  // namespace talkgen::model::dit
