// Wav2Vec2Config: the architecture fields of a Hugging Face wav2vec2 `config.json`.
//
// Only what changes the inference graph is kept; training-only fields (dropouts, masking, CTC) are
// ignored. Fields absent from the file take Hugging Face's defaults (those of wav2vec2-base).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace talkgen::model::wav2vec2 {

struct Wav2Vec2Config {
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double layer_norm_eps = 1e-5;

  // Convolutional feature encoder (raw 16 kHz samples -> ~50 frames per second).
  std::vector<int64_t> conv_dim{512, 512, 512, 512, 512, 512, 512};
  std::vector<int64_t> conv_kernel{10, 3, 3, 3, 3, 2, 2};
  std::vector<int64_t> conv_stride{5, 2, 2, 2, 2, 2, 2};
  bool conv_bias = false;
  std::string feat_extract_norm = "group";  // "group" (first conv only) or "layer" (every conv)
  std::string feat_extract_activation = "gelu";

  // Convolutional relative position embedding (weight-normed grouped conv).
  int64_t num_conv_pos_embeddings = 128;
  int64_t num_conv_pos_embedding_groups = 16;

  /// Checks the fields against each other; throws Error(invalid_argument) naming `where` (the file).
  void validate(const std::string& where) const;
  /// Fewest input samples the conv stack turns into one frame.
  int64_t receptive_field() const;
  /// Frames the conv stack makes from `num_samples` samples (0 when too short).
  int64_t conv_output_length(int64_t num_samples) const;

  /// Parses a config.json object. Throws Error(invalid_argument) for malformed fields and
  /// Error(unsupported) for variants this implementation does not run (stable layer norm, adapters,
  /// non-wav2vec2 model types). `where` names the file in messages.
  static Wav2Vec2Config from_json(const nlohmann::json& json, const std::string& where);
  /// Reads and parses a config.json file (Error(not_found) / Error(invalid_argument)).
  static Wav2Vec2Config load(const std::string& path);
};

}  // namespace talkgen::model::wav2vec2
