// A tiny wav2vec2 (hidden 32, 2 layers, 2 conv layers) and Hugging Face folders made from it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "encoders_test_util.hpp"
#include "model/wav2vec2/modules.hpp"

namespace encoders_test {

inline nlohmann::json tiny_wav2vec2_json() {
  return {{"model_type", "wav2vec2"},        {"architectures", {"Wav2Vec2Model"}},
          {"hidden_size", 32},               {"num_hidden_layers", 2},
          {"num_attention_heads", 2},        {"intermediate_size", 64},
          {"hidden_act", "gelu"},            {"layer_norm_eps", 1e-5},
          {"conv_dim", {16, 16}},            {"conv_kernel", {10, 3}},
          {"conv_stride", {5, 2}},           {"num_feat_extract_layers", 2},
          {"conv_bias", false},              {"feat_extract_norm", "group"},
          {"feat_extract_activation", "gelu"}, {"num_conv_pos_embeddings", 16},
          {"num_conv_pos_embedding_groups", 4}, {"do_stable_layer_norm", false},
          {"mask_time_prob", 0.05},          {"hidden_dropout", 0.1}};
}

inline std::shared_ptr<talkgen::model::wav2vec2::Wav2Vec2Model> tiny_wav2vec2_model(uint64_t seed,
                                                                                     const nlohmann::json& j = tiny_wav2vec2_json()) {
  auto model = std::make_shared<talkgen::model::wav2vec2::Wav2Vec2Model>(
      talkgen::model::wav2vec2::Wav2Vec2Config::from_json(j, "tiny config"));
  randomize(*model, seed);
  return model;
}

/// A fixed test waveform: two tones plus noise, `n` samples.
inline at::Tensor test_speech(int64_t n, uint64_t seed = 7) {
  auto gen = at::detail::createCPUGenerator(seed);
  const auto t = at::arange(n, at::kFloat) / 16000.0;
  return 0.3 * at::sin(2 * M_PI * 220.0 * t) + 0.2 * at::sin(2 * M_PI * 1370.0 * t) +
         0.05 * at::normal(0.0, 1.0, {n}, gen, at::TensorOptions().dtype(at::kFloat));
}

/// How to write a model folder: `rename` maps module keys to checkpoint keys ("" drops one);
/// `extra` adds tensors; `config` and `preprocessor` go to config.json / preprocessor_config.json.
struct FolderSpec {
  std::function<std::string(const std::string&)> rename = [](const std::string& k) { return k; };
  std::vector<std::pair<std::string, at::Tensor>> extra;
  nlohmann::json config = tiny_wav2vec2_json();
  nlohmann::json preprocessor;  // null: no file
  std::function<at::Tensor(const std::string&, const at::Tensor&)> transform;  // optional value change
};

inline std::string write_wav2vec2_folder(const std::string& dir, torch::nn::Module& model, const FolderSpec& spec) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& p : model.named_parameters()) {
    const std::string name = spec.rename(p.key());
    if (name.empty()) continue;
    tensors.emplace_back(name, spec.transform ? spec.transform(p.key(), p.value().detach()) : p.value().detach());
  }
  for (const auto& e : spec.extra) tensors.push_back(e);
  write_safetensors(dir + "/model.safetensors", tensors);
  write_json(dir + "/config.json", spec.config);
  if (!spec.preprocessor.is_null()) write_json(dir + "/preprocessor_config.json", spec.preprocessor);
  return dir;
}

}  // namespace encoders_test
