#include "model/wav2vec2/config.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

#include "model/wav2vec2/activation.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::wav2vec2 {
namespace {

using nlohmann::json;

const char* kind_of(const json& v) { return v.type_name(); }

int64_t read_int(const json& j, const char* key, int64_t fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  const json& v = j.at(key);
  if (!v.is_number_integer()) {
    fail(ErrorCode::invalid_argument, "{}: field '{}' must be an integer, found {} ({}); fix or re-download the file",
         where, key, kind_of(v), v.dump());
  }
  return v.get<int64_t>();
}

double read_double(const json& j, const char* key, double fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  const json& v = j.at(key);
  if (!v.is_number()) {
    fail(ErrorCode::invalid_argument, "{}: field '{}' must be a number, found {} ({}); fix or re-download the file",
         where, key, kind_of(v), v.dump());
  }
  return v.get<double>();
}

bool read_bool(const json& j, const char* key, bool fallback, const std::string& where) {
  if (!j.contains(key) || j.at(key).is_null()) return fallback;
  const json& v = j.at(key);
  if (!v.is_boolean()) {
    fail(ErrorCode::invalid_argument, "{}: field '{}' must be true or false, found {} ({})", where, key, kind_of(v),
         v.dump());
  }
  return v.get<bool>();
}

std::string read_string(const json& j, const char* key, const std::string& fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  const json& v = j.at(key);
  if (!v.is_string()) {
    fail(ErrorCode::invalid_argument, "{}: field '{}' must be a string, found {} ({})", where, key, kind_of(v),
         v.dump());
  }
  return v.get<std::string>();
}

std::vector<int64_t> read_ints(const json& j, const char* key, std::vector<int64_t> fallback,
                               const std::string& where) {
  if (!j.contains(key)) return fallback;
  const json& v = j.at(key);
  if (!v.is_array()) {
    fail(ErrorCode::invalid_argument, "{}: field '{}' must be a list of integers, found {} ({})", where, key,
         kind_of(v), v.dump());
  }
  std::vector<int64_t> out;
  for (const json& e : v) {
    if (!e.is_number_integer()) {
      fail(ErrorCode::invalid_argument, "{}: field '{}' must be a list of integers, found element {}", where, key,
           e.dump());
    }
    out.push_back(e.get<int64_t>());
  }
  return out;
}

void require_positive(int64_t value, const char* key, const std::string& where) {
  if (value <= 0) {
    fail(ErrorCode::invalid_argument, "{}: field '{}' must be positive, found {}", where, key, value);
  }
}

}  // namespace

void Wav2Vec2Config::validate(const std::string& where) const {
  require_positive(hidden_size, "hidden_size", where);
  require_positive(num_hidden_layers, "num_hidden_layers", where);
  require_positive(num_attention_heads, "num_attention_heads", where);
  require_positive(intermediate_size, "intermediate_size", where);
  require_positive(num_conv_pos_embeddings, "num_conv_pos_embeddings", where);
  require_positive(num_conv_pos_embedding_groups, "num_conv_pos_embedding_groups", where);
  if (hidden_size % num_attention_heads != 0) {
    fail(ErrorCode::invalid_argument, "{}: hidden_size {} is not divisible by num_attention_heads {}", where,
         hidden_size, num_attention_heads);
  }
  if (hidden_size % num_conv_pos_embedding_groups != 0) {
    fail(ErrorCode::invalid_argument, "{}: hidden_size {} is not divisible by num_conv_pos_embedding_groups {}",
         where, hidden_size, num_conv_pos_embedding_groups);
  }
  if (conv_dim.empty() || conv_dim.size() != conv_kernel.size() || conv_dim.size() != conv_stride.size()) {
    fail(ErrorCode::invalid_argument,
         "{}: conv_dim, conv_kernel and conv_stride must be non-empty lists of one length, found {}, {} and {}",
         where, conv_dim.size(), conv_kernel.size(), conv_stride.size());
  }
  for (size_t i = 0; i < conv_dim.size(); ++i) {
    if (conv_dim[i] <= 0 || conv_kernel[i] <= 0 || conv_stride[i] <= 0) {
      fail(ErrorCode::invalid_argument, "{}: conv layer {} has dim {}, kernel {}, stride {}; all must be positive",
           where, i, conv_dim[i], conv_kernel[i], conv_stride[i]);
    }
  }
  if (feat_extract_norm != "group" && feat_extract_norm != "layer") {
    fail(ErrorCode::invalid_argument, "{}: feat_extract_norm must be \"group\" or \"layer\", found \"{}\"", where,
         feat_extract_norm);
  }
  parse_activation(hidden_act, where + ": hidden_act");
  parse_activation(feat_extract_activation, where + ": feat_extract_activation");
  if (!(layer_norm_eps > 0.0)) {
    fail(ErrorCode::invalid_argument, "{}: layer_norm_eps must be positive, found {}", where, layer_norm_eps);
  }
}

