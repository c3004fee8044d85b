#include "samplers/guidance.hpp"

#include <algorithm>
#include <cmath>

#include "talkgen/error.hpp"

namespace talkgen::samplers {

bool is_unit_scale(double value) {
  // math.isclose(a, b) with rel_tol=1e-9, abs_tol=0.
  return std::abs(value - 1.0) <= 1e-9 * std::max(std::abs(value), 1.0);
}

std::vector<ForwardKind> forwards_needed(const GuidanceConfig& config) {
  if (is_unit_scale(config.text_scale)) {
    if (is_unit_scale(config.audio_scale)) return {ForwardKind::cond};
    return {ForwardKind::cond, ForwardKind::drop_audio};
  }
  return {ForwardKind::cond, ForwardKind::drop_text, ForwardKind::uncond};
}

void MomentumBuffer::update(const at::Tensor& value) {
  // The reference starts from the integer 0: momentum * 0 + value == value.
  running_ = running_.defined() ? value + running_ * momentum_ : value.clone();
}

at::Tensor adaptive_projected_guidance(const at::Tensor& diff_in, const at::Tensor& pred_cond, MomentumBuffer* buffer,
                                       double eta, double norm_threshold) {
  at::Tensor diff = diff_in;
  if (buffer) {
    buffer->update(diff);
    diff = buffer->running_average();
  }
  // The reference reduces over the last four dims ([C, T, H, W]) of each sample.
  const std::vector<int64_t> dims{-1, -2, -3, -4};
  if (norm_threshold > 0) {
    at::Tensor norm = at::norm(diff, 2, dims, /*keepdim=*/true);
    // norm_threshold / diff_norm is Python's __rtruediv__: reciprocal() * threshold.
    at::Tensor scale = at::minimum(at::ones_like(diff), norm.reciprocal() * norm_threshold);
    diff = diff * scale;
  }
  // project(): float64, v1 normalised (F.normalize: v / max(||v||, 1e-12)).
  const auto dtype = diff.scalar_type();
  at::Tensor v0 = diff.to(at::kDouble), v1 = pred_cond.to(at::kDouble);
  v1 = v1 / at::norm(v1, 2, dims, true).clamp_min(1e-12).expand_as(v1);
  at::Tensor parallel = (v0 * v1).sum(dims, /*keepdim=*/true) * v1;
  at::Tensor orthogonal = v0 - parallel;
  return orthogonal.to(dtype) + parallel.to(dtype) * eta;
}

Guidance::Guidance(const GuidanceConfig& config) : config_(config), forwards_(forwards_needed(config)) {
  for (double s : {config.text_scale, config.audio_scale, config.apg_momentum, config.apg_norm_threshold})
    if (!std::isfinite(s)) fail(ErrorCode::invalid_argument, "guidance settings must be finite numbers, got {}", s);
  if (config.use_apg) {
    text_buffer_.emplace(config.apg_momentum);
    audio_buffer_.emplace(config.apg_momentum);
  }
}

at::Tensor Guidance::combine(const std::vector<at::Tensor>& p) {
  if (p.size() != forwards_.size())
    fail(ErrorCode::internal, "guidance expects {} predictions, got {}", forwards_.size(), p.size());
  const double ts = config_.text_scale, as = config_.audio_scale;
  if (forwards_.size() == 1) return p[0];
  const at::Tensor& cond = p[0];
  if (forwards_.size() == 2) {  // text scale 1: cond, drop_audio
    const at::Tensor& drop_audio = p[1];
    if (config_.use_apg) {
      at::Tensor diff = cond - drop_audio;
      return cond + adaptive_projected_guidance(diff, cond, &*audio_buffer_, 0.0, config_.apg_norm_threshold) *
                        (as - 1.0);
    }
    return drop_audio + (cond - drop_audio) * as;
  }
  const at::Tensor& drop_text = p[1];
  const at::Tensor& uncond = p[2];
  if (config_.use_apg) {
    at::Tensor diff_text = cond - drop_text;
    at::Tensor diff_audio = drop_text - uncond;
    at::Tensor text_part =
        adaptive_projected_guidance(diff_text, cond, &*text_buffer_, 0.0, config_.apg_norm_threshold) * (ts - 1.0);
    at::Tensor audio_part =
        adaptive_projected_guidance(diff_audio, cond, &*audio_buffer_, 0.0, config_.apg_norm_threshold) * (as - 1.0);
    return (cond + text_part) + audio_part;
  }
  return (uncond + (cond - drop_text) * ts) + (drop_text - uncond) * as;
}

}  // namespace talkgen::samplers
