// The CLIP vision tower against the reference CLIPModel.visual() (tools/parity/gen_clip.py output).
#include "encoders_test_util.hpp"  // first: see there

#include <cstdlib>

#include "clip_tiny.hpp"
#include "model/clip/vision_encoder.hpp"

using talkgen::model::clip::ClipVisionConfig;
using talkgen::model::clip::ClipVisionEncoder;
using namespace encoders_test;

namespace {

// visual.pth: the official key layout (visual.*, some textual.*, log_scale) saved by torch.save;
// io.safetensors: images ([B, 3, H, W] in [-1, 1]), pixels (after preprocessing), tokens (output).
void check_clip_parity(const std::string& dir, const ClipVisionConfig& config,
                       const talkgen::model::clip::ClipVisionOptions& options, double rel) {
  require_parity_file(dir + "/io.safetensors", "gen_clip.py");
  require_parity_file(dir + "/visual.pth", "gen_clip.py");
  const auto io = talkgen::model::io::open_checkpoint(dir + "/io.safetensors");
  const auto encoder = ClipVisionEncoder::load(dir + "/visual.pth", config, options);
  const auto images = parity_tensor(*io, "images");
  {
    INFO("preprocessing (bicubic resize + CLIP normalisation)");
    require_close(encoder.preprocess(images), parity_tensor(*io, "pixels"), rel);
  }
  INFO("vision tower output (all blocks but the last)");
  require_close(encoder.encode(images), parity_tensor(*io, "tokens"), rel);
}

}  // namespace

TEST_CASE("clip parity: tiny vision tower from an official-layout .pth", "[clip][parity]") {
  check_clip_parity(parity_dir("clip"), tiny_clip_config(), {}, 1e-4);
}

// Full-size ViT-H/14 random weights from `gen_clip.py --full --out DIR`; run on the GPU machine with
// TALKGEN_PARITY_FULL_DIR=DIR test_model_encoders "[full]". Reports the max error.
TEST_CASE("clip parity at full size (ViT-H/14)", "[.full][clip]") {
  const char* root = std::getenv("TALKGEN_PARITY_FULL_DIR");
  if (!root) FAIL("set TALKGEN_PARITY_FULL_DIR to the --out folder of gen_clip.py --full");
  // The generator ran the reference without TF32; cuDNN convolutions default to it.
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setAllowTF32CuBLAS(false);
  talkgen::model::clip::ClipVisionOptions options;
  if (at::hasCUDA()) options.device = at::Device(at::kCUDA, 0);
  check_clip_parity(std::string(root) + "/clip/full", ClipVisionConfig::vit_h_14(), options, 1e-3);
}
