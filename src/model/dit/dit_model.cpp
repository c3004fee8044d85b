#include "model/dit/dit_model.hpp"

#include <ATen/core/grad_mode.h>

#include "model/dit/dit_profile.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::dit {
namespace {

std::string shape_text(at::IntArrayRef s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

void expect_dims(const at::Tensor& t, const char* name, int64_t dims, const char* layout) {
  if (!t.defined()) fail(ErrorCode::invalid_argument, "DiT input '{}' is missing; expected {}", name, layout);
  if (t.dim() != dims)
    fail(ErrorCode::invalid_argument, "DiT input '{}' has shape {}; expected {}", name, shape_text(t.sizes()), layout);
  if (!at::isFloatingType(t.scalar_type()))
    fail(ErrorCode::invalid_argument, "DiT input '{}' has dtype {}; expected a floating-point tensor", name,
         c10::toString(t.scalar_type()));
}

void expect_size(const at::Tensor& t, const char* name, int64_t dim, int64_t want, const char* what) {
  if (t.size(dim) != want)
    fail(ErrorCode::invalid_argument, "DiT input '{}' has shape {}: dimension {} ({}) must be {}", name,
         shape_text(t.sizes()), dim, what, want);
}

}  // namespace

DitModel::DitModel(const DitConfig& c, const at::TensorOptions& o)
    : config_((c.validate(), c)), dtype_(at::typeMetaToScalarType(o.dtype())), rope_(c.head_dim()) {
  const auto& p = c.patch_size;
  patch_embedding_weight_ = at::empty({c.dim, c.in_dim, p[0], p[1], p[2]}, o);
  patch_embedding_bias_ = at::empty({c.dim}, o);
  auto patch = register_module("patch_embedding", std::make_shared<torch::nn::Module>());
  patch_embedding_weight_ = patch->register_parameter("weight", patch_embedding_weight_, false);
  patch_embedding_bias_ = patch->register_parameter("bias", patch_embedding_bias_, false);
  text_embedding_ = register_module("text_embedding", std::make_shared<TextEmbedding>(c, o));
  time_embedding_ = register_module("time_embedding", std::make_shared<TimeEmbedding>(c, o));
  time_projection_ = register_module("time_projection", std::make_shared<TimeProjection>(c, o));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i) blocks_->push_back(std::make_shared<DitBlock>(c, o));
  head_ = register_module("head", std::make_shared<torch::nn::Module>());
  head_linear_ = head_->register_module(
      "head", std::make_shared<Linear>(c.dim, p[0] * p[1] * p[2] * c.out_dim, o));
  head_modulation_ = head_->register_parameter("modulation", at::empty({1, 2, c.dim}, o), false);
  img_emb_ = register_module("img_emb", std::make_shared<ImageEmbedding>(c, o));
  audio_proj_ = register_module("audio_proj", std::make_shared<AudioProjection>(c, o));
}

