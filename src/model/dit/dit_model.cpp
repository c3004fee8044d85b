#include "model/dit/dit_model.hpp"

#include <cmath>
#include <fstream>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "model/dit/dit_fused.hpp"
#include "model/dit/dit_profile.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::dit {

using layers::LayerNormOptions;
using layers::LinearOptions;
using layers::RMSNormOptions;

namespace {
constexpr double kTorchLayerNormEps = 1e-5;  // nn.LayerNorm's default, used by img_emb and audio_proj
}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Sizes and runtime choices

DitConfig DitConfig::wan_14b() { return DitConfig{}; }

DitConfig DitConfig::tiny() {
  DitConfig c;
  c.dim = 64;
  c.ffn_dim = 128;
  c.num_heads = 2;
  c.num_layers = 2;
  c.freq_dim = 32;
  c.text_dim = 32;
  c.text_len = 16;
  c.clip_dim = 32;
  c.audio_blocks = 2;
  c.audio_channels = 8;
  c.audio_intermediate_dim = 16;
  c.audio_output_dim = 16;
  c.audio_context_tokens = 4;
  return c;
}

namespace {

template <typename T>
void read_key(const nlohmann::json& j, const char* key, T& out, const std::string& path) {
  if (!j.contains(key)) return;
  try {
    out = j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::invalid_argument, "DiT config '{}': key '{}' has the wrong type ({}); expected a number",
         path, key, e.what());
  }
}

}  // namespace

DitConfig DitConfig::from_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorCode::not_found, "DiT config '{}' cannot be opened; expected the checkpoint's config.json", path);
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::invalid_argument, "DiT config '{}' is not valid JSON: {}", path, e.what());
  }
  if (!j.is_object()) fail(ErrorCode::invalid_argument, "DiT config '{}' must hold a JSON object", path);
  if (j.contains("model_type") && j["model_type"] != "i2v")
    fail(ErrorCode::unsupported, "DiT config '{}' has model_type {}; InfiniteTalk needs the i2v model", path,
         j["model_type"].dump());
  DitConfig c;
  read_key(j, "dim", c.dim, path);
  read_key(j, "ffn_dim", c.ffn_dim, path);
  read_key(j, "num_heads", c.num_heads, path);
  read_key(j, "num_layers", c.num_layers, path);
  read_key(j, "in_dim", c.in_dim, path);
  read_key(j, "out_dim", c.out_dim, path);
  read_key(j, "freq_dim", c.freq_dim, path);
  read_key(j, "text_dim", c.text_dim, path);
  read_key(j, "text_len", c.text_len, path);
  read_key(j, "patch_size", c.patch_size, path);
  read_key(j, "eps", c.eps, path);
  // The audio keys are WanModel constructor arguments of the reference; the real config.json omits them.
  read_key(j, "audio_window", c.audio_window, path);
  read_key(j, "vae_scale", c.vae_scale, path);
  read_key(j, "intermediate_dim", c.audio_intermediate_dim, path);
  read_key(j, "output_dim", c.audio_output_dim, path);
  read_key(j, "context_tokens", c.audio_context_tokens, path);
  // Hard-coded in the reference; written by tools/parity/gen_dit.py for its shrunken test models.
  read_key(j, "clip_dim", c.clip_dim, path);
  read_key(j, "audio_blocks", c.audio_blocks, path);
  read_key(j, "audio_channels", c.audio_channels, path);
  c.validate();
  return c;
}

void DitConfig::validate() const {
  const auto positive = {dim, ffn_dim, num_heads, num_layers, in_dim, out_dim, freq_dim, text_dim, text_len,
                         clip_dim, clip_tokens, audio_window, vae_scale, audio_blocks, audio_channels,
                         audio_intermediate_dim, audio_output_dim, audio_context_tokens,
                         patch_size[0], patch_size[1], patch_size[2]};
  for (int64_t v : positive)
    if (v <= 0) fail(ErrorCode::invalid_argument, "DiT config: every size must be positive, found {}", v);
  if (dim % num_heads != 0)
    fail(ErrorCode::invalid_argument, "DiT config: dim {} is not a multiple of num_heads {}", dim, num_heads);
  const int64_t d = head_dim();
  // 3-D RoPE splits the head dim into d - 4*(d/6) (time) and 2*(d/6) (height, width), each even.
  if (d % 2 != 0 || d < 6)
    fail(ErrorCode::invalid_argument, "DiT config: head dim {} (dim {} / {} heads) must be even and >= 6 for RoPE",
         d, dim, num_heads);
  if (freq_dim % 2 != 0) fail(ErrorCode::invalid_argument, "DiT config: freq_dim {} must be even", freq_dim);
  if (vae_scale < 2)
    fail(ErrorCode::invalid_argument, "DiT config: vae_scale {} must be >= 2 (first/middle/last audio frames)",
         vae_scale);
  if (in_dim <= out_dim)
    fail(ErrorCode::invalid_argument, "DiT config: in_dim {} must exceed out_dim {} (latent + condition channels)",
         in_dim, out_dim);
}

