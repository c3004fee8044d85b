// Spatial tiling for decoding on small GPUs: the latent frame is cut into overlapping tiles, each
// tile is decoded on its own (with its own feature cache) together with a margin of context (the
// halo) that is cropped off afterwards, and the tiles are blended with weights that ramp linearly
// across each overlap and are normalised to sum to 1 at every pixel.
//
// Tiled decoding is an approximation. Without a halo, pixels near a tile edge see zero padding where
// the untiled decoder sees the neighbours (its convolutions reach ~17 latent px); that, not the
// mid-level attention (which sees only its tile), is most of the difference, so the halo removes most
// of it and the ramps hide what is left. Measured in tests/model_vae/vae_tiling_test.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

namespace talkgen::model::vae {

struct TileOptions {
  int64_t tile_latent = 32;     // tile side in latent pixels (video pixels: x8)
  int64_t overlap_latent = 8;   // overlap of neighbouring tiles in latent pixels (blended)
  int64_t halo_latent = 8;      // context decoded around each tile and then dropped (0 = none)
  /// Throws Error(invalid_argument) unless tile > 0, 0 <= overlap < tile and halo >= 0.
  void validate() const;
};

/// [begin, end) along one latent axis.
struct TileSpan {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

/// Tiles covering [0, length): steps of tile - overlap, the last one flush with the end; one tile
/// when length <= tile.
std::vector<TileSpan> plan_tiles(int64_t length, const TileOptions& options);

/// Blends tiles decoded from latent tiles into one frame stack.
class TileBlender {
 public:
  /// `latent_h/w`: the latent frame; `stride`: output pixels per latent pixel (8).
  TileBlender(int64_t latent_h, int64_t latent_w, int64_t stride, const TileOptions& options);

  size_t tiles() const { return rows_.size() * cols_.size(); }
  TileSpan row(size_t tile) const { return rows_[tile / cols_.size()]; }
  TileSpan col(size_t tile) const { return cols_[tile % cols_.size()]; }
  /// The latent region a tile decodes: its span widened by the halo (within the frame).
  at::Tensor crop(const at::Tensor& latents, size_t tile) const;
  /// The weights of one tile's output pixels, [th*stride, tw*stride]; over all tiles they sum to 1.
  const at::Tensor& weights(size_t tile) const { return weights_[tile]; }
  /// Drops the halo from `frames` (decoded from crop(latents, tile)) and adds weights(tile) * frames
  /// to out's tile region. `out` is [B, C, T, H*stride, W*stride] (float).
  void accumulate(at::Tensor& out, size_t tile, const at::Tensor& frames) const;
  /// Moves the weights to a device once (they start on the CPU).
  void to(at::Device device);

 private:
  TileSpan with_halo(TileSpan span, int64_t length) const;

  std::vector<TileSpan> rows_, cols_;
  int64_t latent_h_, latent_w_, stride_, halo_;
  std::vector<at::Tensor> weights_;
};

}  // namespace talkgen::model::vae
