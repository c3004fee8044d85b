// ClipVisionEncoder: conditioning image(s) -> CLIP tokens, as the reference's CLIPModel.visual().
//
// Preprocessing: bicubic resize to image_size x image_size (align_corners=False, aspect ratio NOT
// kept), [-1, 1] -> [0, 1], CLIP mean/std. Then the vision tower up to its second-to-last block
// (use_31_block=True): [B, 257, 1280] for ViT-H/14.
#pragma once

#include <memory>
#include <string>

#include <ATen/ATen.h>

#include "model/clip/vision_transformer.hpp"
#include "model/io/load_module.hpp"
#include "model/io/tensor_source.hpp"

namespace talkgen::model::clip {

struct ClipVisionOptions {
  at::Device device = at::kCPU;
  /// The reference runs CLIP in float16 (autocast); float32 is the parity-tested path.
  at::ScalarType dtype = at::kFloat;
};

/// Key handling for the official open-clip .pth: strips `visual.` and ignores the text tower
/// (`textual.*`, `log_scale`) and the vision parts InfiniteTalk never runs (the last block,
/// `post_norm`, `head`). A checkpoint without any `visual.` key is taken as a bare vision state dict.
io::LoadOptions checkpoint_key_options(const io::TensorSource& source, const ClipVisionConfig& config);

class ClipVisionEncoder {
 public:
  /// Loads the vision tower from the official checkpoint (a .pth zip or safetensors). Throws
  /// Error(not_found) for a missing file and Error(checkpoint_mismatch) naming the keys that are
  /// missing, unexpected or mis-shaped.
  static ClipVisionEncoder load(const std::string& checkpoint_path,
                                const ClipVisionConfig& config = ClipVisionConfig::vit_h_14(),
                                const ClipVisionOptions& options = {});

  explicit ClipVisionEncoder(std::shared_ptr<VisionTransformer> model);

  /// images: [B, 3, H, W] float in [-1, 1] (any size, any device) -> normalised float32 pixels
  /// [B, 3, S, S] on the model's device. Throws Error(invalid_argument) for other shapes.
  at::Tensor preprocess(const at::Tensor& images) const;
  /// Normalised pixels [B, 3, S, S] -> [B, tokens, dim] in the model's dtype.
  at::Tensor forward(const at::Tensor& pixels) const;
  /// preprocess + forward: what CLIPModel.visual returns for the same images.
  at::Tensor encode(const at::Tensor& images) const;

  const ClipVisionConfig& config() const { return model_->config; }
  VisionTransformer& model() { return *model_; }

 private:
  std::shared_ptr<VisionTransformer> model_;
};

}  // namespace talkgen::model::clip