DitSpeedOptions DitSpeedOptions::parse(std::string_view text) {
  if (text == "default" || text.empty()) return fast();
  if (text == "all") return all();
  if (text == "none") return plain();
  DitSpeedOptions o = plain();
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const auto item = text.substr(start, end - start);
    if (item == "fused") {
      o.fused_elementwise = true;
    } else if (item == "kernels") {
      o.fused_elementwise = true;
      o.row_kernels = true;
    } else if (item == "gelu") {
      o.gelu_in_gemm = true;
    } else {
      fail(ErrorCode::invalid_argument,
           "DiT speed option '{}' in '{}' not understood; expected default, all, none or a comma list of "
           "fused, kernels, gelu", item,
           text);
    }
    start = end + 1;
  }
  return o;
}

std::string DitSpeedOptions::describe() const {
  return fmt::format("fused elementwise {}, row kernels {}, GELU in GEMM {}", fused_elementwise ? "on" : "off",
                     fused_elementwise && row_kernels ? "on (CUDA bf16)" : "off", gelu_in_gemm ? "on" : "off");
}

std::string DitRuntimeOptions::describe() const {
  return fmt::format("attention {}, {}", layers::to_string(attention), speed.describe());
}

// ---------------------------------------------------------------------------------------------------------
// Embeddings

at::Tensor sinusoidal_embedding(const at::Tensor& t, int64_t dim) {
  const int64_t half = dim / 2;
  const auto position = t.to(at::kDouble).reshape({-1});
  const auto freqs = at::pow(10000.0, -at::arange(half, position.options()) / static_cast<double>(half));
  const auto s = at::outer(position, freqs);
  return at::cat({at::cos(s), at::sin(s)}, 1).to(at::kFloat);
}

TimeEmbeddingImpl::TimeEmbeddingImpl(const DitConfig& c, const at::TensorOptions& o) {
  fc1 = register_module("0", Linear(LinearOptions(c.freq_dim, c.dim).tensor_options(o)));
  fc2 = register_module("2", Linear(LinearOptions(c.dim, c.dim).tensor_options(o)));
}

at::Tensor TimeEmbeddingImpl::forward(const at::Tensor& sinusoid) const {
  return fc2->forward_fp32(at::silu(fc1->forward_fp32(sinusoid)));
}

TimeProjectionImpl::TimeProjectionImpl(const DitConfig& c, const at::TensorOptions& o) {
  fc = register_module("1", Linear(LinearOptions(c.dim, 6 * c.dim).tensor_options(o)));
}

at::Tensor TimeProjectionImpl::forward(const at::Tensor& e) const {
  return fc->forward_fp32(at::silu(e)).unflatten(1, {6, e.size(1)});
}

TextEmbeddingImpl::TextEmbeddingImpl(const DitConfig& c, const at::TensorOptions& o) {
  fc1 = register_module("0", Linear(LinearOptions(c.text_dim, c.dim).tensor_options(o)));
  fc2 = register_module("2", Linear(LinearOptions(c.dim, c.dim).tensor_options(o)));
}

at::Tensor TextEmbeddingImpl::forward(const at::Tensor& context) const {
  return fc2->forward(at::gelu(fc1->forward(context), "tanh"));
}

ImageEmbeddingImpl::ImageEmbeddingImpl(const DitConfig& c, const at::TensorOptions& o) {
  proj = register_module("proj", std::make_shared<ProjImpl>());
  // nn.LayerNorm in the model dtype (the reference runs img_emb outside any autocast block).
  const auto norm = [&](int64_t dim) {
    return LayerNorm(LayerNormOptions(dim).eps(kTorchLayerNormEps).float32(false).tensor_options(o));
  };
  proj->norm_in = proj->register_module("0", norm(c.clip_dim));
  proj->fc1 = proj->register_module("1", Linear(LinearOptions(c.clip_dim, c.clip_dim).tensor_options(o)));
  proj->fc2 = proj->register_module("3", Linear(LinearOptions(c.clip_dim, c.dim).tensor_options(o)));
  proj->norm_out = proj->register_module("4", norm(c.dim));
}

