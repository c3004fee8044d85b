#include "pipeline/model_loader.hpp"

#include <filesystem>

#include "model/dit/dit_checkpoint.hpp"
#include "model/umt5/encoder.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::pipeline {
namespace fs = std::filesystem;

namespace {

constexpr const char* kT5Checkpoint = "models_t5_umt5-xxl-enc-bf16.pth";
constexpr const char* kT5Tokenizer = "google/umt5-xxl";
constexpr const char* kVaeCheckpoint = "Wan2.1_VAE.pth";
constexpr const char* kClipCheckpoint = "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth";

std::string need(const fs::path& p, const char* what) {
  if (!fs::exists(p))
    fail(ErrorCode::not_found, "{} not found at '{}'; see the model layout in the README (talkgen generate --help)",
         what, p.string());
  return p.string();
}

}  // namespace

ModelPaths ModelPaths::from_model_dir(const std::string& dir, bool multi_person) {
  const fs::path root(dir);
  need(root, "the model folder");
  ModelPaths p;
  p.wan_dir = need(root / "Wan2.1-I2V-14B-480P", "the Wan2.1-I2V-14B-480P folder");
  p.wav2vec2_dir = need(root / "chinese-wav2vec2-base", "the chinese-wav2vec2-base folder");
  p.infinitetalk = need(root / "InfiniteTalk" / (multi_person ? "multi" : "single") / "infinitetalk.safetensors",
                        multi_person ? "InfiniteTalk's multi-person weights" : "InfiniteTalk's weights");
  // The lightx2v step-distillation LoRA that the draft/balanced profiles run: merged when the folder has it
  // (where InfiniteTalk's README downloads it, or at the top), so the default profile works out of the box.
  for (const fs::path& lora : {root / kLightx2vLoraFolder / kLightx2vLoraFile, root / kLightx2vLoraFile}) {
    if (fs::is_regular_file(lora)) {
      p.lora = {lora.string(), 1.0};
      p.lora_kind = DistillLora::lightx2v;
      break;
    }
  }
  return p;
}

PipelineModels load_models(const ModelPaths& paths, const ModelLoadOptions& options) {
  const fs::path wan(paths.wan_dir);
  // All paths first: nothing heavy is read before every file is known to exist.
  const std::string config = need(wan / "config.json", "the DiT config");
  const std::string t5 = need(wan / kT5Checkpoint, "the umT5 checkpoint");
  const std::string tokenizer = need(wan / kT5Tokenizer, "the umT5 tokenizer folder");
  const std::string vae = need(wan / kVaeCheckpoint, "the VAE checkpoint");
  const std::string clip = need(wan / kClipCheckpoint, "the CLIP checkpoint");
  need(paths.wav2vec2_dir, "the wav2vec2 folder");
  need(paths.infinitetalk, "InfiniteTalk's weights");
  if (!paths.lora.path.empty()) need(paths.lora.path, "the LoRA file");

  PipelineModels m;
  m.lora = paths.lora.path.empty() ? DistillLora::none : paths.lora_kind;
  m.name = "InfiniteTalk-14B";
  log_info("loading the umT5 tokenizer and text encoder");
  m.tokenizer = std::make_shared<model::umt5::Tokenizer>(model::umt5::Tokenizer::open(tokenizer, 512));
  model::io::LoadOptions t5_options;
  t5_options.dtype = options.dtype;
  t5_options.device = options.device;
  m.text_encoder = model::umt5::load_encoder(t5, t5_options);

  log_info("loading the CLIP vision encoder");
  model::clip::ClipVisionOptions clip_options;
  clip_options.device = options.device;
  clip_options.dtype = options.clip_dtype;
  m.clip = std::make_shared<model::clip::ClipVisionEncoder>(
      model::clip::ClipVisionEncoder::load(clip, model::clip::ClipVisionConfig::vit_h_14(), clip_options));

  log_info("loading the VAE");
  model::vae::VaeLoadOptions vae_options;
  vae_options.dtype = options.vae_dtype;
  vae_options.device = options.device;
  m.vae = model::vae::load_wan_vae(vae, vae_options);

  log_info("loading wav2vec2");
  model::wav2vec2::AudioEncoderOptions audio_options;
  audio_options.device = options.device;
  audio_options.dtype = options.vae_dtype;
  m.audio_encoder = std::make_shared<model::wav2vec2::AudioEncoder>(
      model::wav2vec2::AudioEncoder::load(paths.wav2vec2_dir, audio_options));

  log_info("loading the DiT (this takes a while)");
  model::dit::DitCheckpointPaths dit_paths;
  dit_paths.base = paths.wan_dir;
  dit_paths.infinitetalk = paths.infinitetalk;
  if (!paths.lora.path.empty()) dit_paths.loras.push_back(paths.lora);
  m.dit = model::dit::load_dit(model::dit::DitConfig::from_json_file(config), dit_paths, options.dtype,
                               options.device);
  return m;
}

}  // namespace talkgen::pipeline
