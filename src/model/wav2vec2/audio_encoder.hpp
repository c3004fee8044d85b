// AudioEncoder: 16 kHz speech -> InfiniteTalk's per-video-frame audio embedding.
//
// Mirrors the reference's get_embedding(): Wav2Vec2FeatureExtractor normalisation (zero mean, unit
// variance), the conv feature encoder, linear resampling of its ~50 Hz frames to the video's 25 fps
// (int(seconds * 25) frames) BEFORE the transformer, and the output of every transformer layer
// stacked as [frames, layers, hidden] (hidden_states[1:] of Hugging Face's output).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "model/wav2vec2/modules.hpp"

namespace talkgen::model::wav2vec2 {

struct AudioEncoderOptions {
  at::Device device = at::kCPU;
  /// The reference runs wav2vec2 in float32; lower precision is allowed but not parity-tested.
  at::ScalarType dtype = at::kFloat;
};

class AudioEncoder {
 public:
  static constexpr int64_t kSampleRate = 16000;
  static constexpr double kVideoFps = 25.0;

  /// Loads a Hugging Face wav2vec2 folder: config.json, preprocessor_config.json (optional: its
  /// do_normalize, default true) and the weights (model.safetensors, model.safetensors.index.json or
  /// pytorch_model.bin, in that order of preference). Keys may carry the `wav2vec2.` prefix of a
  /// *ForPreTraining / *ForCTC checkpoint; heads outside it are ignored. Throws Error(not_found),
  /// Error(invalid_argument), Error(unsupported) or Error(checkpoint_mismatch) naming the file.
  static AudioEncoder load(const std::string& model_dir, const AudioEncoderOptions& options = {});

  /// Wraps a built (and filled) model; `normalize_input` is the feature extractor's do_normalize.
  explicit AudioEncoder(std::shared_ptr<Wav2Vec2Model> model, bool normalize_input = true);

  /// Video frames covered by `num_samples` samples at 16 kHz: int(num_samples / 16000 * 25), in the
  /// reference's float arithmetic (truncation, so a trailing partial frame is dropped).
  static int64_t frame_count(int64_t num_samples);
  /// (x - mean) / sqrt(var + 1e-7) over the whole clip, as Wav2Vec2FeatureExtractor(do_normalize).
  static at::Tensor normalize(const at::Tensor& samples);

  /// `samples`: 1-D float, 16 kHz mono, already loudness-normalised by the caller (any device).
  /// Returns [frame_count(n), num_hidden_layers, hidden_size] float32 on the model's device.
  /// Throws Error(invalid_argument) for clips shorter than one video frame or the conv stack's
  /// receptive field, and for non-finite samples.
  at::Tensor embed(const at::Tensor& samples) const;
  at::Tensor embed(const std::vector<float>& samples) const;

  const Wav2Vec2Config& config() const { return model_->config; }
  Wav2Vec2Model& model() { return *model_; }
  bool normalizes_input() const { return normalize_input_; }

 private:
  std::shared_ptr<Wav2Vec2Model> model_;
  bool normalize_input_;
};

}  // namespace talkgen::model::wav2vec2