at::Tensor ImageEmbeddingImpl::forward(const at::Tensor& clip) const {
  const auto x = proj->fc2->forward(at::gelu(proj->fc1->forward(proj->norm_in->forward(clip))));
  return proj->norm_out->forward(x);
}

AudioProjectionImpl::AudioProjectionImpl(const DitConfig& c, const at::TensorOptions& o) : config(c) {
  const int64_t per_frame = c.audio_blocks * c.audio_channels;
  const auto linear = [&](int64_t in, int64_t out) { return Linear(LinearOptions(in, out).tensor_options(o)); };
  proj1 = register_module("proj1", linear(c.audio_window * per_frame, c.audio_intermediate_dim));
  proj1_vf = register_module("proj1_vf", linear(c.audio_window_vf() * per_frame, c.audio_intermediate_dim));
  proj2 = register_module("proj2", linear(c.audio_intermediate_dim, c.audio_intermediate_dim));
  proj3 = register_module("proj3", linear(c.audio_intermediate_dim, c.audio_context_tokens * c.audio_output_dim));
  // nn.LayerNorm, run in float32 by the reference's autocast block.
  norm = register_module("norm",
                         LayerNorm(LayerNormOptions(c.audio_output_dim).eps(kTorchLayerNormEps).tensor_options(o)));
}

at::Tensor AudioProjectionImpl::forward(const at::Tensor& audio) const {
  const int64_t scale = config.vae_scale, mid = config.audio_window / 2;
  const int64_t later = (audio.size(1) - 1) / scale;  // latent frames after the first
  // The first video frame's whole window.
  const auto first = audio.slice(1, 0, 1).flatten(2);  // [n, 1, window * blocks * channels]
  // Each later latent frame covers `scale` video frames: the first of them contributes the left half of
  // its window (up to the centre), the middle ones their centre frame, the last the right half.
  const auto groups = audio.slice(1, 1).unflatten(1, {later, scale});  // [n, later, scale, window, b, c]
  const auto head = groups.select(2, 0).slice(2, 0, mid + 1);
  const auto middle = groups.slice(2, 1, scale - 1).select(3, mid);
  const auto tail = groups.select(2, scale - 1).slice(2, mid);
  const auto rest = at::cat({head, middle, tail}, 2).flatten(2);  // [n, later, window_vf * b * c]

  const auto a = at::relu(proj1->forward(first));
  const auto b = at::relu(proj1_vf->forward(rest));
  const auto h = at::relu(proj2->forward(at::cat({a, b}, 1)));
  const auto tokens = proj3->forward(h).unflatten(-1, {config.audio_context_tokens, config.audio_output_dim});
  return norm->forward(tokens);
}

// ---------------------------------------------------------------------------------------------------------
// Attentions

namespace {

// [B, L, H*D] -> [B, H, L, D] (a view: SDPA takes strided inputs).
at::Tensor heads_first(const at::Tensor& x, int64_t heads) {
  return x.unflatten(-1, {heads, x.size(-1) / heads}).transpose(1, 2);
}

// [B, H, L, D] -> [B, L, H*D]
at::Tensor heads_merged(const at::Tensor& x) { return x.transpose(1, 2).flatten(2); }

Linear square_linear(const DitConfig& c, const at::TensorOptions& opts) {
  return Linear(LinearOptions(c.dim, c.dim).tensor_options(opts));
}

// WanRMSNorm over all heads (q and k norms).
RMSNorm qk_norm(const DitConfig& c, const at::TensorOptions& opts) {
  return RMSNorm(RMSNormOptions(c.dim).eps(c.eps).tensor_options(opts));
}

}  // namespace

