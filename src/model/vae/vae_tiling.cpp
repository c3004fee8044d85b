#include "model/vae/vae_tiling.hpp"

#include <algorithm>

#include "talkgen/error.hpp"

namespace talkgen::model::vae {
namespace {

// Linear ramp over the first/last `ramp` pixels of a span that borders another tile; flat at the
// frame's own edges, where no other tile contributes.
at::Tensor axis_ramp(TileSpan span, int64_t length, int64_t stride, int64_t overlap) {
  const int64_t n = span.size() * stride;
  at::Tensor pos = at::arange(n, at::kDouble) + 0.5;  // pixel centres within the tile
  at::Tensor w = at::ones({n}, at::kDouble);
  const double ramp = static_cast<double>(overlap * stride);
  if (ramp > 0 && span.begin > 0) w = w * (pos / ramp).clamp(0.0, 1.0);
  if (ramp > 0 && span.end < length) w = w * ((static_cast<double>(n) - pos) / ramp).clamp(0.0, 1.0);
  return w;
}

}  // namespace

void TileOptions::validate() const {
  if (tile_latent <= 0 || overlap_latent < 0 || overlap_latent >= tile_latent || halo_latent < 0) {
    fail(ErrorCode::invalid_argument,
         "VAE tiling: need tile > 0, 0 <= overlap < tile and halo >= 0 (latent pixels), found tile={} overlap={} "
         "halo={}; e.g. tile 32, overlap 8, halo 8", tile_latent, overlap_latent, halo_latent);
  }
}

std::vector<TileSpan> plan_tiles(int64_t length, const TileOptions& options) {
  options.validate();
  if (length <= options.tile_latent) return {{0, length}};
  std::vector<TileSpan> spans;
  const int64_t step = options.tile_latent - options.overlap_latent;
  for (int64_t begin = 0;; begin += step) {
    if (begin + options.tile_latent >= length) {
      spans.push_back({length - options.tile_latent, length});
      break;
    }
    spans.push_back({begin, begin + options.tile_latent});
  }
  return spans;
}

TileBlender::TileBlender(int64_t latent_h, int64_t latent_w, int64_t stride, const TileOptions& options)
    : rows_(plan_tiles(latent_h, options)),
      cols_(plan_tiles(latent_w, options)),
      latent_h_(latent_h),
      latent_w_(latent_w),
      stride_(stride),
      halo_(options.halo_latent) {
  // Raw weights, their sum over tiles, then each tile's share: sum_i w_i / W = 1 everywhere.
  at::Tensor total = at::zeros({latent_h * stride, latent_w * stride}, at::kDouble);
  std::vector<at::Tensor> raw;
  for (size_t t = 0; t < tiles(); ++t) {
    const TileSpan r = row(t), c = col(t);
    raw.push_back(at::outer(axis_ramp(r, latent_h, stride, options.overlap_latent),
                            axis_ramp(c, latent_w, stride, options.overlap_latent)));
    total.slice(0, r.begin * stride, r.end * stride).slice(1, c.begin * stride, c.end * stride) += raw.back();
  }
  for (size_t t = 0; t < tiles(); ++t) {
    const TileSpan r = row(t), c = col(t);
    at::Tensor share = total.slice(0, r.begin * stride, r.end * stride).slice(1, c.begin * stride, c.end * stride);
    weights_.push_back((raw[t] / share).to(at::kFloat));
  }
}

TileSpan TileBlender::with_halo(TileSpan span, int64_t length) const {
  return {std::max<int64_t>(0, span.begin - halo_), std::min(length, span.end + halo_)};
}

at::Tensor TileBlender::crop(const at::Tensor& latents, size_t tile) const {
  const TileSpan r = with_halo(row(tile), latent_h_), c = with_halo(col(tile), latent_w_);
  return latents.slice(3, r.begin, r.end).slice(4, c.begin, c.end);
}

void TileBlender::accumulate(at::Tensor& out, size_t tile, const at::Tensor& frames) const {
  const TileSpan r = row(tile), c = col(tile);
  const TileSpan hr = with_halo(r, latent_h_), hc = with_halo(c, latent_w_);
  const at::Tensor inner = frames.slice(3, (r.begin - hr.begin) * stride_, (r.end - hr.begin) * stride_)
                               .slice(4, (c.begin - hc.begin) * stride_, (c.end - hc.begin) * stride_);
  out.slice(3, r.begin * stride_, r.end * stride_).slice(4, c.begin * stride_, c.end * stride_) +=
      inner.to(at::kFloat) * weights_[tile];
}

void TileBlender::to(at::Device device) {
  for (auto& w : weights_) w = w.to(device);
}

}  // namespace talkgen::model::vae
