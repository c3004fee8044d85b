// The InfiniteTalk DiT: Wan2.1-I2V-14B (WanModel of wan/modules/multitalk_model.py) with the audio
// modules, in one place: its sizes (DitConfig), its runtime choices (DitRuntimeOptions), and the module
// tree from the embeddings through the blocks to the head.
//
// The module tree's names are the checkpoint keys (patch_embedding.weight, blocks.3.self_attn.q.weight,
// audio_proj.proj1.weight, head.head.weight, ...), so loading is a name lookup. Modules follow the PyTorch
// C++ frontend (an Impl with public members named as the keys, a TORCH_MODULE holder) over the shared
// layers of model/layers/modules.hpp; where a key is a number (nn.Sequential indices such as
// time_embedding.0) the member has a descriptive name and the registration shows the key.
//
// Precision follows the reference run in bf16: the big matmuls, attention and the residual stream in
// the model dtype; time embedding, modulation, the head and all norms in float32. Parameters are created
// uninitialised in the final dtype and device, so a 14B model never materialises a float32 copy.
//
// Shapes: x [B, 16, F, H, W] latents + y [B, 20, F, H, W] conditions -> patch_embedding -> tokens
// [B, L = F * H/2 * W/2, dim] -> num_layers DitBlocks -> Head -> [B, L, 2*2*16] -> unpatchify -> [B, 16, F, H, W].
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "distributed/sequence_parallel.hpp"
#include "model/dit/dit_rope.hpp"
#include "model/dit/dit_speakers.hpp"
#include "model/layers/attention.hpp"
#include "model/layers/modules.hpp"

namespace talkgen::model::dit {

using layers::LayerNorm;
using layers::Linear;
using layers::RMSNorm;

// ---------------------------------------------------------------------------------------------------------
// Sizes and runtime choices

/// Sizes of the InfiniteTalk DiT: Wan2.1-I2V-14B plus the audio modules (audio_proj, audio_cross_attn).
struct DitConfig {
  // Wan2.1 transformer (the checkpoint's config.json keys).
  int64_t dim = 5120;
  int64_t ffn_dim = 13824;
  int64_t num_heads = 40;
  int64_t num_layers = 40;
  int64_t in_dim = 36;     // 16 noisy-latent channels + 4 mask + 16 reference-latent channels
  int64_t out_dim = 16;
  int64_t freq_dim = 256;  // sinusoidal time embedding width
  int64_t text_dim = 4096; // umT5-XXL hidden size
  int64_t text_len = 512;  // the text context is zero-padded to this many tokens
  std::array<int64_t, 3> patch_size{1, 2, 2};
  double eps = 1e-6;
  // Image conditioning: CLIP ViT-H/14 penultimate tokens (fixed in the reference: 1280 wide, 257 tokens).
  int64_t clip_dim = 1280;
  int64_t clip_tokens = 257;
  // Audio conditioning (AudioProjModel defaults in the reference; wav2vec2-base: 12 layers x 768).
  int64_t audio_window = 5;      // wav2vec2 frames around each video frame
  int64_t vae_scale = 4;         // video frames per latent frame (after the first)
  int64_t audio_blocks = 12;     // wav2vec2 hidden-state layers stacked per frame
  int64_t audio_channels = 768;
  int64_t audio_intermediate_dim = 512;
  int64_t audio_output_dim = 768;  // width of the audio context tokens
  int64_t audio_context_tokens = 32;  // audio tokens per latent frame per speaker

  int64_t head_dim() const { return dim / num_heads; }
  /// Window of the audio frames that share one later latent frame: audio_window + vae_scale - 1.
  int64_t audio_window_vf() const { return audio_window + vae_scale - 1; }

