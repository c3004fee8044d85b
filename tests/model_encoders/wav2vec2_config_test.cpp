#include "encoders_test_util.hpp"  // first: see there

#include <fstream>

#include <nlohmann/json.hpp>

#include "model/wav2vec2/config.hpp"
#include "wav2vec2_tiny.hpp"

using talkgen::ErrorCode;
using talkgen::model::wav2vec2::Wav2Vec2Config;
using namespace encoders_test;

TEST_CASE("wav2vec2 config: a tiny config.json parses field by field", "[wav2vec2]") {
  const auto c = Wav2Vec2Config::from_json(tiny_wav2vec2_json(), "config.json");
  CHECK(c.hidden_size == 32);
  CHECK(c.num_hidden_layers == 2);
  CHECK(c.num_attention_heads == 2);
  CHECK(c.intermediate_size == 64);
  CHECK((c.conv_dim == std::vector<int64_t>{16, 16}));
  CHECK((c.conv_kernel == std::vector<int64_t>{10, 3}));
  CHECK((c.conv_stride == std::vector<int64_t>{5, 2}));
  CHECK(c.num_conv_pos_embeddings == 16);
  CHECK(c.num_conv_pos_embedding_groups == 4);
  CHECK(c.feat_extract_norm == "group");
}

TEST_CASE("wav2vec2 config: absent fields take the wav2vec2-base defaults", "[wav2vec2]") {
  const auto c = Wav2Vec2Config::from_json(nlohmann::json::object(), "config.json");
  CHECK(c.hidden_size == 768);
  CHECK(c.num_hidden_layers == 12);
  CHECK(c.num_conv_pos_embeddings == 128);
  CHECK(c.num_conv_pos_embedding_groups == 16);
  // The base conv stack: 400-sample receptive field, 320-sample hop (49 frames per second of audio).
  CHECK(c.receptive_field() == 400);
  CHECK(c.conv_output_length(399) == 0);
  CHECK(c.conv_output_length(400) == 1);
  CHECK(c.conv_output_length(720) == 2);
  CHECK(c.conv_output_length(16000) == 49);
}

TEST_CASE("wav2vec2 config: malformed fields are invalid_argument naming the field", "[wav2vec2]") {
  auto j = tiny_wav2vec2_json();
  j["hidden_size"] = "32";
  require_error([&] { Wav2Vec2Config::from_json(j, "cfg.json"); }, ErrorCode::invalid_argument, "hidden_size");

  j = tiny_wav2vec2_json();
  j["conv_kernel"] = {10, 3, 3};
  require_error([&] { Wav2Vec2Config::from_json(j, "cfg.json"); }, ErrorCode::invalid_argument, "conv_kernel");

  j = tiny_wav2vec2_json();
  j["num_attention_heads"] = 3;
  require_error([&] { Wav2Vec2Config::from_json(j, "cfg.json"); }, ErrorCode::invalid_argument, "divisible");

  j = tiny_wav2vec2_json();
  j["num_feat_extract_layers"] = 7;
  require_error([&] { Wav2Vec2Config::from_json(j, "cfg.json"); }, ErrorCode::invalid_argument,
                "num_feat_extract_layers");

  j = tiny_wav2vec2_json();
  j["feat_extract_norm"] = "batch";
  require_error([&] { Wav2Vec2Config::from_json(j, "cfg.json"); }, ErrorCode::invalid_argument, "feat_extract_norm");

  require_error([&] { Wav2Vec2Config::from_json(nlohmann::json::array(), "cfg.json"); }, ErrorCode::invalid_argument,
                "cfg.json");
}

TEST_CASE("wav2vec2 config: variants with another graph are unsupported", "[wav2vec2]") {
  auto j = tiny_wav2vec2_json();
  j["do_stable_layer_norm"] = true;
  require_error([&] { Wav2Vec2Config::from_json(j, "cfg.json"); }, ErrorCode::unsupported, "do_stable_layer_norm");

  j = tiny_wav2vec2_json();
  j["model_type"] = "hubert";
  require_error([&] { Wav2Vec2Config::from_json(j, "cfg.json"); }, ErrorCode::unsupported, "hubert");

  j = tiny_wav2vec2_json();
  j["add_adapter"] = true;
  require_error([&] { Wav2Vec2Config::from_json(j, "cfg.json"); }, ErrorCode::unsupported, "add_adapter");

  j = tiny_wav2vec2_json();
  j["hidden_act"] = "mish";
  require_error([&] { Wav2Vec2Config::from_json(j, "cfg.json"); }, ErrorCode::unsupported, "mish");
}

TEST_CASE("wav2vec2 config: files that are missing or not JSON", "[wav2vec2]") {
  const auto dir = scratch_dir("w2v_config_files");
  require_error([&] { Wav2Vec2Config::load(dir + "/config.json"); }, ErrorCode::not_found, "config.json");
  std::ofstream(dir + "/broken.json") << "{\"hidden_size\": 32,";
  require_error([&] { Wav2Vec2Config::load(dir + "/broken.json"); }, ErrorCode::invalid_argument, "broken.json");
  write_json(dir + "/ok.json", tiny_wav2vec2_json());
  CHECK(Wav2Vec2Config::load(dir + "/ok.json").hidden_size == 32);
}
