#include "pipeline/speaker_masks.hpp"

#include <cmath>

#include "talkgen/error.hpp"

namespace talkgen::pipeline {
namespace {

// F.interpolate(mode='nearest', size=...) of [M, H, W] masks.
at::Tensor nearest(const at::Tensor& masks, int64_t h, int64_t w) {
  return at::upsample_nearest2d(masks.unsqueeze(0), {h, w}, c10::nullopt, c10::nullopt).squeeze(0);
}

// torchvision's center_crop offset: int(round((size - crop) / 2.0)), Python's round (half to even).
int64_t crop_offset(int64_t size, int64_t crop) { return static_cast<int64_t>(std::nearbyint((size - crop) / 2.0)); }

}  // namespace

at::Tensor speaker_masks(Size source, const std::optional<PixelBox>& speaker1, const std::optional<PixelBox>& speaker2,
                         Size target, int64_t lat_h, int64_t lat_w) {
  if (speaker1.has_value() != speaker2.has_value())
    fail(ErrorCode::invalid_argument, "speaker boxes: give both or neither");
  const int64_t src_h = source.height, src_w = source.width;
  auto masks = at::zeros({3, src_h, src_w}, at::kFloat);
  if (speaker1) {
    int index = 0;
    for (const PixelBox& b : {*speaker1, *speaker2}) {
      // The reference's human_mask[int(x_min):int(x_max), int(y_min):int(y_max)] with its x counting rows.
      masks[index++].slice(0, static_cast<int64_t>(b.y0), static_cast<int64_t>(b.y1))
          .slice(1, static_cast<int64_t>(b.x0), static_cast<int64_t>(b.x1))
          .fill_(1);
    }
  } else {
    const double m = kDefaultFaceMargin;
    const auto rows = [&](at::Tensor t) {
      return t.slice(0, static_cast<int64_t>(src_h * m), static_cast<int64_t>(src_h * (1 - m)));
    };
    const int64_t half = src_w / 2;
    rows(masks[0]).slice(1, static_cast<int64_t>(half * m), static_cast<int64_t>(half * (1 - m))).fill_(1);
    rows(masks[1]).slice(1, static_cast<int64_t>(half * m + half), static_cast<int64_t>(half * (1 - m) + half)).fill_(1);
  }
  masks[2] = (masks[0] + masks[1]).eq(0).to(at::kFloat);

  // resize_and_centercrop for tensors: nearest to the covering size, then the centre crop.
  const double scale = std::max(double(target.height) / src_h, double(target.width) / src_w);
  const auto final_h = static_cast<int64_t>(std::ceil(scale * src_h));
  const auto final_w = static_cast<int64_t>(std::ceil(scale * src_w));
  auto covering = nearest(masks, final_h, final_w);
  auto cropped = covering.narrow(1, crop_offset(final_h, target.height), target.height)
                     .narrow(2, crop_offset(final_w, target.width), target.width);
  return nearest(cropped.contiguous(), lat_h, lat_w).gt(0).to(at::kFloat);
}

}  // namespace talkgen::pipeline