  /// Wan2.1-I2V-14B + InfiniteTalk (the defaults above).
  static DitConfig wan_14b();
  /// A tiny model for tests (the same shape as tools/parity/gen_dit.py's tiny config).
  static DitConfig tiny();
  /// Reads a checkpoint's config.json ("dim", "ffn_dim", "num_heads", ...); absent keys keep the
  /// 14B defaults. Throws Error(not_found / invalid_argument).
  static DitConfig from_json_file(const std::string& path);

  /// Throws Error(invalid_argument) when the sizes cannot work (e.g. a head dim RoPE cannot split).
  void validate() const;
};

/// The forward's fast paths. Every path computes the reference's function; they differ only in how many
/// kernels and memory passes it takes (see dit_fused.hpp for the rounding notes), so one process can
/// compare them (talkgen bench dit) and a regression can be bisected without a rebuild.
struct DitSpeedOptions {
  /// Norms, modulation, gated residuals, qk RMS-norm and RoPE with fewer kernels and passes: LayerNorm
  /// straight on the model dtype, modulation and gated residual as one addcmul each (the residual in
  /// place), RMS-norm from a one-pass float32 sum of squares, RoPE as one complex multiply.
  bool fused_elementwise = true;
  /// ffn.0 + tanh-GELU as one GEMM with a GELU epilogue (at::_addmm_activation: cuBLASLt on CUDA; the CPU
  /// build of that op applies the erf GELU, so CPU tensors keep the plain path). Off by default: it saves
  /// one pass over the 906 MB FFN activation (~25 ms per 480p forward) but whether cuBLASLt's epilogue is
  /// the tanh form the model needs has not been checked on a GPU yet (bench variant "cudnn/all" reports
  /// its max difference from the other paths).
  bool gelu_in_gemm = false;
  /// The fused path's steps as single CUDA kernels where they take the tensors (dit_row_kernels.hpp:
  /// bf16 on CUDA): q/k RMS-norm + RoPE, and each residual update with the norm that follows it.
  /// Only with fused_elementwise (the kernels are that path's CUDA form); CPU and float32 models keep
  /// the libtorch forms.
  bool row_kernels = true;

  /// The default set (fused elementwise with the row kernels).
  static DitSpeedOptions fast() { return {}; }
  /// Every path on, opt-in ones included.
  static DitSpeedOptions all() { return {true, true, true}; }
  /// All paths off: the straightforward transcription of the reference.
  static DitSpeedOptions plain() { return {false, false, false}; }
  /// Parses "default" (fused + kernels), "all", "none", or a comma list of the paths to turn on: "fused"
  /// (elementwise fusion in libtorch ops), "kernels" (fused, with its CUDA row kernels), "gelu" (GELU in the
  /// GEMM epilogue); throws Error(invalid_argument).
  static DitSpeedOptions parse(std::string_view text);

  std::string describe() const;
};

/// Everything a DiT forward may do differently without changing the function it computes, set where the
/// model is built (DitModel's constructor, load_dit) and changeable between forwards. The library reads no
/// environment variable for them: an application maps its own settings with the parse functions (the CLI:
/// TALKGEN_ATTENTION with layers::parse_attention_backend, TALKGEN_DIT_FAST with DitSpeedOptions::parse).
struct DitRuntimeOptions {
  /// Preferred kernel for the attentions (model/layers/attention.hpp); the build's fastest by default.
  layers::AttentionBackend attention = layers::default_attention_backend();
  DitSpeedOptions speed;

