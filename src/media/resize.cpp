// The reference's resolution buckets and resize_and_centercrop (wan/multitalk.py, wan/utils/multitalk_utils.py).
//
// The reference resizes the PIL image with Image.BILINEAR and centre-crops with torchvision. The resize
// below is a port of Pillow's Resample.c (ImagingResample with the bilinear filter, 8-bit fixed point,
// horizontal pass then vertical pass), so the result is bit-identical to PIL's, not swscale's: PIL widens the
// triangle filter by the scale factor when shrinking (antialiasing), which swscale's bilinear does not.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "talkgen/error.hpp"
#include "talkgen/media.hpp"

namespace talkgen {
namespace {

struct Bucket {
  double ratio;  // height / width, the table's key
  int height;
  int width;
};

// ASPECT_RATIO_627 ("infinitetalk-480") and ASPECT_RATIO_960 ("infinitetalk-720"), in the reference's order.
constexpr Bucket kBuckets480[] = {
    {0.26, 320, 1216}, {0.38, 384, 1024}, {0.50, 448, 896}, {0.67, 512, 768}, {0.82, 576, 704},
    {1.00, 640, 640},  {1.22, 704, 576},  {1.50, 768, 512}, {1.86, 832, 448}, {2.00, 896, 448},
    {2.50, 960, 384},  {2.83, 1088, 384}, {3.60, 1152, 320}, {3.80, 1216, 320}, {4.00, 1280, 320},
};
constexpr Bucket kBuckets720[] = {
    {0.22, 448, 2048},  {0.29, 512, 1792},  {0.36, 576, 1600},  {0.45, 640, 1408}, {0.55, 704, 1280},
    {0.63, 768, 1216},  {0.76, 832, 1088},  {0.88, 896, 1024},  {1.00, 960, 960},  {1.14, 1024, 896},
    {1.31, 1088, 832},  {1.50, 1152, 768},  {1.58, 1216, 768},  {1.82, 1280, 704}, {1.91, 1344, 704},
    {2.20, 1408, 640},  {2.30, 1472, 640},  {2.67, 1536, 576},  {2.89, 1664, 576}, {3.62, 1856, 512},
    {3.75, 1920, 512},
};

// ---- Pillow's bilinear resample (libImaging/Resample.c) ----

constexpr int kPrecisionBits = 32 - 8 - 2;

double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

struct Coefficients {
  int ksize = 0;
  std::vector<int> bounds;         // per output pixel: first input index, number of taps
  std::vector<std::int32_t> kk;    // per output pixel: ksize fixed-point weights
};

// precompute_coeffs() + normalize_coeffs_8bpc() for the box [0, in_size).
Coefficients precompute(int in_size, int out_size) {
  const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = 1.0 * filterscale;  // the bilinear filter's support is 1
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<std::size_t>(out_size) * 2);
  c.kk.assign(static_cast<std::size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(static_cast<std::size_t>(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = bilinear_filter((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      c.kk[static_cast<std::size_t>(xx) * c.ksize + x] =
          static_cast<std::int32_t>(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
    }
    c.bounds[xx * 2] = xmin;
    c.bounds[xx * 2 + 1] = xmax;
  }
  return c;
}

std::uint8_t clip8(std::int64_t in) {
  if (in >= (static_cast<std::int64_t>(1) << kPrecisionBits << 8)) return 255;
  if (in <= 0) return 0;
  return static_cast<std::uint8_t>(in >> kPrecisionBits);
}

// Pillow accumulates in a 32-bit int; the weights sum to 2^22 and pixels are < 2^8, so 64 bits change nothing.
Image resample_horizontal(const Image& in, int out_width, int row_offset, int rows, const Coefficients& c) {
  Image out;
  out.width = out_width;
  out.height = rows;
  out.rgb.resize(static_cast<std::size_t>(out_width) * rows * 3);
  for (int yy = 0; yy < rows; ++yy) {
    const std::uint8_t* src = &in.rgb[static_cast<std::size_t>(yy + row_offset) * in.width * 3];
    std::uint8_t* dst = &out.rgb[static_cast<std::size_t>(yy) * out_width * 3];
    for (int xx = 0; xx < out_width; ++xx) {
      const int xmin = c.bounds[xx * 2], xmax = c.bounds[xx * 2 + 1];
      const std::int32_t* k = &c.kk[static_cast<std::size_t>(xx) * c.ksize];
      std::int64_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
      for (int x = 0; x < xmax; ++x) {
        const std::uint8_t* p = src + static_cast<std::size_t>(x + xmin) * 3;
        s0 += p[0] * static_cast<std::int64_t>(k[x]);
        s1 += p[1] * static_cast<std::int64_t>(k[x]);
        s2 += p[2] * static_cast<std::int64_t>(k[x]);
      }
      dst[xx * 3] = clip8(s0);
      dst[xx * 3 + 1] = clip8(s1);
      dst[xx * 3 + 2] = clip8(s2);
    }
  }
  return out;
}

Image resample_vertical(const Image& in, int out_height, const Coefficients& c, int bound_shift) {
  Image out;
  out.width = in.width;
  out.height = out_height;
  out.rgb.resize(static_cast<std::size_t>(in.width) * out_height * 3);
  const std::size_t stride = static_cast<std::size_t>(in.width) * 3;
  for (int yy = 0; yy < out_height; ++yy) {
    const int ymin = c.bounds[yy * 2] - bound_shift, ymax = c.bounds[yy * 2 + 1];
    const std::int32_t* k = &c.kk[static_cast<std::size_t>(yy) * c.ksize];
    std::uint8_t* dst = &out.rgb[yy * stride];
    for (std::size_t i = 0; i < stride; ++i) {
      std::int64_t s = 1 << (kPrecisionBits - 1);
      for (int y = 0; y < ymax; ++y) s += in.rgb[(y + ymin) * stride + i] * static_cast<std::int64_t>(k[y]);
      dst[i] = clip8(s);
    }
  }
  return out;
}

// PIL's Image.resize((width, height), Image.BILINEAR) for an RGB image (ImagingResampleInner).
Image pil_resize_bilinear(const Image& in, int width, int height) {
  const bool need_horizontal = width != in.width;
  const bool need_vertical = height != in.height;
  const Coefficients horizontal = precompute(in.width, width);
  const Coefficients vertical = precompute(in.height, height);
  const int first_row = vertical.bounds[0];
  const int last_row = vertical.bounds[height * 2 - 2] + vertical.bounds[height * 2 - 1];
  Image current = in;
  int bound_shift = 0;
  if (need_horizontal) {
    // Only the rows the vertical pass reads are resampled horizontally.
    current = resample_horizontal(in, width, first_row, last_row - first_row, horizontal);
    bound_shift = first_row;
  }
  if (need_vertical) return resample_vertical(current, height, vertical, bound_shift);
  return current;
}

void check_image(const Image& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    fail(ErrorCode::invalid_argument, "image of {}x{} holds {} bytes; expected width*height*3 = {} and a positive size",
         image.width, image.height, image.rgb.size(), static_cast<std::size_t>(std::max(image.width, 0)) *
                                                           std::max(image.height, 0) * 3);
}

}  // namespace

Size choose_bucket(int width, int height, Resolution resolution) {
  if (width <= 0 || height <= 0)
    fail(ErrorCode::invalid_argument, "cannot choose a bucket for a {}x{} image; width and height must be positive",
         width, height);
  const double ratio = static_cast<double>(height) / width;  // src_h / src_w, as the reference
  const Bucket* begin = resolution == Resolution::p480 ? std::begin(kBuckets480) : std::begin(kBuckets720);
  const Bucket* end = resolution == Resolution::p480 ? std::end(kBuckets480) : std::end(kBuckets720);
  // sorted(keys, key=|key - ratio|)[0]: Python's sort is stable, so a tie goes to the earlier (smaller) key.
  const Bucket* best = begin;
  for (const Bucket* b = begin; b != end; ++b)
    if (std::fabs(b->ratio - ratio) < std::fabs(best->ratio - ratio)) best = b;
  return Size{best->width, best->height};
}

Image resize_and_center_crop(const Image& image, Size target) {
  check_image(image);
  if (target.width <= 0 || target.height <= 0)
    fail(ErrorCode::invalid_argument, "cannot crop to {}x{}; the target size must be positive", target.width,
         target.height);
  // scale = max(target_h / orig_h, target_w / orig_w); final = ceil(scale * orig), in doubles as Python does.
  const double scale_h = static_cast<double>(target.height) / image.height;
  const double scale_w = static_cast<double>(target.width) / image.width;
  const double scale = std::max(scale_h, scale_w);
  const int final_h = static_cast<int>(std::ceil(scale * image.height));
  const int final_w = static_cast<int>(std::ceil(scale * image.width));
  const Image resized = pil_resize_bilinear(image, final_w, final_h);

  // torchvision center_crop: top = int(round((h - crop_h) / 2)), Python's round() ties to even.
  const int top = static_cast<int>(std::nearbyint((final_h - target.height) / 2.0));
  const int left = static_cast<int>(std::nearbyint((final_w - target.width) / 2.0));
  Image out;
  out.width = target.width;
  out.height = target.height;
  out.rgb.resize(static_cast<std::size_t>(target.width) * target.height * 3);
  for (int y = 0; y < target.height; ++y)
    std::copy_n(&resized.rgb[(static_cast<std::size_t>(y + top) * final_w + left) * 3],
                static_cast<std::size_t>(target.width) * 3, &out.rgb[static_cast<std::size_t>(y) * target.width * 3]);
  return out;
}

}  // namespace talkgen
