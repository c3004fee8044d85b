#include "pipeline/demo_model.hpp"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include "pipeline/demo_tokenizer.hpp"

namespace talkgen::pipeline {

const char* const kDemoModelName = "demo (untrained, random weights)";

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

model::wav2vec2::Wav2Vec2Config demo_wav2vec2() {
  model::wav2vec2::Wav2Vec2Config c;
  c.hidden_size = 16;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 32;
  c.conv_dim = {16, 16, 16, 16};
  c.conv_kernel = {10, 3, 3, 3};
  c.conv_stride = {5, 4, 4, 4};  // 320 samples per feature frame, as wav2vec2-base
  c.num_conv_pos_embeddings = 16;
  c.num_conv_pos_embedding_groups = 4;
  c.validate("the demo wav2vec2 config");
  return c;
}

model::clip::ClipVisionConfig demo_clip() {
  model::clip::ClipVisionConfig c;
  c.image_size = 32;
  c.patch_size = 2;  // 16 x 16 patches + the class token = 257 tokens, what the DiT expects
  c.dim = 32;
  c.num_heads = 2;
  c.num_layers = 2;
  c.validate();
  return c;
}

model::dit::DitConfig demo_dit(int64_t text_dim, int64_t clip_dim, int64_t audio_blocks, int64_t audio_channels) {
  model::dit::DitConfig c = model::dit::DitConfig::tiny();
  c.text_dim = text_dim;
  c.text_len = 512;  // the prompts are tokenized to umT5's 512 tokens
  c.clip_dim = clip_dim;
  c.audio_blocks = audio_blocks;
  c.audio_channels = audio_channels;
  c.validate();
  return c;
}

}  // namespace

void randomize_module(torch::nn::Module& module, uint64_t seed) {
  at::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto cpu = at::TensorOptions().dtype(at::kFloat);
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    at::Tensor& p = item.value();
    at::Tensor value;
    const bool norm_scale =
        (name.find("norm") != std::string::npos && ends_with(name, "weight")) || ends_with(name, "gamma");
    if (p.dim() >= 2 && !norm_scale) {
      value = at::randn(p.sizes(), gen, cpu) / std::sqrt(static_cast<double>(p[0].numel()));
    } else if (norm_scale) {
      value = 1.0 + 0.2 * at::randn(p.sizes(), gen, cpu);
    } else {
      value = 0.1 * at::randn(p.sizes(), gen, cpu);
    }
    p.copy_(value);
  }
}

PipelineModels make_demo_models(const at::Device& device, uint64_t seed) {
  PipelineModels m;
  m.name = kDemoModelName;
  m.untrained = true;
  m.bucket_divisor = 8;

  auto wav2vec2 = std::make_shared<model::wav2vec2::Wav2Vec2Model>(demo_wav2vec2());
  randomize_module(*wav2vec2, seed + 1);
  wav2vec2->to(device);
  m.audio_encoder = std::make_shared<model::wav2vec2::AudioEncoder>(wav2vec2, /*normalize_input=*/true);

  auto vit = std::make_shared<model::clip::VisionTransformer>(demo_clip());
  randomize_module(*vit, seed + 2);
  vit->to(device);
  m.clip = std::make_shared<model::clip::ClipVisionEncoder>(vit);

  m.tokenizer = make_demo_tokenizer();
  model::umt5::EncoderConfig t5;
  t5.vocab = m.tokenizer->vocab_size();
  t5.dim = 32;
  t5.dim_attn = 32;
  t5.dim_ffn = 64;
  t5.num_heads = 2;
  t5.num_layers = 2;
  t5.validate();
  m.text_encoder = model::umt5::Encoder(t5, at::TensorOptions().dtype(at::kFloat).device(device));
  randomize_module(*m.text_encoder, seed + 3);

  model::vae::VaeConfig vae_config = model::vae::VaeConfig::wan21();
  vae_config.dim = 4;
  m.vae = std::make_shared<model::vae::WanVae>(vae_config, model::vae::LatentScale::wan21());
  randomize_module(*m.vae, seed + 4);
  m.vae->to(device);

  const auto dit_config = demo_dit(t5.dim, demo_clip().dim, demo_wav2vec2().num_hidden_layers,
                                   demo_wav2vec2().hidden_size);
  m.dit = std::make_shared<model::dit::DitModel>(dit_config, at::TensorOptions().dtype(at::kFloat).device(device));
  randomize_module(*m.dit, seed + 5);
  return m;
}

}  // namespace talkgen::pipeline