  /// "attention cudnn, fused elementwise on, ...": for logs and benchmark reports.
  std::string describe() const;
};

// ---------------------------------------------------------------------------------------------------------
// Embeddings: time_embedding.{0,2}, time_projection.1, text_embedding.{0,2}, img_emb.proj.{0,1,3,4} (CLIP
// tokens) and audio_proj.* (InfiniteTalk).

/// sinusoidal_embedding_1d: [cos(t * f_i), sin(t * f_i)] with f_i = 10000^(-i/half), computed in
/// float64 like the reference (timesteps near 1000 need it at fp32 tolerance), returned as float32.
/// t [B] -> [B, dim].
at::Tensor sinusoidal_embedding(const at::Tensor& t, int64_t dim);

/// time_embedding (Linear, SiLU, Linear) then time_projection (SiLU, Linear to 6 * dim), in float32 as the
/// reference's autocast(float32) block.
class TimeEmbeddingImpl : public torch::nn::Module {
 public:
  TimeEmbeddingImpl(const DitConfig& config, const at::TensorOptions& options);
  /// sinusoidal embedding [B, freq_dim] -> e [B, dim] float32.
  at::Tensor forward(const at::Tensor& sinusoid) const;
  Linear fc1{nullptr}, fc2{nullptr};  // keys "0" and "2"
};
TORCH_MODULE(TimeEmbedding);

class TimeProjectionImpl : public torch::nn::Module {
 public:
  TimeProjectionImpl(const DitConfig& config, const at::TensorOptions& options);
  /// e [B, dim] -> e0 [B, 6, dim] float32: the six modulation vectors every block adds its own to.
  at::Tensor forward(const at::Tensor& e) const;
  Linear fc{nullptr};  // key "1"
};
TORCH_MODULE(TimeProjection);

/// text_embedding: Linear(text_dim, dim), tanh-GELU, Linear(dim, dim), in the model dtype.
class TextEmbeddingImpl : public torch::nn::Module {
 public:
  TextEmbeddingImpl(const DitConfig& config, const at::TensorOptions& options);
  /// [B, text_len, text_dim] -> [B, text_len, dim]
  at::Tensor forward(const at::Tensor& context) const;
  Linear fc1{nullptr}, fc2{nullptr};  // keys "0" and "2"
};
TORCH_MODULE(TextEmbedding);

/// img_emb (MLPProj): proj = LayerNorm, Linear, GELU, Linear, LayerNorm (eps 1e-5), in the model dtype
/// (the reference runs it outside any autocast block).
class ImageEmbeddingImpl : public torch::nn::Module {
 public:
  ImageEmbeddingImpl(const DitConfig& config, const at::TensorOptions& options);
  /// CLIP tokens [B, clip_tokens, clip_dim] -> [B, clip_tokens, dim]
  at::Tensor forward(const at::Tensor& clip_tokens) const;

  struct ProjImpl : torch::nn::Module {
    LayerNorm norm_in{nullptr}, norm_out{nullptr};  // keys "0" and "4"
    Linear fc1{nullptr}, fc2{nullptr};              // keys "1" and "3"
  };
  std::shared_ptr<ProjImpl> proj;
};
TORCH_MODULE(ImageEmbedding);

/// AudioProjModel: turns the wav2vec2 windows of each latent frame into audio context tokens.
/// The first latent frame sees `audio_window` frames (proj1); each later one sees the frames of its
/// vae_scale video frames, audio_window + vae_scale - 1 in all (proj1_vf). Then proj2, proj3 and a
/// LayerNorm (float32, as the reference's autocast block).
class AudioProjectionImpl : public torch::nn::Module {
 public:
  AudioProjectionImpl(const DitConfig& config, const at::TensorOptions& options);
  /// audio [N, frames, audio_window, audio_blocks, audio_channels] with frames = 1 + vae_scale * (N_t - 1)
  /// -> [N, N_t, audio_context_tokens, audio_output_dim] in the audio's dtype.
  at::Tensor forward(const at::Tensor& audio) const;

