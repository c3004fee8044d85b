#include "model/dit/dit_config.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

#include "talkgen/error.hpp"

namespace talkgen::model::dit {

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

}  // namespace talkgen::model::dit
