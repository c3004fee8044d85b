#include "model/clip/vision_encoder.hpp"

#include <filesystem>

#include <fmt/ranges.h>

#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::model::clip {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

std::string shape_of(const at::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

}  // namespace

io::LoadOptions checkpoint_key_options(const io::TensorSource& source, const ClipVisionConfig& config) {
  bool prefixed = false;
  for (const auto& info : source.list()) {
    if (starts_with(info.name, "visual.")) {
      prefixed = true;
      break;
    }
  }
  const std::string root = prefixed ? "visual." : "";
  const std::string last_block = root + "transformer." + std::to_string(config.num_layers - 1) + ".";
  io::LoadOptions options;
  options.ignore_key = [prefixed, root, last_block](const std::string& key) {
    if (prefixed && !starts_with(key, root)) return true;  // textual.*, log_scale
    return starts_with(key, last_block) || starts_with(key, root + "post_norm.") || key == root + "head" ||
           starts_with(key, root + "head.");
  };
  options.rename = [root](const std::string& key) { return starts_with(key, root) ? key.substr(root.size()) : key; };
  // The reference computes every LayerNorm in float32; keep their parameters there too.
  options.keep_fp32 = [](const std::string& key) { return key.find("norm") != std::string::npos; };
  return options;
}

ClipVisionEncoder ClipVisionEncoder::load(const std::string& checkpoint_path, const ClipVisionConfig& config,
                                          const ClipVisionOptions& options) {
  if (!std::filesystem::exists(checkpoint_path)) {
    fail(ErrorCode::not_found, "CLIP checkpoint '{}' does not exist; expected "
         "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth from the Wan2.1-I2V-14B folder", checkpoint_path);
  }
  const auto source = io::open_checkpoint(checkpoint_path);
  auto model = std::make_shared<VisionTransformer>(config);
  auto load_options = checkpoint_key_options(*source, config);
  load_options.dtype = options.dtype;
  load_options.device = options.device;
  io::load_strict(*model, *source, load_options);
  log_debug("clip: loaded the vision tower from {} ({} of {} blocks)", source->describe(), config.blocks_used(),
            config.num_layers);
  return ClipVisionEncoder(std::move(model));
}

ClipVisionEncoder::ClipVisionEncoder(std::shared_ptr<VisionTransformer> model) : model_(std::move(model)) {
  if (!model_) fail(ErrorCode::internal, "ClipVisionEncoder built without a model");
}

at::Tensor ClipVisionEncoder::preprocess(const at::Tensor& images) const {
  if (images.dim() != 4 || images.size(1) != 3 || images.size(2) < 1 || images.size(3) < 1 ||
      !at::isFloatingType(images.scalar_type())) {
    fail(ErrorCode::invalid_argument, "CLIP expects float images [B, 3, H, W] in [-1, 1], found a {} tensor of "
         "shape {}", c10::toString(images.scalar_type()), shape_of(images));
  }
  const auto& c = model_->config;
  const auto device = model_->pos_embedding.device();
  auto x = images.to(device, at::kFloat);
  x = at::upsample_bicubic2d(x, {c.image_size, c.image_size}, /*align_corners=*/false);
  x = x * 0.5 + 0.5;  // [-1, 1] -> [0, 1]
  const auto opts = x.options();
  const auto mean = at::tensor(std::vector<double>(c.pixel_mean.begin(), c.pixel_mean.end()), opts).view({1, 3, 1, 1});
  const auto std = at::tensor(std::vector<double>(c.pixel_std.begin(), c.pixel_std.end()), opts).view({1, 3, 1, 1});
  return (x - mean) / std;
}

at::Tensor ClipVisionEncoder::forward(const at::Tensor& pixels) const {
  const auto& c = model_->config;
  if (pixels.dim() != 4 || pixels.size(1) != 3 || pixels.size(2) != c.image_size || pixels.size(3) != c.image_size) {
    fail(ErrorCode::invalid_argument, "CLIP vision tower expects normalised pixels [B, 3, {}, {}], found shape {}",
         c.image_size, c.image_size, shape_of(pixels));
  }
  at::NoGradGuard no_grad;
  return model_->forward(pixels.to(model_->pos_embedding.device()));
}

at::Tensor ClipVisionEncoder::encode(const at::Tensor& images) const { return forward(preprocess(images)); }

}  // namespace talkgen::model::clip