SelfAttentionImpl::SelfAttentionImpl(const DitConfig& c, const at::TensorOptions& opts) : num_heads(c.num_heads) {
  q = register_module("q", square_linear(c, opts));
  k = register_module("k", square_linear(c, opts));
  v = register_module("v", square_linear(c, opts));
  o = register_module("o", square_linear(c, opts));
  norm_q = register_module("norm_q", qk_norm(c, opts));
  norm_k = register_module("norm_k", qk_norm(c, opts));
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x, const RopeGrid& rope,
                                      const DitRuntimeOptions& runtime) const {
  return forward(x, rope, distributed::SequenceParallel(x.size(1)), runtime);
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x, const RopeGrid& rope,
                                      const distributed::SequenceParallel& sp, const DitRuntimeOptions& runtime,
                                      const SpeakerRouting* speakers, at::Tensor* speaker_map) const {
  const auto& speed = runtime.speed;
  const auto dtype = x.scalar_type();
  const double eps = norm_q->options.eps();
  const auto split = [&](const at::Tensor& t) { return t.unflatten(-1, {num_heads, t.size(-1) / num_heads}); };
  const auto qx = q->forward(x), kx = k->forward(x);
  const auto vh = split(v->forward(x));
  profile_phase(vh, "self_attn q/k/v GEMMs");
  // RoPE runs in float32 (as the reference); attention then runs in the model dtype, like the
  // reference's flash_attention, which casts q and k back to v's dtype. Each [B, s, H, D].
  at::Tensor qh, kh;
  if (speed.fused_elementwise) {
    qh = qk_norm_rope(qx, norm_q->weight, eps, &rope, num_heads, speed.row_kernels);
    kh = qk_norm_rope(kx, norm_k->weight, eps, &rope, num_heads, speed.row_kernels);
  } else {
    qh = apply_rope(split(norm_q->forward(qx)), rope).to(dtype);
    kh = apply_rope(split(norm_k->forward(kx)), rope).to(dtype);
  }
  profile_phase(kh, "self_attn qk norm + RoPE");
  const int64_t ref_tokens = speakers ? speakers->masks.size(1) : 0;  // latent frame 0's tokens
  if (sp.world() == 1) {
    if (speakers) {
      *speaker_map = speaker_map_mean(speaker_map_per_head(
          qh.transpose(1, 2), kh.narrow(1, 0, ref_tokens).transpose(1, 2), *speakers, runtime.attention));
      profile_phase(*speaker_map, "self_attn speaker map");
    }
    const auto out = layers::attention(qh.transpose(1, 2), kh.transpose(1, 2), vh.transpose(1, 2), std::nullopt,
                                       std::nullopt, runtime.attention);
    profile_phase(out, "self_attn attention");
    auto y = o->forward(heads_merged(out));
    profile_phase(y, "self_attn o GEMM");
    return y;
  }
  // Ulysses: one all-to-all moves q, k and v to [3, B, L, H_loc, D] (all tokens, this rank's heads);
  // the attention of a head needs every token, nothing else does.
  const auto qkv = distributed::all_to_all_seq_to_heads(at::stack({qh, kh, vh}), sp, /*seq_dim=*/2, /*head_dim=*/3)
                       .transpose(2, 3);  // [3, B, H_loc, L, D]
  if (speakers) {
    // Each rank maps its heads over all L tokens; the per-head maps go back to the token shards (small:
    // M values per head and token), are averaged over all heads there, and gathered so that every rank
    // normalises over the same whole sequence (the reference all-gathers the keys and the min/max).
    const auto per_head =
        speaker_map_per_head(qkv[0], qkv[1].narrow(2, 0, ref_tokens), *speakers, runtime.attention);
    const auto shard = distributed::all_to_all_heads_to_seq(per_head.contiguous(), sp, num_heads);  // [B, s, H, M]
    *speaker_map = distributed::gather_sequence(speaker_map_mean(shard), sp);
    profile_phase(*speaker_map, "self_attn speaker map (with all-to-all)");
  }
  const auto out = layers::attention(qkv[0], qkv[1], qkv[2], std::nullopt, std::nullopt, runtime.attention)
                       .transpose(1, 2);  // [B, L, H_loc, D]
  profile_phase(out, "self_attn attention (with all-to-all)");
  auto y = o->forward(distributed::all_to_all_heads_to_seq(out, sp, num_heads).flatten(2));
  profile_phase(y, "self_attn o GEMM (with all-to-all)");
  return y;
}

CrossAttentionImpl::CrossAttentionImpl(const DitConfig& c, const at::TensorOptions& opts)
    : num_heads(c.num_heads), clip_tokens(c.clip_tokens) {
  q = register_module("q", square_linear(c, opts));
  k = register_module("k", square_linear(c, opts));
  v = register_module("v", square_linear(c, opts));
  o = register_module("o", square_linear(c, opts));
  norm_q = register_module("norm_q", qk_norm(c, opts));
  norm_k = register_module("norm_k", qk_norm(c, opts));
  k_img = register_module("k_img", square_linear(c, opts));
  v_img = register_module("v_img", square_linear(c, opts));
  norm_k_img = register_module("norm_k_img", qk_norm(c, opts));
}

