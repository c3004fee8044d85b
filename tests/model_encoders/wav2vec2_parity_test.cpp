// wav2vec2 against the reference get_embedding() (tools/parity/gen_wav2vec2.py output).
#include "encoders_test_util.hpp"  // first: see there

#include <cstdlib>

#include "model/wav2vec2/audio_encoder.hpp"

using talkgen::model::wav2vec2::AudioEncoder;
using namespace encoders_test;

namespace {

// Compares one generated model folder: config.json + preprocessor_config.json + model.safetensors
// (as transformers saved them) and io.safetensors (speech: the raw samples; embedding: the output).
void check_wav2vec2_parity(const std::string& dir, const talkgen::model::wav2vec2::AudioEncoderOptions& options,
                           double rel) {
  require_parity_file(dir + "/io.safetensors", "gen_wav2vec2.py");
  const auto io = talkgen::model::io::open_checkpoint(dir + "/io.safetensors");
  auto encoder = AudioEncoder::load(dir, options);
  const auto speech = parity_tensor(*io, "speech");
  const auto reference = parity_tensor(*io, "embedding");
  {
    INFO("conv feature encoder output (before resampling to 25 fps)");
    auto& model = encoder.model();
    at::NoGradGuard no_grad;
    const auto& w = model.feature_projection->projection->weight;
    const auto wave = AudioEncoder::normalize(speech).to(w.device()).unsqueeze(0);
    require_close(model.feature_extractor->forward(wave), parity_tensor(*io, "features"), rel);
  }
  const auto actual = encoder.embed(speech);
  CHECK(actual.size(0) == AudioEncoder::frame_count(speech.numel()));
  require_close(actual, reference, rel);
}

}  // namespace

TEST_CASE("wav2vec2 parity: group-norm feature encoder (chinese-wav2vec2-base layout)", "[wav2vec2][parity]") {
  check_wav2vec2_parity(parity_dir("wav2vec2") + "/group", {}, 1e-4);
}

TEST_CASE("wav2vec2 parity: layer-norm feature encoder with conv bias and odd position kernel", "[wav2vec2][parity]") {
  check_wav2vec2_parity(parity_dir("wav2vec2") + "/layer", {}, 1e-4);
}

// Full-size random weights written by `gen_wav2vec2.py --full --out DIR`; run on the GPU machine with
// TALKGEN_PARITY_FULL_DIR=DIR test_model_encoders "[full]". Reports the max error.
TEST_CASE("wav2vec2 parity at full size", "[.full][wav2vec2]") {
  const char* root = std::getenv("TALKGEN_PARITY_FULL_DIR");
  if (!root) FAIL("set TALKGEN_PARITY_FULL_DIR to the --out folder of gen_wav2vec2.py --full");
  // The generator ran the reference without TF32; cuDNN convolutions default to it.
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
  talkgen::model::wav2vec2::AudioEncoderOptions options;
  if (at::hasCUDA()) options.device = at::Device(at::kCUDA, 0);
  check_wav2vec2_parity(std::string(root) + "/wav2vec2/full", options, 1e-3);
}
