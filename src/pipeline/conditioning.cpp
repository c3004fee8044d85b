#include "pipeline/conditioning.hpp"

#include "talkgen/error.hpp"

namespace talkgen::pipeline {

at::Tensor image_to_condition(const Image& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3)
    fail(ErrorCode::invalid_argument, "condition image has {} bytes for {}x{} RGB", image.rgb.size(), image.width,
         image.height);
  at::Tensor pixels = at::from_blob(const_cast<uint8_t*>(image.rgb.data()), {image.height, image.width, 3}, at::kByte);
  // The reference: uint8 tensor / 255 (float32), then (x - 0.5) * 2.
  at::Tensor x = pixels.permute({2, 0, 1}).to(at::kFloat) / 255;
  x = (x - 0.5) * 2;
  return x.unsqueeze(0).unsqueeze(2).contiguous();
}

at::Tensor first_frame_mask(int64_t frame_num, int64_t lat_h, int64_t lat_w, const at::TensorOptions& options) {
  at::Tensor msk = at::ones({1, frame_num, lat_h, lat_w}, options);
  msk.narrow(1, 1, frame_num - 1).zero_();
  msk = at::cat({at::repeat_interleave(msk.narrow(1, 0, 1), 4, 1), msk.narrow(1, 1, frame_num - 1)}, 1);
  msk = msk.view({1, msk.size(1) / 4, 4, lat_h, lat_w});
  return msk.transpose(1, 2).contiguous();
}

at::Tensor padded_condition_video(const at::Tensor& cond_image, int64_t frame_num) {
  const int64_t given = cond_image.size(2);
  at::Tensor zeros = at::zeros({1, cond_image.size(1), frame_num - given, cond_image.size(3), cond_image.size(4)},
                               cond_image.options());
  return at::cat({cond_image, zeros}, 2);
}

at::Tensor make_y(const at::Tensor& mask, const at::Tensor& image_latent) {
  return at::cat({mask.to(image_latent.scalar_type()), image_latent}, 1);
}

}  // namespace talkgen::pipeline
