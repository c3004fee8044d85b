// 3-D rotary position embedding of the Wan self-attention (rope_params / rope_apply in the reference).
//
// The head dim d is split into a time part (d - 4*(d/6)) and height / width parts (2*(d/6) each); each
// consecutive channel pair (x[2i], x[2i+1]) is rotated by pos * theta^(-2i/n) of its axis. The
// reference multiplies in complex float64; here the angles' cos/sin are computed once in float64 on the
// host and kept in float32 on the device, and the rotation runs in float32 (the reference casts its
// result to float32 too).
#pragma once

#include <cstdint>
#include <mutex>

#include <ATen/ATen.h>

namespace talkgen::model::dit {

/// cos/sin of every token of one (frames, height, width) grid: [L, 1, d/2] float32 each, and optionally
/// the same angles as one complex64 table cos + i sin (the fused RoPE's multiplier; built from cos/sin
/// where absent).
struct RopeGrid {
  at::Tensor cos, sin;
  at::Tensor rotation;
};

class Rope3d {
 public:
  /// Positions per axis the reference precomputes (rope_params(1024, ...)).
  static constexpr int64_t kMaxPositions = 1024;

  explicit Rope3d(int64_t head_dim);

  /// The tables for a grid of f x h x w tokens (row-major f, h, w), on `device`. Cached: the same
  /// grid on the same device costs nothing after the first call. Thread-safe.
  RopeGrid grid(int64_t f, int64_t h, int64_t w, const at::Device& device) const;

  int64_t head_dim() const { return head_dim_; }

 private:
  int64_t head_dim_;
  at::Tensor cos_cpu_, sin_cpu_;  // [kMaxPositions, d/2]: the three axes' angles side by side
  mutable std::mutex mutex_;
  mutable at::Tensor cos_dev_, sin_dev_;
  mutable int64_t cached_f_ = -1, cached_h_ = -1, cached_w_ = -1;
  mutable RopeGrid cached_;
};

/// Rotates x [B, L, H, d] (any float dtype) by the grid's angles; returns float32 [B, L, H, d].
at::Tensor apply_rope(const at::Tensor& x, const RopeGrid& grid);

}  // namespace talkgen::model::dit