void DitModel::check_inputs(const DitInputs& in) const {
  const auto& c = config_;
  expect_dims(in.x, "x", 5, "[B, out_dim, F, H, W]");
  const int64_t batch = in.x.size(0), frames = in.x.size(2), h = in.x.size(3), w = in.x.size(4);
  expect_size(in.x, "x", 1, c.out_dim, "latent channels");
  if (frames % c.patch_size[0] || h % c.patch_size[1] || w % c.patch_size[2])
    fail(ErrorCode::invalid_argument, "DiT input 'x' has shape {}: F, H, W must be multiples of the patch {}x{}x{}",
         shape_text(in.x.sizes()), c.patch_size[0], c.patch_size[1], c.patch_size[2]);
  expect_dims(in.y, "y", 5, "[B, in_dim - out_dim, F, H, W]");
  if (in.y.sizes() != at::IntArrayRef{batch, c.in_dim - c.out_dim, frames, h, w})
    fail(ErrorCode::invalid_argument, "DiT input 'y' has shape {}; expected {} to match x", shape_text(in.y.sizes()),
         shape_text({batch, c.in_dim - c.out_dim, frames, h, w}));
  expect_dims(in.t, "t", 1, "[B] timesteps");
  expect_size(in.t, "t", 0, batch, "batch");
  expect_dims(in.context, "context", 3, "[B, tokens, text_dim]");
  expect_size(in.context, "context", 0, batch, "batch");
  expect_size(in.context, "context", 2, c.text_dim, "text_dim");
  if (in.context.size(1) > c.text_len)
    fail(ErrorCode::invalid_argument, "DiT input 'context' has {} tokens; at most text_len = {} fit",
         in.context.size(1), c.text_len);
  expect_dims(in.clip_fea, "clip_fea", 3, "[B, clip_tokens, clip_dim]");
  expect_size(in.clip_fea, "clip_fea", 0, batch, "batch");
  expect_size(in.clip_fea, "clip_fea", 1, c.clip_tokens, "CLIP tokens");
  expect_size(in.clip_fea, "clip_fea", 2, c.clip_dim, "clip_dim");
  expect_dims(in.audio, "audio", 6, "[B, speakers, frames, audio_window, audio_blocks, audio_channels]");
  expect_size(in.audio, "audio", 0, batch, "batch");
  const int64_t speakers = in.audio.size(1);
  if (speakers < 1 || speakers > kMaxSpeakers)
    fail(ErrorCode::unsupported,
         "DiT input 'audio' has shape {}: {} speakers; InfiniteTalk supports 1 or 2 (dimension 1)",
         shape_text(in.audio.sizes()), speakers);
  if (speakers > 1) {
    // The masks' content (a person covering no patch) is checked where the patch grid is known.
    (void)SpeakerRouting::from_masks(in.ref_target_masks, speakers, h / c.patch_size[1], w / c.patch_size[2],
                                     at::kCPU);
  }
  expect_size(in.audio, "audio", 2, 1 + c.vae_scale * (frames / c.patch_size[0] - 1), "video frames = 1 + 4 * (F - 1)");
  expect_size(in.audio, "audio", 3, c.audio_window, "audio_window");
  expect_size(in.audio, "audio", 4, c.audio_blocks, "audio_blocks");
  expect_size(in.audio, "audio", 5, c.audio_channels, "audio_channels");
}

DitConditions DitModel::embed_conditions(const DitInputs& in) const {
  at::NoGradGuard no_grad;  // not InferenceMode: callers may update the outputs in place later
  const auto& c = config_;
  // Text: zero-pad to text_len, as the reference (the padding tokens are embedded and attended to).
  auto text = in.context.to(device(), dtype_);
  if (text.size(1) < c.text_len) text = at::constant_pad_nd(text, {0, 0, 0, c.text_len - text.size(1)});
  const auto context = at::cat({img_emb_->forward(in.clip_fea.to(device(), dtype_)), text_embedding_->forward(text)}, 1);

  const auto& a = in.audio;
  const int64_t batch = a.size(0), speakers = a.size(1);
  auto tokens = audio_proj_->forward(a.to(device(), dtype_).flatten(0, 1));  // [B*P, N_t, tokens, C]
  // Speakers side by side along the token axis: [B, N_t, P * tokens, C].
  tokens = tokens.unflatten(0, {batch, speakers}).transpose(1, 2).flatten(2, 3);
  return {context, tokens, in.ref_target_masks};
}

at::Tensor DitModel::forward(const DitInputs& in, Communicator* comm) const {
  check_inputs(in);
  return forward_embedded(in, embed_conditions(in), comm);
}

