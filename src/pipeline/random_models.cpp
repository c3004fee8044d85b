#include "pipeline/random_models.hpp"

#include <cmath>

#include <ATen/core/grad_mode.h>

#include "pipeline/demo_model.hpp"
#include "pipeline/demo_tokenizer.hpp"
#include "model/layers/random_fill.hpp"
#include "talkgen/error.hpp"

namespace talkgen::pipeline {
namespace {

using model::layers::fill_random_on_device;

// load_models() reads CLIP in float16 but keeps every LayerNorm in float32 (clip::checkpoint_key_options).
void cast_except_norms(torch::nn::Module& module, at::ScalarType dtype) {
  at::NoGradGuard no_grad;
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    if (item.key().find("norm") != std::string::npos) continue;
    item.value().set_data(item.value().to(dtype));
  }
}

PipelineModels make_14b_models(const RandomModelOptions& o) {
  PipelineModels m;
  m.name = "InfiniteTalk-14B (random weights)";
  m.untrained = true;
  m.bucket_divisor = 1;
  const bool on_cpu = o.device.is_cpu();

  auto wav2vec2 = std::make_shared<model::wav2vec2::Wav2Vec2Model>(model::wav2vec2::Wav2Vec2Config{});
  wav2vec2->to(o.device);  // float32, as the reference runs it
  fill_random_on_device(*wav2vec2);
  m.audio_encoder = std::make_shared<model::wav2vec2::AudioEncoder>(wav2vec2, /*normalize_input=*/true);

  auto vit = std::make_shared<model::clip::VisionTransformer>(model::clip::ClipVisionConfig::vit_h_14());
  vit->to(o.device);
  fill_random_on_device(*vit);
  if (!on_cpu) cast_except_norms(*vit, at::kHalf);  // the reference's CLIP dtype; CPUs lack fast float16
  m.clip = std::make_shared<model::clip::ClipVisionEncoder>(vit);

  m.tokenizer = make_demo_tokenizer();  // ids < 110 index the real 256,384-row table: same work per token
  m.text_encoder = model::umt5::Encoder(model::umt5::EncoderConfig::umt5_xxl(),
                                        at::TensorOptions().dtype(o.dtype).device(o.text_encoder_device));
  fill_random_on_device(*m.text_encoder);

  m.vae = std::make_shared<model::vae::WanVae>(model::vae::VaeConfig::wan21(), model::vae::LatentScale::wan21());
  m.vae->to(o.device);
  fill_random_on_device(*m.vae);

  m.dit = std::make_shared<model::dit::DitModel>(model::dit::DitConfig::wan_14b(),
                                                 at::TensorOptions().dtype(o.dtype).device(o.device));
  fill_random_on_device(*m.dit);
  return m;
}

}  // namespace

PipelineModels make_random_models(const RandomModelOptions& o) {
  if (o.dtype != at::kBFloat16 && o.dtype != at::kHalf && o.dtype != at::kFloat)
    fail(ErrorCode::invalid_argument, "random models: dtype {} is not one of bfloat16, float16, float32",
         c10::toString(o.dtype));
  if (o.preset == "demo") {
    PipelineModels m = make_demo_models(o.device, o.seed);
    if (o.text_encoder_device != o.device) m.text_encoder->to(o.text_encoder_device);
    return m;
  }
  if (o.preset == "14b") return make_14b_models(o);
  fail(ErrorCode::invalid_argument, "random models: unknown preset '{}'; expected '14b' (the real sizes) or "
       "'demo' (tiny)", o.preset);
}

}  // namespace talkgen::pipeline