  DitConfig config;
  Linear proj1{nullptr}, proj1_vf{nullptr}, proj2{nullptr}, proj3{nullptr};
  LayerNorm norm{nullptr};
};
TORCH_MODULE(AudioProjection);

// ---------------------------------------------------------------------------------------------------------
// The three attentions of a block: video self-attention (3-D RoPE), text + image cross-attention, and the
// InfiniteTalk audio cross-attention (each latent frame attends to its own audio tokens).

/// WanSelfAttention: q, k, v, o linears; RMS-norm on q and k (over all heads); 3-D RoPE.
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(const DitConfig& config, const at::TensorOptions& options);
  /// x [B, L, dim] -> [B, L, dim]; `rope` holds the angles of the L tokens.
  at::Tensor forward(const at::Tensor& x, const RopeGrid& rope, const DitRuntimeOptions& runtime = {}) const;
  /// Sequence-parallel: x [B, s, dim] is this rank's shard of `sp` (s = sp.shard_tokens()) and `rope` its
  /// angles. q/k/v go to all L tokens of this rank's heads (all-to-all), attention runs, and the output
  /// comes back to the shard: [B, s, dim]. A collective; at world size 1 the same as forward(x, rope).
  ///
  /// With `speakers` (two-speaker forwards), also writes the speaker map of the whole sequence to
  /// `*speaker_map`: [B, L, M] float32, the same on every rank (see dit_speakers.hpp). It comes from this
  /// attention's q and the keys of latent frame 0 (the reference frame), which is why it lives here.
  at::Tensor forward(const at::Tensor& x, const RopeGrid& rope, const distributed::SequenceParallel& sp,
                     const DitRuntimeOptions& runtime = {}, const SpeakerRouting* speakers = nullptr,
                     at::Tensor* speaker_map = nullptr) const;

  int64_t num_heads;
  Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  RMSNorm norm_q{nullptr}, norm_k{nullptr};
};
TORCH_MODULE(SelfAttention);

/// WanI2VCrossAttention: queries from the video, keys/values from the text tokens and (k_img, v_img)
/// from the CLIP image tokens; the two attention outputs are summed before `o`.
class CrossAttentionImpl : public torch::nn::Module {
 public:
  CrossAttentionImpl(const DitConfig& config, const at::TensorOptions& options);
  /// x [B, L, dim]; context [B, clip_tokens + text_len, dim] (image tokens first) -> [B, L, dim].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context, const DitRuntimeOptions& runtime = {}) const;

  int64_t num_heads, clip_tokens;
  Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr}, k_img{nullptr}, v_img{nullptr};
  RMSNorm norm_q{nullptr}, norm_k{nullptr}, norm_k_img{nullptr};
};
TORCH_MODULE(CrossAttention);

/// SingleStreamMutiAttention: the tokens of latent frame i attend to the audio tokens of frame i only.
/// No qk norm (qk_norm=False in the reference), biases on q and kv. One speaker: plain attention. Two
/// speakers (audio tokens of both side by side): queries rotated by each token's speaker position and keys
/// by their person's (1-D RoPE, dit_speakers.hpp) -- pass `positions`.
class AudioCrossAttentionImpl : public torch::nn::Module {
 public:
  AudioCrossAttentionImpl(const DitConfig& config, const at::TensorOptions& options);
  /// x [B, N_t * S, dim] (S tokens per latent frame), audio [B, N_t, tokens, audio_output_dim] -> x's shape.
  /// `positions` (two speakers only): [B, N_t * S] float32 speaker positions of x's tokens; `speakers`: how
  /// many persons' tokens audio holds side by side (1 or 2).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& audio, const at::Tensor& positions = {},
                     int64_t speakers = 1,
                     layers::AttentionBackend attention = layers::default_attention_backend()) const;
  /// Sequence-parallel: x [B, s, dim] is this rank's shard of `sp`, of a sequence of latent frames of
  /// `tokens_per_frame` tokens each; each run of one frame's tokens attends to that frame's audio. The
  /// shard's padding rows come out zero. Local (no collective); at world size 1 the same as forward(x, audio).
  /// `positions`: as above, this shard's rows ([B, s]).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& audio, const distributed::SequenceParallel& sp,
                     int64_t tokens_per_frame, const at::Tensor& positions = {}, int64_t speakers = 1,
                     layers::AttentionBackend attention = layers::default_attention_backend()) const;

  int64_t num_heads;
  Linear q_linear{nullptr}, kv_linear{nullptr}, proj{nullptr};

 private:
  /// Keys and values of audio [..., speakers * tokens, C] as [..., tokens, H, D] each (k rotated by the
  /// speakers' positions when speakers > 1), in the layout the attention kernels take.
  std::pair<at::Tensor, at::Tensor> keys_values(const at::Tensor& audio, int64_t speakers) const;
  at::Tensor queries(const at::Tensor& x, const at::Tensor& positions) const;  // [B, L, H, D]
};
TORCH_MODULE(AudioCrossAttention);

