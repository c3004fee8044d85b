// The measurement behind the tiled-decoding bounds of vae_tiling_test.cpp (hidden, and tagged only
// [.measure] so that "[tiling]" filters leave it out: it takes ~12 minutes on 2 CPU cores).
//
//   build/tests/test_model_vae "[.measure]"
//
// The reference has no tiled decoding (wan/modules/vae.py decodes whole frames), so there is nothing to
// compare tiled frames with but our own untiled decode. This decodes many cases both ways and prints the
// distribution of max and mean |tiled - untiled| per tile layout, where the largest difference sits, and
// how much of a case's error its worst few pixels are. Cases: tiny random-weight VAEs (the tests' config,
// base width 4) x latent sizes x three kinds of latents:
//   white    - N(0, 1) per element, as the tests draw them (nothing smooth: the worst case);
//   smooth   - N(0, 1) drawn on a grid 4x coarser and upsampled bicubically, rescaled to unit std (real
//              latents are spatially correlated);
//   portrait - the same VAE's encoding of gen_pipeline.py's synthetic test portrait (gradient background,
//              a face disc, an eye), redrawn at the frame size and drifting 1 px per frame.
// Results (and the date they were taken) are in tests/data/parity/README.md, section "VAE tiling"; the
// output of that run is vae_tiling_measure.log next to this file.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "model/vae/vae_tiling.hpp"
#include "vae_test_util.hpp"

using namespace talkgen;
using namespace talkgen::model;
using namespace vae_test;

namespace {

vae::TileOptions tiles(int64_t tile, int64_t overlap, int64_t halo) {
  vae::TileOptions t;
  t.tile_latent = tile;
  t.overlap_latent = overlap;
  t.halo_latent = halo;
  return t;
}

std::string name_of(const vae::TileOptions& t) {
  return "tile " + std::to_string(t.tile_latent) + " overlap " + std::to_string(t.overlap_latent) + " halo " +
         std::to_string(t.halo_latent);
}

// gen_pipeline.py's make_portrait (120x90 there) at h x w pixels, shifted right by `shift` px; in [-1, 1].
at::Tensor portrait_frame(int64_t h, int64_t w, double shift) {
  const at::Tensor y = at::arange(h, at::kFloat).view({h, 1}).expand({h, w});
  const at::Tensor x = (at::arange(w, at::kFloat) - shift).view({1, w}).expand({h, w});
  const double s = static_cast<double>(h) / 90.0;  // the eye's offsets and size scale with the picture
  const at::Tensor face = (x - w / 2.0).pow(2) + (y - h / 2.0).pow(2) < std::pow(0.3 * h, 2);
  const at::Tensor eye = (x - w / 2.0 - 8 * s).pow(2) + (y - h / 2.0 + 6 * s).pow(2) < 9 * s * s;
  at::Tensor r = 60 + 120 * x / w, g = 80 + 100 * y / h, b = 150 - 60 * (x + y) / (w + h);
  r = at::where(face, at::full_like(r, 220), r);
  g = at::where(face, at::full_like(g, 170), g);
  b = at::where(face, at::full_like(b, 140), b);
  r = at::where(eye, at::full_like(r, 30), r);
  g = at::where(eye, at::full_like(g, 30), g);
  b = at::where(eye, at::full_like(b, 60), b);
  return at::stack({r, g, b}).round().clamp(0, 255) / 127.5 - 1;  // [3, h, w]
}

at::Tensor portrait_latents(const WanVae& vae, int64_t latent_frames, int64_t h, int64_t w) {
  std::vector<at::Tensor> frames;
  for (int64_t f = 0; f < 1 + 4 * (latent_frames - 1); ++f) frames.push_back(portrait_frame(8 * h, 8 * w, f));
  return vae.encode(at::stack(frames, 1).unsqueeze(0));
}

at::Tensor smooth_latents(int64_t latent_frames, int64_t h, int64_t w, uint64_t seed) {
  at::manual_seed(seed);
  const at::Tensor coarse = at::randn({latent_frames, 16, (h + 3) / 4 + 1, (w + 3) / 4 + 1});
  at::Tensor z = at::upsample_bicubic2d(coarse, {h, w}, /*align_corners=*/false);
  z = z / z.std();
  return z.permute({1, 0, 2, 3}).unsqueeze(0).contiguous();  // [1, 16, t, h, w]
}

struct CaseResult {
  std::string label;
  double max = 0, mean = 0, p999 = 0;
  int64_t at_border_px = 0;     // distance of the max from the frame's nearest edge
  int64_t at_seam_px = 0;       // distance of the max from the nearest interior tile edge (rows or columns)
  double share_over_half = 0;   // fraction of pixels above half the case's max
};

// Distance from `pos` (pixel) to the nearest interior tile boundary along one axis.
int64_t seam_distance(int64_t pos, int64_t latent_length, const vae::TileOptions& t) {
  int64_t best = 1 << 30;
  for (const auto& span : vae::plan_tiles(latent_length, t)) {
    if (span.begin > 0) best = std::min(best, std::abs(pos - span.begin * 8));
    if (span.end < latent_length) best = std::min(best, std::abs(pos - span.end * 8));
  }
  return best;
}

CaseResult compare(const WanVae& vae, const at::Tensor& z, const at::Tensor& whole, const vae::TileOptions& t) {
  vae::DecodeOptions options;
  options.tiling = t;
  const at::Tensor d = (vae.decode(z, options) - whole).abs().to(at::kDouble);  // [1, 3, T, H, W]
  CaseResult r;
  r.max = d.max().item<double>();
  r.mean = d.mean().item<double>();
  const at::Tensor flat = std::get<0>(d.flatten().sort());
  r.p999 = flat[static_cast<int64_t>(0.999 * (flat.numel() - 1))].item<double>();
  r.share_over_half = (d > 0.5 * r.max).to(at::kDouble).mean().item<double>();
  const int64_t H = d.size(3), W = d.size(4);
  const int64_t index = d.argmax().item<int64_t>();
  const int64_t x = index % W, y = (index / W) % H;
  r.at_border_px = std::min({y, H - 1 - y, x, W - 1 - x});
  r.at_seam_px = std::min(seam_distance(y, z.size(3), t), seam_distance(x, z.size(4), t));
  return r;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(std::ceil(q * v.size())) - 1];  // nearest rank
}

