#include "encoders_test_util.hpp"  // first: see there

#include <fstream>
#include <limits>

#include "model/wav2vec2/audio_encoder.hpp"
#include "wav2vec2_tiny.hpp"

using talkgen::ErrorCode;
using talkgen::model::wav2vec2::AudioEncoder;
using namespace encoders_test;

TEST_CASE("wav2vec2: video frames follow int(seconds * 25) like the reference", "[wav2vec2]") {
  CHECK(AudioEncoder::frame_count(0) == 0);
  CHECK(AudioEncoder::frame_count(639) == 0);
  CHECK(AudioEncoder::frame_count(640) == 1);
  CHECK(AudioEncoder::frame_count(1000) == 1);
  CHECK(AudioEncoder::frame_count(12320) == 19);  // 19.25 -> 19: a partial frame is dropped
  CHECK(AudioEncoder::frame_count(16000) == 25);
  CHECK(AudioEncoder::frame_count(47999) == 74);
  CHECK(AudioEncoder::frame_count(112003) == 175);
}

TEST_CASE("wav2vec2: input normalisation is zero mean and unit (population) variance", "[wav2vec2]") {
  const auto x = test_speech(5000) * 3.0 + 0.7;
  const auto y = AudioEncoder::normalize(x).to(at::kDouble);
  CHECK(std::abs(y.mean().item<double>()) < 1e-6);
  CHECK(std::abs((y * y).mean().item<double>() - 1.0) < 1e-5);
  // A constant clip has zero variance: the 1e-7 guard keeps it finite (all zeros).
  const auto flat = AudioEncoder::normalize(at::full({800}, 0.25f));
  CHECK(flat.abs().max().item<float>() == 0.0f);
}

TEST_CASE("wav2vec2: embedding shape is frames x layers x hidden and deterministic", "[wav2vec2]") {
  AudioEncoder encoder(tiny_wav2vec2_model(1));
  const auto speech = test_speech(12320);
  const auto a = encoder.embed(speech);
  CHECK((a.sizes() == at::IntArrayRef{19, 2, 32}));
  CHECK(a.scalar_type() == at::kFloat);
  CHECK(at::isfinite(a).all().item<bool>());
  // Every layer's output is stacked, not one layer repeated.
  CHECK(!at::allclose(a.select(1, 0), a.select(1, 1)));
  // Post-norm layers: each frame's output is layer-normalised (affine ~1 + noise, so spread ~1).
  CHECK(a.std().item<double>() > 0.3);
  const auto b = encoder.embed(speech);
  CHECK(at::equal(a, b));
  std::vector<float> samples(speech.data_ptr<float>(), speech.data_ptr<float>() + speech.numel());
  CHECK(at::equal(encoder.embed(samples), a));
}

TEST_CASE("wav2vec2: frame count follows the audio not the conv stack", "[wav2vec2]") {
  AudioEncoder encoder(tiny_wav2vec2_model(2));
  // 1 s gives 25 frames although the tiny conv stack yields 1599 features: they are resampled.
  CHECK(encoder.embed(test_speech(16000)).size(0) == 25);
  CHECK(encoder.embed(test_speech(640)).size(0) == 1);
}

TEST_CASE("wav2vec2: do_normalize changes what the model sees", "[wav2vec2]") {
  auto model = tiny_wav2vec2_model(3);
  AudioEncoder normalizing(model, true), raw(model, false);
  const auto speech = test_speech(4000) * 5.0;
  CHECK(!at::allclose(normalizing.embed(speech), raw.embed(speech)));
  // Normalisation makes the result invariant to gain and offset.
  CHECK(at::allclose(normalizing.embed(speech), normalizing.embed(speech * 0.1 + 0.02), 1e-4, 1e-4));
}

TEST_CASE("wav2vec2: bad audio is invalid_argument", "[wav2vec2]") {
  AudioEncoder encoder(tiny_wav2vec2_model(4));
  require_error([&] { encoder.embed(test_speech(639)); }, ErrorCode::invalid_argument, "at least 640 samples");
  require_error([&] { encoder.embed(at::zeros({0})); }, ErrorCode::invalid_argument, "at least");
  auto bad = test_speech(2000);
  bad[100] = std::numeric_limits<float>::quiet_NaN();
  require_error([&] { encoder.embed(bad); }, ErrorCode::invalid_argument, "NaN");
  require_error([&] { encoder.embed(test_speech(2000).view({2, 1000})); }, ErrorCode::invalid_argument, "1-D");
  require_error([&] { encoder.embed(at::zeros({2000}, at::kLong)); }, ErrorCode::invalid_argument, "float");
}
