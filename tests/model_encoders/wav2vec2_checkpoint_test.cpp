// Loading Hugging Face wav2vec2 folders through the real checkpoint loader.
#include "encoders_test_util.hpp"  // first: see there

#include <fstream>

#include "model/wav2vec2/audio_encoder.hpp"
#include "wav2vec2_tiny.hpp"

using talkgen::ErrorCode;
using talkgen::model::wav2vec2::AudioEncoder;
using namespace encoders_test;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

TEST_CASE("wav2vec2 checkpoint: a Wav2Vec2Model folder loads and reproduces the model", "[wav2vec2]") {
  auto model = tiny_wav2vec2_model(11);
  const auto dir = write_wav2vec2_folder(scratch_dir("w2v_plain"), *model, {});
  const auto loaded = AudioEncoder::load(dir);
  CHECK(loaded.normalizes_input());
  const auto speech = test_speech(9000);
  CHECK(at::equal(loaded.embed(speech), AudioEncoder(model).embed(speech)));
}

TEST_CASE("wav2vec2 checkpoint: task-head checkpoints with the wav2vec2. prefix and parametrized weight norm",
          "[wav2vec2]") {
  // What a Wav2Vec2ForPreTraining checkpoint saved by a recent transformers looks like.
  auto model = tiny_wav2vec2_model(12);
  FolderSpec spec;
  spec.rename = [](const std::string& k) {
    std::string key = "wav2vec2." + k;
    if (ends_with(key, "conv.weight_g")) key = key.substr(0, key.size() - 8) + "parametrizations.weight.original0";
    if (ends_with(key, "conv.weight_v")) key = key.substr(0, key.size() - 8) + "parametrizations.weight.original1";
    return key;
  };
  spec.extra = {{"wav2vec2.masked_spec_embed", at::zeros({32})},
                {"quantizer.codevectors", at::zeros({1, 8, 4})},
                {"project_q.weight", at::zeros({4, 4})},
                {"project_hid.weight", at::zeros({4, 32})}};
  spec.preprocessor = {{"do_normalize", true}, {"sampling_rate", 16000}, {"feature_size", 1}};
  const auto dir = write_wav2vec2_folder(scratch_dir("w2v_pretraining"), *model, spec);
  const auto speech = test_speech(7000);
  CHECK(at::equal(AudioEncoder::load(dir).embed(speech), AudioEncoder(model).embed(speech)));
}

TEST_CASE("wav2vec2 checkpoint: model.safetensors is preferred over pytorch_model.bin", "[wav2vec2]") {
  auto model = tiny_wav2vec2_model(13);
  const auto dir = write_wav2vec2_folder(scratch_dir("w2v_both"), *model, {});
  std::ofstream(dir + "/pytorch_model.bin") << "not a zip archive";
  CHECK_NOTHROW(AudioEncoder::load(dir));
}

TEST_CASE("wav2vec2 checkpoint: preprocessor_config.json do_normalize=false is honoured", "[wav2vec2]") {
  auto model = tiny_wav2vec2_model(14);
  FolderSpec spec;
  spec.preprocessor = {{"do_normalize", false}, {"sampling_rate", 16000}};
  const auto dir = write_wav2vec2_folder(scratch_dir("w2v_nonorm"), *model, spec);
  CHECK_FALSE(AudioEncoder::load(dir).normalizes_input());

  spec.preprocessor = {{"do_normalize", true}, {"sampling_rate", 8000}};
  write_wav2vec2_folder(dir, *model, spec);
  require_error([&] { AudioEncoder::load(dir); }, ErrorCode::unsupported, "sampling_rate");
}

TEST_CASE("wav2vec2 checkpoint: a missing key is checkpoint_mismatch naming it", "[wav2vec2]") {
  auto model = tiny_wav2vec2_model(15);
  FolderSpec spec;
  spec.rename = [](const std::string& k) { return k == "encoder.layers.1.final_layer_norm.bias" ? "" : k; };
  const auto dir = write_wav2vec2_folder(scratch_dir("w2v_missing"), *model, spec);
  require_error([&] { AudioEncoder::load(dir); }, ErrorCode::checkpoint_mismatch,
                "encoder.layers.1.final_layer_norm.bias");
}

TEST_CASE("wav2vec2 checkpoint: a mis-shaped key is checkpoint_mismatch naming it", "[wav2vec2]") {
  auto model = tiny_wav2vec2_model(16);
  FolderSpec spec;
  spec.transform = [](const std::string& k, const at::Tensor& t) {
    return k == "feature_projection.projection.weight" ? t.t().contiguous() : t;
  };
  const auto dir = write_wav2vec2_folder(scratch_dir("w2v_shape"), *model, spec);
  require_error([&] { AudioEncoder::load(dir); }, ErrorCode::checkpoint_mismatch,
                "feature_projection.projection.weight");
}

TEST_CASE("wav2vec2 checkpoint: a config that disagrees with the weights is checkpoint_mismatch", "[wav2vec2]") {
  auto model = tiny_wav2vec2_model(17);
  FolderSpec spec;
  spec.config["num_hidden_layers"] = 3;  // the file holds 2 layers
  const auto dir = write_wav2vec2_folder(scratch_dir("w2v_layers"), *model, spec);
  require_error([&] { AudioEncoder::load(dir); }, ErrorCode::checkpoint_mismatch, "encoder.layers.2.");
}

TEST_CASE("wav2vec2 checkpoint: missing folder / config / weights are not_found", "[wav2vec2]") {
  const auto dir = scratch_dir("w2v_empty");
  require_error([&] { AudioEncoder::load(dir + "/nope"); }, ErrorCode::not_found, "nope");
  require_error([&] { AudioEncoder::load(dir); }, ErrorCode::not_found, "config.json");
  write_json(dir + "/config.json", tiny_wav2vec2_json());
  require_error([&] { AudioEncoder::load(dir); }, ErrorCode::not_found, "model.safetensors");
}