at::Tensor CrossAttentionImpl::forward(const at::Tensor& x, const at::Tensor& context,
                                       const DitRuntimeOptions& runtime) const {
  const auto& speed = runtime.speed;
  const auto image = context.slice(1, 0, clip_tokens);
  const auto text = context.slice(1, clip_tokens);
  const auto qx = q->forward(x);
  const auto qh = speed.fused_elementwise ? qk_norm_rope(qx, norm_q->weight, norm_q->options.eps(), nullptr,
                                                         num_heads, speed.row_kernels)
                                                .transpose(1, 2)
                                          : heads_first(norm_q->forward(qx), num_heads);
  const auto kh = heads_first(norm_k->forward(k->forward(text)), num_heads);
  const auto vh = heads_first(v->forward(text), num_heads);
  const auto k_image = heads_first(norm_k_img->forward(k_img->forward(image)), num_heads);
  const auto v_image = heads_first(v_img->forward(image), num_heads);
  auto out = heads_merged(layers::attention(qh, kh, vh, std::nullopt, std::nullopt, runtime.attention));
  const auto image_out =
      heads_merged(layers::attention(qh, k_image, v_image, std::nullopt, std::nullopt, runtime.attention));
  // The sum into the text attention's own output on the fused path (no third [L, dim] tensor).
  out = speed.fused_elementwise ? out.add_(image_out) : out + image_out;
  return o->forward(out);
}

AudioCrossAttentionImpl::AudioCrossAttentionImpl(const DitConfig& c, const at::TensorOptions& opts)
    : num_heads(c.num_heads) {
  q_linear = register_module("q_linear", square_linear(c, opts));
  kv_linear = register_module("kv_linear", Linear(LinearOptions(c.audio_output_dim, 2 * c.dim).tensor_options(opts)));
  proj = register_module("proj", square_linear(c, opts));
}

std::pair<at::Tensor, at::Tensor> AudioCrossAttentionImpl::keys_values(const at::Tensor& audio,
                                                                       int64_t speakers) const {
  const int64_t dim = q_linear->options.out_features();
  const auto kv = kv_linear->forward(audio).unflatten(-1, {2, num_heads, dim / num_heads});
  // k and v copied out of the packed [.., 2, H, D] rows into the [B, L, H, D] memory layout the cuDNN
  // kernel takes (7 MB at 480p).
  auto k = kv.select(-3, 0).contiguous();
  if (speakers > 1) k = rope_1d(k, audio_key_positions(speakers, audio.size(-2) / speakers, audio.device()));
  return {k, kv.select(-3, 1).contiguous()};
}

at::Tensor AudioCrossAttentionImpl::queries(const at::Tensor& x, const at::Tensor& positions) const {
  const auto q = q_linear->forward(x).unflatten(-1, {num_heads, x.size(-1) / num_heads});
  return positions.defined() ? rope_1d(q, positions) : q;
}

at::Tensor AudioCrossAttentionImpl::forward(const at::Tensor& x, const at::Tensor& audio, const at::Tensor& positions,
                                            int64_t speakers, layers::AttentionBackend attention) const {
  const int64_t batch = x.size(0), frames = audio.size(1), dim = x.size(2);
  // One attention problem per (batch, latent frame): [B * N_t, S, dim] against [B * N_t, tokens, C_a].
  // Two speakers: the queries are rotated per token before the split into frames.
  const auto q = queries(x, positions).reshape({batch * frames, -1, num_heads, dim / num_heads}).transpose(1, 2);
  const auto [k, v] = keys_values(audio.flatten(0, 1), speakers);
  const auto out = layers::attention(q, k.transpose(1, 2), v.transpose(1, 2), std::nullopt, std::nullopt, attention);
  return proj->forward(heads_merged(out)).reshape({batch, -1, dim});
}