// ---------------------------------------------------------------------------------------------------------
// The block

/// What every block of one forward reads besides x, built once per forward (DitModel::forward_embedded).
/// x [B, s, dim] and `rope` are this rank's shard of `sp` (all L tokens at world size 1), a sequence of
/// latent frames of `tokens_per_frame` tokens. Only the self-attention talks to the other ranks.
struct BlockContext {
  at::Tensor time;     ///< e0 [B, 6, dim] float32: the time projection each block's modulation is added to
  RopeGrid rope;       ///< RoPE angles of this rank's tokens
  at::Tensor context;  ///< [B, clip_tokens + text_len, dim] image then text tokens
  at::Tensor audio;    ///< [B, N_t, speakers * audio_context_tokens, audio_output_dim]
  const distributed::SequenceParallel& sp;
  int64_t tokens_per_frame;
  /// The per-person masks of a two-speaker forward (audio then holds both persons' tokens side by side);
  /// null for one speaker.
  const SpeakerRouting* speakers = nullptr;
  DitRuntimeOptions runtime;
};

/// ffn: ffn.0 (dim -> ffn_dim), tanh-GELU, ffn.2 (ffn_dim -> dim): the indices of the reference's nn.Sequential.
class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(int64_t dim, int64_t hidden, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& x, const DitSpeedOptions& speed = {}) const;
  Linear fc1{nullptr}, fc2{nullptr};  // keys "0" and "2"
};
TORCH_MODULE(FeedForward);

/// WanAttentionBlock with the InfiniteTalk audio cross-attention: blocks.N.* of the checkpoint.
///
///   x += self_attn(norm1(x) * (1 + scale_msa) + shift_msa) * gate_msa     (modulation: float32)
///   x += cross_attn(norm3(x), text + image context)
///   x += audio_cross_attn(norm_x(x), audio tokens of each latent frame)
///        (two speakers: routed by the speaker map of this block's self-attention, dit_speakers.hpp)
///   x += ffn(norm2(x) * (1 + scale_mlp) + shift_mlp) * gate_mlp           (modulation: float32)
///
/// Two transcriptions of the same block (DitSpeedOptions::fused_elementwise): the plain one, step by step
/// as the reference, and the fused one (dit_fused.hpp), which adds the residuals into x in place.
class DitBlockImpl : public torch::nn::Module {
 public:
  DitBlockImpl(const DitConfig& config, const at::TensorOptions& options);
  /// x [B, s, dim] in the model dtype -> the same shape; x itself is left alone.
  at::Tensor forward(const at::Tensor& x, const BlockContext& ctx) const;
  /// The same, updating x in place where ctx.runtime.speed allows (the fused path adds the residuals into
  /// x): for callers that own x and do not need its old value. Returns the new x (x itself, or a new tensor).
  at::Tensor forward_in_place(at::Tensor& x, const BlockContext& ctx) const;

  LayerNorm norm1{nullptr}, norm2{nullptr};  // no parameters (elementwise_affine=False): no keys
  SelfAttention self_attn{nullptr};
  LayerNorm norm3{nullptr};
  CrossAttention cross_attn{nullptr};
  FeedForward ffn{nullptr};
  at::Tensor modulation;  // [1, 6, dim]
  AudioCrossAttention audio_cross_attn{nullptr};
  LayerNorm norm_x{nullptr};

