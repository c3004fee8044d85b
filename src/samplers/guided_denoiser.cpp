#include "samplers/guided_denoiser.hpp"

#include <algorithm>

#include "talkgen/error.hpp"

namespace talkgen::samplers {
namespace {

bool drops_text(ForwardKind kind) { return kind == ForwardKind::drop_text || kind == ForwardKind::uncond; }
bool drops_audio(ForwardKind kind) { return kind == ForwardKind::drop_audio || kind == ForwardKind::uncond; }

// The DiT inputs (conditions only) of `kind`.
model::dit::DitInputs inputs_of(ForwardKind kind, const GuidanceConditions& c, const at::Tensor& null_audio) {
  model::dit::DitInputs in;
  in.context = drops_text(kind) ? c.negative : c.prompt;
  in.clip_fea = c.clip;
  in.audio = drops_audio(kind) ? null_audio : c.audio;
  in.ref_target_masks = c.speaker_regions;  // read by the DiT only where the audio has two speakers
  return in;
}

}  // namespace

GuidedDenoiser::GuidedDenoiser(const model::dit::DitModel& dit, const std::vector<ForwardKind>& kinds,
                               const GuidanceConditions& c, bool batched, Communicator* comm)
    : dit_(dit), comm_(comm), y_(c.y), kinds_(kinds), batched_(batched && kinds.size() > 1 && c.audio.size(1) == 1) {
  if (kinds.empty()) fail(ErrorCode::internal, "GuidedDenoiser: no forward kinds");
  const at::Tensor null_audio = at::zeros_like(c.audio.narrow(1, c.audio.size(1) - 1, 1));
  if (!batched_) {
    for (ForwardKind kind : kinds) single_[kind] = dit.embed_conditions(inputs_of(kind, c, null_audio));
    return;
  }
  // The prompts of different lengths would not stack; umT5 contexts here are all padded to text_len, but
  // pad anyway so any two contexts fit (embed_conditions zero-pads to text_len, so this changes nothing).
  const int64_t text_len = std::max(c.prompt.size(1), c.negative.size(1));
  auto padded = [&](const at::Tensor& t) { return at::constant_pad_nd(t, {0, 0, 0, text_len - t.size(1)}); };
  std::vector<at::Tensor> contexts, audios;
  for (ForwardKind kind : kinds) {
    const auto in = inputs_of(kind, c, null_audio);
    contexts.push_back(padded(in.context));
    audios.push_back(in.audio);
  }
  model::dit::DitInputs in;
  in.context = at::cat(contexts, 0);
  in.clip_fea = c.clip.expand({static_cast<int64_t>(kinds.size()), -1, -1}).contiguous();
  in.audio = at::cat(audios, 0);
  batch_ = dit.embed_conditions(in);
}

at::Tensor GuidedDenoiser::forward(const model::dit::DitConditions& conditions, const at::Tensor& x,
                                   const at::Tensor& t) const {
  const int64_t batch = conditions.context.size(0);
  model::dit::DitInputs in;
  in.x = batch == x.size(0) ? x : x.expand({batch, -1, -1, -1, -1});
  in.t = batch == t.size(0) ? t : t.expand({batch}).contiguous();
  in.y = batch == y_.size(0) ? y_ : y_.expand({batch, -1, -1, -1, -1});
  return dit_.forward_embedded(in, conditions, comm_);
}

std::vector<at::Tensor> GuidedDenoiser::operator()(const std::vector<ForwardKind>& kinds, const at::Tensor& x,
                                                   const at::Tensor& t) const {
  std::vector<at::Tensor> out;
  out.reserve(kinds.size());
  if (!batched_) {
    for (ForwardKind kind : kinds) {
      const auto it = single_.find(kind);
      if (it == single_.end()) fail(ErrorCode::internal, "GuidedDenoiser: forward kind {} was not prepared", static_cast<int>(kind));
      out.push_back(forward(it->second, x, t));
    }
    return out;
  }
  const at::Tensor all = forward(batch_, x, t);  // [kinds_.size(), z, F, h, w]
  for (ForwardKind kind : kinds) {
    const auto it = std::find(kinds_.begin(), kinds_.end(), kind);
    if (it == kinds_.end()) fail(ErrorCode::internal, "GuidedDenoiser: forward kind {} was not prepared", static_cast<int>(kind));
    out.push_back(all.narrow(0, it - kinds_.begin(), 1));
  }
  return out;
}

StepDenoiser GuidedDenoiser::step_denoiser() const {
  return [this](const std::vector<ForwardKind>& kinds, const at::Tensor& x, const at::Tensor& t) {
    return (*this)(kinds, x, t);
  };
}

}  // namespace talkgen::samplers