at::Tensor AudioCrossAttentionImpl::forward(const at::Tensor& x, const at::Tensor& audio,
                                            const distributed::SequenceParallel& sp, int64_t tokens_per_frame,
                                            const at::Tensor& positions, int64_t speakers,
                                            layers::AttentionBackend attention) const {
  if (sp.world() == 1) return forward(x, audio, positions, speakers, attention);  // whole frames: the batched path
  // A shard starts and ends mid-frame, so it cannot be reshaped into frames: attend each run of one
  // frame's tokens to that frame's audio. The runs cover the shard's real tokens [0, valid) in order.
  const auto segments = distributed::shard_frame_segments(sp, tokens_per_frame);
  if (segments.empty()) return at::zeros_like(x);  // a shard of padding only
  const auto q = queries(x, positions);  // [B, s, H, D]
  std::vector<at::Tensor> outs;
  outs.reserve(segments.size());
  for (const auto& seg : segments) {
    const auto [k, v] = keys_values(audio.select(1, seg.frame), speakers);
    outs.push_back(layers::attention(q.narrow(1, seg.begin, seg.length).transpose(1, 2), k.transpose(1, 2),
                                     v.transpose(1, 2), std::nullopt, std::nullopt, attention));
  }
  const auto real = proj->forward(heads_merged(at::cat(outs, 2)));  // [B, valid, dim]
  // Padding rows stay zero (proj's bias would otherwise land there).
  return at::constant_pad_nd(real, {0, 0, 0, x.size(1) - real.size(1)});
}

// ---------------------------------------------------------------------------------------------------------
// The block

FeedForwardImpl::FeedForwardImpl(int64_t dim, int64_t hidden, const at::TensorOptions& opts) {
  fc1 = register_module("0", Linear(LinearOptions(dim, hidden).tensor_options(opts)));
  fc2 = register_module("2", Linear(LinearOptions(hidden, dim).tensor_options(opts)));
}

at::Tensor FeedForwardImpl::forward(const at::Tensor& x, const DitSpeedOptions& speed) const {
  if (speed.gelu_in_gemm) return fc2->forward(linear_gelu(*fc1, x));
  // In place on the fused path: the same values without a second 906 MB activation at 480p.
  if (speed.fused_elementwise) {
    auto h = fc1->forward(x);
    at::gelu_(h, "tanh");
    return fc2->forward(h);
  }
  return fc2->forward(at::gelu(fc1->forward(x), "tanh"));
}

DitBlockImpl::DitBlockImpl(const DitConfig& c, const at::TensorOptions& opts) {
  // WanLayerNorm: float32 statistics; norm1/norm2 without parameters, norm3 and norm_x with them.
  const auto norm = [&](bool affine) {
    return LayerNorm(LayerNormOptions(c.dim).eps(c.eps).elementwise_affine(affine).tensor_options(opts));
  };
  // Registration order follows the reference's __init__ (it only matters for listings).
  norm1 = register_module("norm1", norm(false));
  self_attn = register_module("self_attn", SelfAttention(c, opts));
  norm3 = register_module("norm3", norm(true));
  cross_attn = register_module("cross_attn", CrossAttention(c, opts));
  norm2 = register_module("norm2", norm(false));
  ffn = register_module("ffn", FeedForward(c.dim, c.ffn_dim, opts));
  modulation = register_parameter("modulation", at::empty({1, 6, c.dim}, opts), /*requires_grad=*/false);
  audio_cross_attn = register_module("audio_cross_attn", AudioCrossAttention(c, opts));
  norm_x = register_module("norm_x", norm(true));
}

at::Tensor DitBlockImpl::forward(const at::Tensor& x_in, const BlockContext& ctx) const {
  // The caller keeps x_in: the fused path needs a copy it may update.
  auto x = ctx.runtime.speed.fused_elementwise ? x_in.clone(at::MemoryFormat::Contiguous) : x_in;
  return forward_in_place(x, ctx);
}

at::Tensor DitBlockImpl::forward_in_place(at::Tensor& x, const BlockContext& ctx) const {
  // The reference adds the (model-dtype) modulation to the float32 time projection under
  // autocast(float32): shift/scale/gate stay float32 and so do the modulated sums below.
  const auto e = (modulation.to(at::kFloat) + ctx.time).chunk(6, 1);  // each [B, 1, dim]
  if (ctx.runtime.speed.fused_elementwise) {
    forward_fused_(x, e, ctx);
  } else {
    x = forward_plain(x, e, ctx);
  }
  return x;
}

std::pair<at::Tensor, at::Tensor> DitBlockImpl::self_attention(const at::Tensor& h, const BlockContext& ctx) const {
  if (!ctx.speakers) return {self_attn->forward(h, ctx.rope, ctx.sp, ctx.runtime), at::Tensor()};
  at::Tensor map;  // [B, L, M], the whole sequence on every rank
  auto y = self_attn->forward(h, ctx.rope, ctx.sp, ctx.runtime, ctx.speakers, &map);
  // Positions from the whole sequence (the same min/max on every rank), then this shard's rows.
  auto positions = distributed::split_sequence(speaker_positions(map, h.scalar_type()), ctx.sp);
  return {y, positions};
}

