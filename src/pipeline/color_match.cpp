#include "pipeline/color_match.hpp"

#include "talkgen/error.hpp"

namespace talkgen::pipeline {
namespace {

// skimage.color: xyz_from_rgb (sRGB primaries, D65) and the D65 / 2° reference white.
const double kXyzFromRgb[3][3] = {{0.412453, 0.357580, 0.180423},
                                  {0.212671, 0.715160, 0.072169},
                                  {0.019334, 0.119193, 0.950227}};
const double kWhite[3] = {0.95047, 1.0, 1.08883};

at::Tensor matrix(const at::TensorOptions& options, bool inverse) {
  at::Tensor m = at::tensor(at::ArrayRef<double>(&kXyzFromRgb[0][0], 9), at::kDouble).reshape({3, 3});
  if (inverse) m = at::inverse(m);  // skimage: rgb_from_xyz = linalg.inv(xyz_from_rgb), in float64
  return m.to(options);
}

at::Tensor white(const at::TensorOptions& options) {
  return at::tensor(at::ArrayRef<double>(kWhite, 3), at::kDouble).to(options);
}

}  // namespace

at::Tensor rgb_to_lab(const at::Tensor& rgb) {
  const auto opt = rgb.options();
  // rgb2xyz: undo the sRGB transfer curve, then the linear map.
  at::Tensor linear = at::where(rgb > 0.04045, at::pow((rgb + 0.055) / 1.055, 2.4), rgb / 12.92);
  at::Tensor xyz = at::matmul(linear, matrix(opt, false).t());
  // xyz2lab.
  at::Tensor v = xyz / white(opt);
  v = at::where(v > 0.008856, at::pow(v, 1.0 / 3.0), v * 7.787 + 16.0 / 116.0);
  at::Tensor x = v.select(-1, 0), y = v.select(-1, 1), z = v.select(-1, 2);
  return at::stack({y * 116.0 - 16.0, (x - y) * 500.0, (y - z) * 200.0}, -1);
}

at::Tensor lab_to_rgb(const at::Tensor& lab) {
  const auto opt = lab.options();
  // lab2xyz (negative z is clipped to 0, as skimage does with a warning).
  at::Tensor y = (lab.select(-1, 0) + 16.0) / 116.0;
  at::Tensor x = lab.select(-1, 1) / 500.0 + y;
  at::Tensor z = (y - lab.select(-1, 2) / 200.0).clamp_min(0.0);
  at::Tensor v = at::stack({x, y, z}, -1);
  v = at::where(v > 0.2068966, at::pow(v, 3.0), (v - 16.0 / 116.0) / 7.787);
  v = v * white(opt);
  // xyz2rgb: the inverse map, the sRGB curve, then clip.
  at::Tensor linear = at::matmul(v, matrix(opt, true).t());
  at::Tensor rgb = at::where(linear > 0.0031308, at::pow(linear.clamp_min(0.0), 1.0 / 2.4) * 1.055 - 0.055,
                             linear * 12.92);
  return rgb.clamp(0.0, 1.0);
}

at::Tensor match_and_blend_colors(const at::Tensor& frames, const at::Tensor& reference, double strength) {
  if (!(strength >= 0.0 && strength <= 1.0))
    fail(ErrorCode::invalid_argument, "colour correction strength must be between 0 and 1, got {}", strength);
  if (strength == 0.0) return frames;
  const bool batched = frames.dim() == 5;
  at::Tensor video = batched ? frames.squeeze(0) : frames;       // [3, T, H, W]
  at::Tensor ref = reference;                                     // [1, 3, 1, H, W] -> [3, H, W]
  if (ref.dim() == 5 && ref.size(0) == 1) ref = ref.squeeze(0);
  if (ref.dim() == 4 && ref.size(1) == 1) ref = ref.squeeze(1);
  if (video.dim() != 4 || video.size(0) != 3 || ref.dim() != 3 || ref.size(0) != 3)
    fail(ErrorCode::invalid_argument, "colour matching needs frames [1, 3, T, H, W] and a reference [1, 3, 1, H, W]");

  // The reference works on float32 numpy arrays (skimage keeps float32), channels last, in [0, 1].
  at::Tensor src = ((video.permute({1, 2, 3, 0}).to(at::kFloat) + 1.0) / 2.0).clamp(0.0, 1.0);  // [T, H, W, 3]
  at::Tensor ref01 = ((ref.permute({1, 2, 0}).to(at::kFloat) + 1.0) / 2.0).clamp(0.0, 1.0);      // [H, W, 3]
  // Statistics in float32 as skimage/numpy compute them (pairwise sums); float64 copies of a whole
  // 480p chunk would cost ~0.8 GB of device memory for no visible gain.
  at::Tensor ref_lab = rgb_to_lab(ref01).reshape({-1, 3});
  at::Tensor ref_mean = ref_lab.mean(0);
  at::Tensor ref_std = (ref_lab - ref_mean).pow(2).mean(0).sqrt();  // numpy std: population (ddof 0)

  at::Tensor src_lab = rgb_to_lab(src);                           // [T, H, W, 3]
  at::Tensor flat = src_lab.reshape({src_lab.size(0), -1, 3});
  at::Tensor mean = flat.mean(1, /*keepdim=*/true);               // [T, 1, 3]
  at::Tensor std = (flat - mean).pow(2).mean(1, true).sqrt();
  // (x - mean_src) * (std_ref / std_src) + mean_ref; a flat channel (std 0) becomes mean_ref.
  at::Tensor gain = at::where(std == 0, at::zeros_like(std), ref_std / std);
  at::Tensor corrected = ((flat - mean) * gain + ref_mean).reshape(src_lab.sizes());
  at::Tensor corrected_rgb = lab_to_rgb(corrected).clamp(0.0, 1.0);
  at::Tensor blended = src * (1.0 - strength) + corrected_rgb * strength;
  at::Tensor out = (blended * 2.0 - 1.0).permute({3, 0, 1, 2}).contiguous().to(frames.scalar_type());
  return batched ? out.unsqueeze(0) : out;
}

}  // namespace talkgen::pipeline
