#include "model/clip/vision_config.hpp"

#include "talkgen/error.hpp"

namespace talkgen::model::clip {

void ClipVisionConfig::validate() const {
  if (image_size <= 0 || patch_size <= 0 || image_size % patch_size != 0) {
    fail(ErrorCode::invalid_argument, "CLIP vision config: image_size {} must be a positive multiple of "
         "patch_size {}", image_size, patch_size);
  }
  if (dim <= 0 || num_heads <= 0 || dim % num_heads != 0) {
    fail(ErrorCode::invalid_argument, "CLIP vision config: dim {} must be a positive multiple of num_heads {}", dim,
         num_heads);
  }
  if (num_layers < 2) {
    fail(ErrorCode::invalid_argument, "CLIP vision config: num_layers is {}; InfiniteTalk uses the output of all "
         "blocks but the last, so at least 2 are needed", num_layers);
  }
  if (!(mlp_ratio > 0.0) || mlp_dim() <= 0) {
    fail(ErrorCode::invalid_argument, "CLIP vision config: mlp_ratio {} gives no MLP width", mlp_ratio);
  }
  if (activation != "gelu" && activation != "quick_gelu") {
    fail(ErrorCode::invalid_argument, "CLIP vision config: activation \"{}\" must be \"gelu\" or \"quick_gelu\"",
         activation);
  }
  for (double s : pixel_std) {
    if (!(s > 0.0)) fail(ErrorCode::invalid_argument, "CLIP vision config: std values must be positive");
  }
  if (!(norm_eps > 0.0)) fail(ErrorCode::invalid_argument, "CLIP vision config: norm_eps must be positive");
}

}  // namespace talkgen::model::clip