 private:
  /// e: the six float32 modulation vectors (shift, scale, gate of the attention, then of the FFN).
  at::Tensor forward_plain(const at::Tensor& x, const std::vector<at::Tensor>& e, const BlockContext& ctx) const;
  void forward_fused_(at::Tensor& x, const std::vector<at::Tensor>& e, const BlockContext& ctx) const;
  /// Self-attention, plus this shard's speaker positions ([B, s] float32) when ctx.speakers is set.
  std::pair<at::Tensor, at::Tensor> self_attention(const at::Tensor& h, const BlockContext& ctx) const;
};
TORCH_MODULE(DitBlock);

// ---------------------------------------------------------------------------------------------------------
// Patch embedding, head and the model

/// patch_embedding: Conv3d(in_dim, dim, kernel = stride = patch_size) on [x, y] -> [B, dim, F, H/2, W/2].
class PatchEmbeddingImpl : public torch::nn::Module {
 public:
  PatchEmbeddingImpl(const DitConfig& config, const at::TensorOptions& options);
  at::Tensor forward(const at::Tensor& xy) const;
  std::array<int64_t, 3> patch_size;
  at::Tensor weight, bias;
};
TORCH_MODULE(PatchEmbedding);

/// Head: norm (no parameters), then float32 modulation by the time embedding and the output linear
/// `head` (dim -> patch volume * out_dim), as the reference's autocast(float32) block. Keys head.head.*,
/// head.modulation.
class HeadImpl : public torch::nn::Module {
 public:
  HeadImpl(const DitConfig& config, const at::TensorOptions& options);
  /// x [B, s, dim] model dtype, e [B, dim] float32 -> [B, s, patch volume * out_dim] float32.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& e) const;
  LayerNorm norm{nullptr};
  Linear head{nullptr};
  at::Tensor modulation;  // [1, 2, dim]
};
TORCH_MODULE(Head);

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

/// The whole DiT. Held by std::shared_ptr (the pipeline and the loaders share one), so a plain module
/// rather than a TORCH_MODULE holder.
class DitModel : public torch::nn::Module {
 public:
  /// Parameters are allocated uninitialised with `options` (dtype + device); load or randomize them.
  /// `runtime`: the attention kernel and fast paths of the forwards (changeable with set_runtime_options).
  DitModel(const DitConfig& config, const at::TensorOptions& options, const DitRuntimeOptions& runtime = {});

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

  /// The attention kernel and fast paths the forwards take (the constructor's until set). Not thread-safe
  /// against a forward running at the same time.
  void set_runtime_options(const DitRuntimeOptions& runtime) { runtime_ = runtime; }
  const DitRuntimeOptions& runtime_options() const { return runtime_; }
  const DitSpeedOptions& speed_options() const { return runtime_.speed; }

  const DitConfig& config() const { return config_; }
  at::ScalarType dtype() const { return dtype_; }
  at::Device device() const { return patch_embedding->weight.device(); }

  // The checkpoint's top-level keys, in the reference's registration order.
  PatchEmbedding patch_embedding{nullptr};
  TextEmbedding text_embedding{nullptr};
  TimeEmbedding time_embedding{nullptr};
  TimeProjection time_projection{nullptr};
  torch::nn::ModuleList blocks{nullptr};  // of DitBlock
  Head head{nullptr};
  ImageEmbedding img_emb{nullptr};
  AudioProjection audio_proj{nullptr};

 private:
  DitConfig config_;
  at::ScalarType dtype_;
  DitRuntimeOptions runtime_;
  Rope3d rope_;
};

/// Fills every parameter with reproducible random values (a Generator seeded with `seed`, drawn on the
/// CPU in float32 one tensor at a time, so results do not depend on the device): weights ~ N(0, 1/fan_in),
/// norm weights ~ 1 + N(0, 0.2^2), biases ~ N(0, 0.1^2). For tests and benchmarks.
void randomize_parameters(torch::nn::Module& module, uint64_t seed);

}  // namespace talkgen::model::dit