int64_t Wav2Vec2Config::receptive_field() const {
  // Walk back from one output frame: each conv needs (n - 1) * stride + kernel inputs for n outputs.
  int64_t n = 1;
  for (size_t i = conv_kernel.size(); i-- > 0;) n = (n - 1) * conv_stride[i] + conv_kernel[i];
  return n;
}

int64_t Wav2Vec2Config::conv_output_length(int64_t num_samples) const {
  int64_t n = num_samples;
  for (size_t i = 0; i < conv_kernel.size(); ++i) {
    if (n < conv_kernel[i]) return 0;
    n = (n - conv_kernel[i]) / conv_stride[i] + 1;
  }
  return n;
}

Wav2Vec2Config Wav2Vec2Config::from_json(const json& j, const std::string& where) {
  if (!j.is_object()) {
    fail(ErrorCode::invalid_argument, "{}: expected a JSON object (a Hugging Face config.json), found {}", where,
         kind_of(j));
  }
  const std::string model_type = read_string(j, "model_type", "wav2vec2", where);
  if (model_type != "wav2vec2") {
    fail(ErrorCode::unsupported, "{}: model_type is \"{}\"; only \"wav2vec2\" checkpoints are supported "
         "(InfiniteTalk uses chinese-wav2vec2-base)", where, model_type);
  }
  // Variants whose graph differs from the post-norm encoder InfiniteTalk uses.
  if (read_bool(j, "do_stable_layer_norm", false, where)) {
    fail(ErrorCode::unsupported, "{}: do_stable_layer_norm=true (pre-norm encoder, e.g. wav2vec2-large-lv60) is "
         "not supported; use a post-norm checkpoint such as chinese-wav2vec2-base", where);
  }
  if (read_bool(j, "add_adapter", false, where)) {
    fail(ErrorCode::unsupported, "{}: add_adapter=true is not supported; use a checkpoint without an adapter",
         where);
  }
  Wav2Vec2Config c;
  c.hidden_size = read_int(j, "hidden_size", c.hidden_size, where);
  c.num_hidden_layers = read_int(j, "num_hidden_layers", c.num_hidden_layers, where);
  c.num_attention_heads = read_int(j, "num_attention_heads", c.num_attention_heads, where);
  c.intermediate_size = read_int(j, "intermediate_size", c.intermediate_size, where);
  c.hidden_act = read_string(j, "hidden_act", c.hidden_act, where);
  c.layer_norm_eps = read_double(j, "layer_norm_eps", c.layer_norm_eps, where);
  c.conv_dim = read_ints(j, "conv_dim", c.conv_dim, where);
  c.conv_kernel = read_ints(j, "conv_kernel", c.conv_kernel, where);
  c.conv_stride = read_ints(j, "conv_stride", c.conv_stride, where);
  c.conv_bias = read_bool(j, "conv_bias", c.conv_bias, where);
  c.feat_extract_norm = read_string(j, "feat_extract_norm", c.feat_extract_norm, where);
  c.feat_extract_activation = read_string(j, "feat_extract_activation", c.feat_extract_activation, where);
  c.num_conv_pos_embeddings = read_int(j, "num_conv_pos_embeddings", c.num_conv_pos_embeddings, where);
  c.num_conv_pos_embedding_groups =
      read_int(j, "num_conv_pos_embedding_groups", c.num_conv_pos_embedding_groups, where);
  if (j.contains("num_feat_extract_layers")) {
    const int64_t n = read_int(j, "num_feat_extract_layers", 0, where);
    if (n != static_cast<int64_t>(c.conv_dim.size())) {
      fail(ErrorCode::invalid_argument, "{}: num_feat_extract_layers is {} but conv_dim lists {} layers", where, n,
           c.conv_dim.size());
    }
  }
  c.validate(where);
  return c;
}

Wav2Vec2Config Wav2Vec2Config::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    fail(ErrorCode::not_found, "cannot open wav2vec2 config '{}'; expected the Hugging Face model folder "
         "(config.json + model.safetensors or pytorch_model.bin)", path);
  }
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    fail(ErrorCode::invalid_argument, "'{}' is not valid JSON; re-download the model's config.json", path);
  }
  return from_json(j, path);
}

}  // namespace talkgen::model::wav2vec2
