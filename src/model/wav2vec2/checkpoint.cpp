#include "model/wav2vec2/checkpoint.hpp"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "talkgen/error.hpp"

namespace talkgen::model::wav2vec2 {
namespace fs = std::filesystem;
namespace {

constexpr const char* kTaskPrefix = "wav2vec2.";

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string find_weights_file(const std::string& model_dir) {
  for (const char* name : {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"}) {
    const fs::path p = fs::path(model_dir) / name;
    if (fs::is_regular_file(p)) return p.string();
  }
  fail(ErrorCode::not_found, "no wav2vec2 weights in '{}': expected model.safetensors, "
       "model.safetensors.index.json or pytorch_model.bin (the Hugging Face chinese-wav2vec2-base folder)", model_dir);
}

bool read_do_normalize(const std::string& model_dir) {
  const fs::path path = fs::path(model_dir) / "preprocessor_config.json";
  std::ifstream in(path);
  if (!in) return true;  // Wav2Vec2FeatureExtractor's default
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    fail(ErrorCode::invalid_argument, "'{}' is not a JSON object; re-download the model's preprocessor_config.json",
         path.string());
  }
  if (j.contains("sampling_rate") && !(j["sampling_rate"].is_number() && j["sampling_rate"].get<double>() == 16000)) {
    fail(ErrorCode::unsupported, "{}: sampling_rate is {}; InfiniteTalk's audio encoder expects 16000 Hz",
         path.string(), j["sampling_rate"].dump());
  }
  if (!j.contains("do_normalize")) return true;
  if (!j["do_normalize"].is_boolean()) {
    fail(ErrorCode::invalid_argument, "{}: do_normalize must be true or false, found {}", path.string(),
         j["do_normalize"].dump());
  }
  return j["do_normalize"].get<bool>();
}

io::LoadOptions checkpoint_key_options(const io::TensorSource& source) {
  bool prefixed = false;
  for (const auto& info : source.list()) {
    if (starts_with(info.name, kTaskPrefix)) {
      prefixed = true;
      break;
    }
  }
  io::LoadOptions options;
  options.ignore_key = [prefixed](const std::string& key) {
    if (prefixed && !starts_with(key, kTaskPrefix)) return true;  // task heads: quantizer, lm_head, ...
    const std::string bare = prefixed ? key.substr(std::char_traits<char>::length(kTaskPrefix)) : key;
    return bare == "masked_spec_embed";  // SpecAugment's learned mask vector: training only
  };
  options.rename = [prefixed](const std::string& key) {
    std::string k = prefixed && starts_with(key, kTaskPrefix) ? key.substr(std::char_traits<char>::length(kTaskPrefix)) : key;
    // torch.nn.utils.parametrizations.weight_norm stores g as original0 and v as original1.
    static const std::string g = "parametrizations.weight.original0", v = "parametrizations.weight.original1";
    if (ends_with(k, g)) return k.substr(0, k.size() - g.size()) + "weight_g";
    if (ends_with(k, v)) return k.substr(0, k.size() - v.size()) + "weight_v";
    return k;
  };
  return options;
}

}  // namespace talkgen::model::wav2vec2
