#include "model/dit/dit_rope.hpp"

#include "talkgen/error.hpp"

namespace talkgen::model::dit {
namespace {

// rope_params(1024, n): angle[p, i] = p * theta^(-2i/n), float64.
at::Tensor axis_angles(int64_t n) {
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  const auto inv = at::pow(10000.0, -at::arange(0, n, 2, opts) / static_cast<double>(n));
  return at::outer(at::arange(Rope3d::kMaxPositions, opts), inv);
}

}  // namespace

Rope3d::Rope3d(int64_t head_dim) : head_dim_(head_dim) {
  const int64_t d6 = head_dim / 6;
  const auto angles = at::cat({axis_angles(head_dim - 4 * d6), axis_angles(2 * d6), axis_angles(2 * d6)}, 1);
  cos_cpu_ = at::cos(angles).to(at::kFloat);
  sin_cpu_ = at::sin(angles).to(at::kFloat);
}

RopeGrid Rope3d::grid(int64_t f, int64_t h, int64_t w, const at::Device& device) const {
  if (f > kMaxPositions || h > kMaxPositions || w > kMaxPositions)
    fail(ErrorCode::invalid_argument, "RoPE grid {}x{}x{} tokens exceeds the model's {} positions per axis", f, h, w,
         kMaxPositions);
  std::lock_guard<std::mutex> lock(mutex_);
  if (cached_.cos.defined() && cached_f_ == f && cached_h_ == h && cached_w_ == w && cached_.cos.device() == device)
    return cached_;
  if (!cos_dev_.defined() || cos_dev_.device() != device) {
    cos_dev_ = cos_cpu_.to(device);
    sin_dev_ = sin_cpu_.to(device);
  }
  // rope_apply's split of the d/2 complex channels: [c - 2*(c/3), c/3, c/3] with c = d/2.
  const int64_t c = head_dim_ / 2, c3 = c / 3;
  const std::vector<int64_t> split{c - 2 * c3, c3, c3};
  auto build = [&](const at::Tensor& table) {
    const auto parts = table.split_with_sizes(split, 1);
    const auto tf = parts[0].slice(0, 0, f).view({f, 1, 1, -1}).expand({f, h, w, split[0]});
    const auto th = parts[1].slice(0, 0, h).view({1, h, 1, -1}).expand({f, h, w, split[1]});
    const auto tw = parts[2].slice(0, 0, w).view({1, 1, w, -1}).expand({f, h, w, split[2]});
    return at::cat({tf, th, tw}, -1).reshape({f * h * w, 1, c});
  };
  const auto cos = build(cos_dev_), sin = build(sin_dev_);
  cached_ = RopeGrid{cos, sin, at::complex(cos, sin)};
  cached_f_ = f, cached_h_ = h, cached_w_ = w;
  return cached_;
}

at::Tensor apply_rope(const at::Tensor& x, const RopeGrid& grid) {
  const auto pairs = x.to(at::kFloat).unflatten(-1, {x.size(-1) / 2, 2});
  const auto re = pairs.select(-1, 0), im = pairs.select(-1, 1);
  return at::stack({re * grid.cos - im * grid.sin, re * grid.sin + im * grid.cos}, -1).flatten(-2);
}

}  // namespace talkgen::model::dit
