// A tiny CLIP vision tower (28 px, patch 14, dim 32, 2 heads, 3 blocks of which 2 run): the same
// sizes as tools/parity/gen_clip.py builds.
#pragma once

#include <memory>

#include "encoders_test_util.hpp"
#include "model/clip/vision_transformer.hpp"

namespace encoders_test {

inline talkgen::model::clip::ClipVisionConfig tiny_clip_config() {
  talkgen::model::clip::ClipVisionConfig c;
  c.image_size = 28;
  c.patch_size = 14;
  c.dim = 32;
  c.mlp_ratio = 4.0;
  c.num_heads = 2;
  c.num_layers = 3;
  c.activation = "gelu";
  return c;
}

inline std::shared_ptr<talkgen::model::clip::VisionTransformer> tiny_clip_model(uint64_t seed) {
  auto model = std::make_shared<talkgen::model::clip::VisionTransformer>(tiny_clip_config());
  randomize(*model, seed);
  return model;
}

/// Seeded images in [-1, 1].
inline at::Tensor test_images(int64_t b, int64_t h, int64_t w, uint64_t seed = 5) {
  auto gen = at::detail::createCPUGenerator(seed);
  return at::rand({b, 3, h, w}, gen, at::TensorOptions().dtype(at::kFloat)) * 2.0 - 1.0;
}

}  // namespace encoders_test
