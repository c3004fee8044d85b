// ClipVisionConfig: the shape of the CLIP vision tower (wan/modules/clip.py VisionTransformer) that
// InfiniteTalk conditions on. The official checkpoint carries no config, so the sizes live here.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace talkgen::model::clip {

struct ClipVisionConfig {
  int64_t image_size = 224;
  int64_t patch_size = 14;
  int64_t dim = 1280;
  double mlp_ratio = 4.0;
  int64_t num_heads = 16;
  /// Blocks in the checkpoint. The encoder runs all but the last (the reference's use_31_block=True).
  int64_t num_layers = 32;
  /// "gelu" (exact, the xlm-roberta ViT-H/14) or "quick_gelu" (x * sigmoid(1.702 x)).
  std::string activation = "gelu";
  double norm_eps = 1e-5;
  /// CLIP's image normalisation (applied to [0, 1] pixels).
  std::array<double, 3> pixel_mean{0.48145466, 0.4578275, 0.40821073};
  std::array<double, 3> pixel_std{0.26862954, 0.26130258, 0.27577711};

  /// open-clip xlm-roberta-large ViT-H/14 (models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth).
  static ClipVisionConfig vit_h_14() { return {}; }

  int64_t grid() const { return image_size / patch_size; }
  /// Patch tokens plus the class token: 257 for ViT-H/14 at 224.
  int64_t tokens() const { return grid() * grid() + 1; }
  int64_t mlp_dim() const { return static_cast<int64_t>(static_cast<double>(dim) * mlp_ratio); }
  /// Blocks actually run (and loaded): num_layers - 1.
  int64_t blocks_used() const { return num_layers - 1; }

  /// Throws Error(invalid_argument) for inconsistent sizes.
  void validate() const;
};

}  // namespace talkgen::model::clip
