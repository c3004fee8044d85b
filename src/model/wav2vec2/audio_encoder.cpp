#include "model/wav2vec2/audio_encoder.hpp"

#include <filesystem>

#include "model/io/load_module.hpp"
#include "model/io/tensor_source.hpp"
#include "model/wav2vec2/checkpoint.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::model::wav2vec2 {

AudioEncoder AudioEncoder::load(const std::string& model_dir, const AudioEncoderOptions& options) {
  if (!std::filesystem::is_directory(model_dir)) {
    fail(ErrorCode::not_found, "wav2vec2 model folder '{}' does not exist; expected the Hugging Face "
         "chinese-wav2vec2-base folder (config.json + model.safetensors or pytorch_model.bin)", model_dir);
  }
  const auto config = Wav2Vec2Config::load((std::filesystem::path(model_dir) / "config.json").string());
  const bool normalize_input = read_do_normalize(model_dir);
  const auto source = io::open_checkpoint(find_weights_file(model_dir));
  auto model = std::make_shared<Wav2Vec2Model>(config);
  auto load_options = checkpoint_key_options(*source);
  load_options.dtype = options.dtype;
  load_options.device = options.device;
  io::load_strict(*model, *source, load_options);
  log_debug("wav2vec2: loaded {} ({} layers, hidden {})", source->describe(), config.num_hidden_layers,
            config.hidden_size);
  return AudioEncoder(std::move(model), normalize_input);
}

AudioEncoder::AudioEncoder(std::shared_ptr<Wav2Vec2Model> model, bool normalize_input)
    : model_(std::move(model)), normalize_input_(normalize_input) {
  if (!model_) fail(ErrorCode::internal, "AudioEncoder built without a model");
}

int64_t AudioEncoder::frame_count(int64_t num_samples) {
  // The reference: audio_duration = len / sr; video_length = audio_duration * 25; int(video_length).
  const double seconds = static_cast<double>(num_samples) / static_cast<double>(kSampleRate);
  return static_cast<int64_t>(seconds * kVideoFps);
}

at::Tensor AudioEncoder::normalize(const at::Tensor& samples) {
  // Statistics in float64 (numpy reduces float32 with pairwise sums; both are within float32 rounding
  // of the exact value); population variance as numpy's var().
  const auto x = samples.to(at::kDouble);
  const auto mean = x.mean();
  const auto var = (x - mean).pow(2).mean();
  return ((x - mean) / at::sqrt(var + 1e-7)).to(at::kFloat);
}

at::Tensor AudioEncoder::embed(const std::vector<float>& samples) const {
  const auto t = at::from_blob(const_cast<float*>(samples.data()), {static_cast<int64_t>(samples.size())},
                               at::TensorOptions().dtype(at::kFloat));
  return embed(t);
}

at::Tensor AudioEncoder::embed(const at::Tensor& samples) const {
  if (samples.dim() != 1 || !at::isFloatingType(samples.scalar_type())) {
    fail(ErrorCode::invalid_argument, "audio embedding expects a 1-D float tensor of 16 kHz mono samples, found a "
         "{}-D {} tensor", samples.dim(), c10::toString(samples.scalar_type()));
  }
  const auto& c = model_->config;
  const int64_t n = samples.numel();
  const int64_t frames = frame_count(n);
  const int64_t min_samples = std::max<int64_t>(kSampleRate / static_cast<int64_t>(kVideoFps), c.receptive_field());
  if (frames < 1 || c.conv_output_length(n) < 1) {
    fail(ErrorCode::invalid_argument, "audio is {} samples ({:.3f} s at 16 kHz); the audio encoder needs at least "
         "{} samples (one video frame at 25 fps); pass a longer clip", n, static_cast<double>(n) / kSampleRate,
         min_samples);
  }
  if (!at::isfinite(samples).all().item<bool>()) {
    fail(ErrorCode::invalid_argument, "audio contains NaN or infinite samples; decode it again or clean it first");
  }

  at::NoGradGuard no_grad;
  const auto& param = model_->feature_projection->projection->weight;
  auto wave = normalize_input_ ? normalize(samples) : samples.to(at::kFloat);
  wave = wave.to(param.device(), param.scalar_type()).unsqueeze(0);  // [1, N]

  auto features = model_->feature_extractor->forward(wave);  // [1, C_conv, T] at ~50 Hz
  // Resample to one feature per video frame (F.interpolate linear, align_corners=True), before the
  // transformer: the reference's linear_interpolation(features, seq_len).
  features = at::upsample_linear1d(features, {frames}, /*align_corners=*/true).transpose(1, 2);  // [1, F, C_conv]
  const auto hidden = model_->feature_projection->forward(features);
  const auto layers = model_->encoder->forward(hidden);  // L x [1, F, H]
  return at::stack(layers, 1).squeeze(0).transpose(0, 1).to(at::kFloat).contiguous();  // [F, L, H]
}

}  // namespace talkgen::model::wav2vec2