// The reference's block line by line: every float32 step a separate pass.
at::Tensor DitBlockImpl::forward_plain(const at::Tensor& x_in, const std::vector<at::Tensor>& e,
                                       const BlockContext& ctx) const {
  const auto dtype = x_in.scalar_type();
  const int64_t speakers = ctx.speakers ? ctx.speakers->speakers : 1;
  auto x = x_in;
  // norm1 returns the model dtype (WanLayerNorm casts back), then the modulation runs in float32.
  auto h = (norm1->forward(x).to(at::kFloat) * (1 + e[1]) + e[0]).to(dtype);
  profile_phase(h, "norm + modulation");
  const auto [y, positions] = self_attention(h, ctx);
  x = (x.to(at::kFloat) + y * e[2]).to(dtype);
  profile_phase(x, "gated residual");

  x = x + cross_attn->forward(norm3->forward(x), ctx.context, ctx.runtime);
  profile_phase(x, "cross_attn (norm3, text + image)");
  x = x + audio_cross_attn->forward(norm_x->forward(x), ctx.audio, ctx.sp, ctx.tokens_per_frame, positions, speakers,
                                    ctx.runtime.attention);
  profile_phase(x, "audio_cross_attn (norm_x)");

  h = (norm2->forward(x).to(at::kFloat) * (1 + e[4]) + e[3]).to(dtype);
  profile_phase(h, "norm + modulation");
  const auto f = ffn->forward(h, ctx.runtime.speed);
  profile_phase(f, "ffn");
  x = (x.to(at::kFloat) + f * e[5]).to(dtype);
  profile_phase(x, "gated residual");
  return x;
}

// The same steps with the fused forms of dit_fused.hpp; the residual stream x is updated in place, and
// each residual update runs together with the norm that reads its result (one CUDA kernel each where
// the row kernels take x).
void DitBlockImpl::forward_fused_(at::Tensor& x, const std::vector<at::Tensor>& e, const BlockContext& ctx) const {
  const bool kernels = ctx.runtime.speed.row_kernels;
  const int64_t speakers = ctx.speakers ? ctx.speakers->speakers : 1;
  const double eps = norm1->options.eps();
  auto h = residual_then_norm(x, {}, {}, RowNorm::modulated(e[1] + 1, e[0], eps), kernels);
  profile_phase(h, "norm + modulation");
  at::Tensor positions;
  {  // y dies here, before the cross-attentions and the FFN allocate (peak memory)
    auto [y, pos] = self_attention(h, ctx);
    h = residual_then_norm(x, y, e[2], RowNorm::affine(norm3->weight, norm3->bias, eps), kernels);
    positions = pos;
  }
  profile_phase(h, "gated residual + norm3");

  const auto c = cross_attn->forward(h, ctx.context, ctx.runtime);
  profile_phase(c, "cross_attn (text + image)");
  h = residual_then_norm(x, c, {}, RowNorm::affine(norm_x->weight, norm_x->bias, eps), kernels);
  profile_phase(h, "residual + norm_x");
  const auto a = audio_cross_attn->forward(h, ctx.audio, ctx.sp, ctx.tokens_per_frame, positions, speakers,
                                           ctx.runtime.attention);
  profile_phase(a, "audio_cross_attn");

  h = residual_then_norm(x, a, {}, RowNorm::modulated(e[4] + 1, e[3], eps), kernels);
  profile_phase(h, "residual + norm + modulation");
  const auto f = ffn->forward(h, ctx.runtime.speed);
  profile_phase(f, "ffn");
  residual_then_norm(x, f, e[5], RowNorm{}, kernels);
  profile_phase(x, "gated residual");
}

// ---------------------------------------------------------------------------------------------------------
// Patch embedding, head and the model

PatchEmbeddingImpl::PatchEmbeddingImpl(const DitConfig& c, const at::TensorOptions& opts) : patch_size(c.patch_size) {
  const auto& p = c.patch_size;
  weight = register_parameter("weight", at::empty({c.dim, c.in_dim, p[0], p[1], p[2]}, opts), /*requires_grad=*/false);
  bias = register_parameter("bias", at::empty({c.dim}, opts), /*requires_grad=*/false);
}