void summarise(const std::string& title, const std::vector<CaseResult>& results) {
  std::vector<double> maxes, means, p999, share;
  int near_border = 0, near_seam = 0;
  for (const auto& r : results) {
    maxes.push_back(r.max);
    means.push_back(r.mean);
    p999.push_back(r.p999 / r.max);
    share.push_back(r.share_over_half);
    near_border += r.at_border_px < 16;
    near_seam += r.at_seam_px < 16;
  }
  const auto worst = std::max_element(results.begin(), results.end(),
                                      [](const CaseResult& a, const CaseResult& b) { return a.max < b.max; });
  std::printf("%-44s n=%3zu  max: p50 %.4f p90 %.4f p99 %.4f max %.4f | mean: p50 %.5f p90 %.5f max %.5f\n",
              title.c_str(), results.size(), quantile(maxes, 0.5), quantile(maxes, 0.9), quantile(maxes, 0.99),
              quantile(maxes, 1.0), quantile(means, 0.5), quantile(means, 0.9), quantile(means, 1.0));
  std::printf("%-44s   max within 16 px of the frame edge in %d, of a tile edge in %d; p99.9/max median %.2f; "
              "pixels > max/2 median %.2e; worst: %s\n",
              "", near_border, near_seam, quantile(p999, 0.5), quantile(share, 0.5), worst->label.c_str());
}

}  // namespace

TEST_CASE("VAE tiling measurement: tiled vs untiled over many cases", "[.measure]") {
  // The layout vae_tiling_test.cpp bounds (6 / 3 / 6), and the same with less halo.
  const std::vector<vae::TileOptions> layouts = {tiles(6, 3, 6), tiles(6, 3, 3), tiles(6, 3, 0)};
  const std::vector<std::pair<int64_t, int64_t>> sizes = {{12, 16}, {9, 13}, {10, 14}};
  const int64_t latent_frames = 2;
  std::map<std::string, std::vector<CaseResult>> by_layout, by_layout_kind;
  int cases = 0;
  for (const uint64_t weights : {7, 8, 9, 10}) {
    const auto vae = tiny_vae(weights);
    for (const auto& [h, w] : sizes) {
      std::vector<std::pair<std::string, at::Tensor>> latents;
      for (const uint64_t seed : {13, 14}) {
        latents.emplace_back("white seed " + std::to_string(seed), random_latents(1, latent_frames, h, w, seed));
        latents.emplace_back("smooth seed " + std::to_string(seed), smooth_latents(latent_frames, h, w, seed));
      }
      latents.emplace_back("portrait", portrait_latents(*vae, latent_frames, h, w));
      for (const auto& [kind, z] : latents) {
        ++cases;
        const at::Tensor whole = vae->decode(z);
        for (const auto& layout : layouts) {
          CaseResult r = compare(*vae, z, whole, layout);
          r.label = "vae " + std::to_string(weights) + " " + std::to_string(h) + "x" + std::to_string(w) + " " + kind;
          by_layout[name_of(layout)].push_back(r);
          by_layout_kind[name_of(layout) + ", " + kind.substr(0, kind.find(' '))].push_back(r);
          std::printf("case %s, %s: max %.4f mean %.5f\n", r.label.c_str(), name_of(layout).c_str(), r.max, r.mean);
        }
        std::fflush(stdout);
      }
    }
  }
  std::printf("VAE tiling measurement: %d cases (4 random-weight tiny VAEs x 3 latent sizes x 5 latents), "
              "%lld latent frames each\n", cases, static_cast<long long>(latent_frames));
  for (const auto& [title, results] : by_layout) summarise(title, results);
  for (const auto& [title, results] : by_layout_kind) summarise(title, results);

  // The library's default layout (32 / 8 / 8) with and without its halo, on 40 x 64 latents (320 x 512 px:
  // 2 x 3 tiles; the 480x832 size, 60 x 104, takes too long on a CPU for a measurement run).
  std::vector<CaseResult> by_default, no_halo;
  const auto vae = tiny_vae(7);
  const char* names[] = {"white", "smooth", "portrait"};
  for (int kind = 0; kind < 3; ++kind) {
    const at::Tensor z = kind == 0   ? random_latents(1, latent_frames, 40, 64, 13)
                         : kind == 1 ? smooth_latents(latent_frames, 40, 64, 13)
                                     : portrait_latents(*vae, latent_frames, 40, 64);
    const at::Tensor whole = vae->decode(z);
    CaseResult a = compare(*vae, z, whole, vae::TileOptions{});
    CaseResult b = compare(*vae, z, whole, tiles(32, 8, 0));
    a.label = b.label = std::string("vae 7 40x64 ") + names[kind];
    std::printf("case %s, default: max %.4f mean %.5f; halo 0: max %.4f mean %.5f\n", a.label.c_str(), a.max, a.mean,
                b.max, b.mean);
    std::fflush(stdout);
    by_default.push_back(a);
    no_halo.push_back(b);
  }
  summarise("default tile 32 overlap 8 halo 8, 40x64", by_default);
  summarise("tile 32 overlap 8 halo 0, 40x64", no_halo);
  CHECK(cases >= 50);
}
