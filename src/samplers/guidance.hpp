// Classifier-free guidance over the text and audio conditions (wan/multitalk.py), optionally with
// adaptive projected guidance (APG, https://arxiv.org/abs/2410.02416; wan/utils/multitalk_utils.py).
//
// Forwards per step, and how they combine (vanilla CFG):
//   text != 1:          cond, drop_text (null text), uncond (null text + null audio)
//                       pred = uncond + text * (cond - drop_text) + audio * (drop_text - uncond)
//   text == 1:          cond, drop_audio (null audio)
//                       pred = drop_audio + audio * (cond - drop_audio)
//   text == audio == 1: cond only; pred = cond. (The reference still runs drop_audio and computes
//                       drop_audio + 1 * (cond - drop_audio), which equals cond up to one rounding.)
// "== 1" is Python's math.isclose (relative tolerance 1e-9), as in the reference.
#pragma once

#include <optional>
#include <vector>

#include <ATen/ATen.h>

namespace talkgen::samplers {

enum class ForwardKind { cond, drop_text, drop_audio, uncond };

struct GuidanceConfig {
  double text_scale = 5.0;
  double audio_scale = 4.0;
  bool use_apg = false;
  double apg_momentum = -0.75;
  double apg_norm_threshold = 55.0;
};

/// math.isclose(value, 1.0).
bool is_unit_scale(double value);
/// The forwards one step needs, cond first.
std::vector<ForwardKind> forwards_needed(const GuidanceConfig& config);

/// The reference's MomentumBuffer: running = update + momentum * running (running starts at 0).
class MomentumBuffer {
 public:
  explicit MomentumBuffer(double momentum) : momentum_(momentum) {}
  void update(const at::Tensor& value);
  const at::Tensor& running_average() const { return running_; }

 private:
  double momentum_;
  at::Tensor running_;
};

/// adaptive_projected_guidance(diff, pred_cond, momentum_buffer, eta, norm_threshold): momentum, then the
/// norm over each sample's [C, T, H, W] clipped to norm_threshold, then the part of diff orthogonal to
/// pred_cond (+ eta times the parallel part), projected in float64 as the reference does.
at::Tensor adaptive_projected_guidance(const at::Tensor& diff, const at::Tensor& pred_cond, MomentumBuffer* buffer,
                                       double eta, double norm_threshold);

/// Combines one step's predictions. Holds the APG momentum, so make one per chunk (as the reference).
class Guidance {
 public:
  explicit Guidance(const GuidanceConfig& config);
  const std::vector<ForwardKind>& forwards() const { return forwards_; }
  /// `predictions[k]` is the model output for forwards()[k]. Returns the guided prediction (the
  /// reference's noise_pred before its negation).
  at::Tensor combine(const std::vector<at::Tensor>& predictions);

 private:
  GuidanceConfig config_;
  std::vector<ForwardKind> forwards_;
  std::optional<MomentumBuffer> text_buffer_, audio_buffer_;
};

}  // namespace talkgen::samplers