at::Tensor PatchEmbeddingImpl::forward(const at::Tensor& xy) const {
  const auto& p = patch_size;
  return at::conv3d(xy, weight, bias, {p[0], p[1], p[2]});
}

HeadImpl::HeadImpl(const DitConfig& c, const at::TensorOptions& opts) {
  const auto& p = c.patch_size;
  norm = register_module("norm", LayerNorm(LayerNormOptions(c.dim).eps(c.eps).elementwise_affine(false)));
  head = register_module("head", Linear(LinearOptions(c.dim, p[0] * p[1] * p[2] * c.out_dim).tensor_options(opts)));
  modulation = register_parameter("modulation", at::empty({1, 2, c.dim}, opts), /*requires_grad=*/false);
}

at::Tensor HeadImpl::forward(const at::Tensor& x, const at::Tensor& e) const {
  const auto he = (modulation.to(at::kFloat) + e.unsqueeze(1)).chunk(2, 1);  // shift, scale: [B, 1, dim]
  return head->forward_fp32(norm->forward(x).to(at::kFloat) * (1 + he[1]) + he[0]);
}

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

DitModel::DitModel(const DitConfig& c, const at::TensorOptions& o, const DitRuntimeOptions& runtime)
    : config_((c.validate(), c)), dtype_(at::typeMetaToScalarType(o.dtype())), runtime_(runtime), rope_(c.head_dim()) {
  patch_embedding = register_module("patch_embedding", PatchEmbedding(c, o));
  text_embedding = register_module("text_embedding", TextEmbedding(c, o));
  time_embedding = register_module("time_embedding", TimeEmbedding(c, o));
  time_projection = register_module("time_projection", TimeProjection(c, o));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i) blocks->push_back(DitBlock(c, o));
  head = register_module("head", Head(c, o));
  img_emb = register_module("img_emb", ImageEmbedding(c, o));
  audio_proj = register_module("audio_proj", AudioProjection(c, o));
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
  const auto context = at::cat({img_emb->forward(in.clip_fea.to(device(), dtype_)), text_embedding->forward(text)}, 1);

  const auto& a = in.audio;
  const int64_t batch = a.size(0), speakers = a.size(1);
  auto tokens = audio_proj->forward(a.to(device(), dtype_).flatten(0, 1));  // [B*P, N_t, tokens, C]
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
  auto x = patch_embedding->forward(xy);
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
  const auto e = time_embedding->forward(sinusoidal_embedding(in.t.to(device()), c.freq_dim));
  const auto e0 = time_projection->forward(e);

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
  const BlockContext ctx{e0, rope, cond.context, cond.audio, sp, h * w, routing ? &*routing : nullptr, runtime_};
  // x is this forward's own tensor: the blocks may update it in place.
  for (const auto& block : *blocks) x = block->as<DitBlockImpl>()->forward_in_place(x, ctx);

  const auto out = distributed::gather_sequence(head->forward(x, e), sp);

  // Unpatchify: [B, f*h*w, p0*p1*p2*C] -> [B, C, f*p0, h*p1, w*p2].
  const int64_t batch = out.size(0);
  auto video = out.view({batch, f, h, w, p[0], p[1], p[2], c.out_dim})
                   .permute({0, 7, 1, 4, 2, 5, 3, 6})
                   .reshape({batch, c.out_dim, f * p[0], h * p[1], w * p[2]});
  profile_phase(video, "head");
  return video;
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void randomize_parameters(torch::nn::Module& module, uint64_t seed) {
  at::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    at::Tensor& p = item.value();
    const auto cpu = at::TensorOptions().dtype(at::kFloat);
    at::Tensor value;
    if (ends_with(name, "modulation")) {  // [1, n, dim], scaled as the reference initialises it
      value = at::randn(p.sizes(), gen, cpu) / std::sqrt(static_cast<double>(p.size(-1)));
    } else if (p.dim() >= 2) {
      value = at::randn(p.sizes(), gen, cpu) / std::sqrt(static_cast<double>(p[0].numel()));
    } else if (name.find("norm") != std::string::npos && ends_with(name, "weight")) {
      value = 1.0 + 0.2 * at::randn(p.sizes(), gen, cpu);
    } else {
      value = 0.1 * at::randn(p.sizes(), gen, cpu);
    }
    p.copy_(value);
  }
}

}  // namespace talkgen::model::dit