at::Tensor DitModel::forward_embedded(const DitInputs& in, const DitConditions& cond, Communicator* comm) const {
  at::NoGradGuard no_grad;  // not InferenceMode: callers may update the outputs in place later
  const auto& c = config_;
  const auto& p = c.patch_size;
  // Patch embedding of [x, y] (Conv3d with stride = kernel = patch) -> tokens [B, L, dim].
  const auto xy = at::cat({in.x.to(device(), dtype_), in.y.to(device(), dtype_)}, 1);
  auto x = at::conv3d(xy, patch_embedding_weight_, patch_embedding_bias_, {p[0], p[1], p[2]});
  const int64_t f = x.size(2), h = x.size(3), w = x.size(4);
  // Contiguous tokens: the blocks' elementwise kernels (and the in-place residual) stream x row by row.
  x = x.flatten(2).transpose(1, 2).contiguous();
  if (cond.context.size(0) != x.size(0) || cond.audio.size(0) != x.size(0) || cond.audio.size(1) != f)
    fail(ErrorCode::invalid_argument,
         "DiT conditions (context {}, audio {}) do not fit x {}: expected batch {} and {} latent frames of audio",
         shape_text(cond.context.sizes()), shape_text(cond.audio.sizes()), shape_text(in.x.sizes()), x.size(0), f);

  const int64_t speakers = cond.speakers(c.audio_context_tokens);
  if (cond.audio.size(2) % c.audio_context_tokens || speakers < 1 || speakers > kMaxSpeakers)
    fail(ErrorCode::invalid_argument,
         "DiT conditions: audio {} has {} tokens per frame; expected 1 or 2 speakers of {} tokens each",
         shape_text(cond.audio.sizes()), cond.audio.size(2), c.audio_context_tokens);
  // Two speakers: the per-person token masks of this grid, once for all blocks.
  std::optional<SpeakerRouting> routing;
  if (speakers > 1) routing = SpeakerRouting::from_masks(cond.ref_target_masks, speakers, h, w, device());

  // Time embedding and its 6-way projection, float32 (computed once per forward, shared by all blocks).
  const auto& te = *time_embedding_;
  const auto e = te.fc2->fp32(at::silu(te.fc1->fp32(sinusoidal_embedding(in.t.to(device()), c.freq_dim))));
  const auto e0 = time_projection_->fc->fp32(at::silu(e)).unflatten(1, {6, c.dim});

  // Sequence parallelism: from here to the head every rank holds its shard of the L tokens (and their
  // RoPE angles); only the blocks' self-attention exchanges tokens. At world size 1 these are no-ops.
  const int64_t tokens = x.size(1);
  const auto sp = comm ? distributed::SequenceParallel(*comm, tokens) : distributed::SequenceParallel(tokens);
  x = distributed::split_sequence(x, sp);
  const auto grid = rope_.grid(f, h, w, device());
  const auto [rope_cos, rope_sin] = distributed::shard_rope_positions(grid.cos, grid.sin, sp);
  const RopeGrid rope{rope_cos, rope_sin,
                      rope_cos.is_same(grid.cos) ? grid.rotation : at::complex(rope_cos, rope_sin)};
  profile_phase(x, "embeddings (patch, time)");
  // x is this forward's own tensor: the blocks may update it in place.
  for (const auto& block : *blocks_)
    x = block->as<DitBlock>()->forward_in_place(x, e0, rope, cond.context, cond.audio, sp, h * w, speed_,
                                                routing ? &*routing : nullptr);

  // Head: float32 modulation and output linear, as the reference's autocast(float32) block.
  const auto he = (head_modulation_.to(at::kFloat) + e.unsqueeze(1)).chunk(2, 1);
  const auto out = distributed::gather_sequence(
      head_linear_->fp32(wan_layer_norm(x, c.eps).to(at::kFloat) * (1 + he[1]) + he[0]), sp);

  // Unpatchify: [B, f*h*w, p0*p1*p2*C] -> [B, C, f*p0, h*p1, w*p2].
  const int64_t batch = out.size(0);
  auto video = out.view({batch, f, h, w, p[0], p[1], p[2], c.out_dim})
                   .permute({0, 7, 1, 4, 2, 5, 3, 6})
                   .reshape({batch, c.out_dim, f * p[0], h * p[1], w * p[2]});
  profile_phase(video, "head");
  return video;
}

}  // namespace talkgen::model::dit
