#include "model/dit/dit_speakers.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "model/layers/attention.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::dit {
namespace {

// F.interpolate(mode='nearest')'s source index: floor(dst * (in / out)) with a float32 scale, clamped.
at::Tensor nearest_indices(int64_t in, int64_t out) {
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  std::vector<int64_t> idx(out);
  for (int64_t i = 0; i < out; ++i)
    idx[i] = std::min(static_cast<int64_t>(std::floor(static_cast<float>(i) * scale)), in - 1);
  return at::tensor(idx, at::kLong);
}

}  // namespace

SpeakerRouting SpeakerRouting::from_masks(const at::Tensor& ref_target_masks, int64_t speakers, int64_t h, int64_t w,
                                          const at::Device& device) {
  const auto& m = ref_target_masks;
  if (!m.defined())
    fail(ErrorCode::invalid_argument,
         "{} speakers need ref_target_masks [{} or {}, H, W] (person 1, person 2, then the background); none was "
         "given: pass one mask per person (e.g. from the bounding boxes of the faces)",
         speakers, speakers, speakers + 1);
  if (m.dim() != 3 || (m.size(0) != speakers && m.size(0) != speakers + 1) || m.size(1) < 1 || m.size(2) < 1)
    fail(ErrorCode::invalid_argument,
         "ref_target_masks has shape [{}]; expected [{} or {}, H, W] for {} speakers (one mask per person, then "
         "optionally the background)",
         fmt::join(m.sizes(), ", "), speakers, speakers + 1, speakers);
  // Nearest cut to the patch grid on the host (a few thousand values), then binarised as the reference.
  auto grid = m.detach().to(at::kCPU, at::kFloat);
  grid = grid.index_select(1, nearest_indices(m.size(1), h)).index_select(2, nearest_indices(m.size(2), w));
  auto masks = (grid > 0).to(at::kFloat).reshape({m.size(0), h * w});
  auto counts = masks.sum(1);
  for (int64_t p = 0; p < speakers; ++p)
    if (counts[p].item<double>() == 0)
      fail(ErrorCode::invalid_argument,
           "ref_target_masks: person {}'s mask ({}x{}) covers no token of the {}x{} patch grid; each person's "
           "region must be at least one patch (16x16 pixels at the model input) -- enlarge that box",
           p + 1, m.size(1), m.size(2), h, w);
  if (masks.size(0) > speakers && counts[speakers].item<double>() == 0) {
    masks = masks.narrow(0, 0, speakers);
    counts = counts.narrow(0, 0, speakers);
  }
  return {speakers, masks.to(device), counts.to(device)};
}

at::Tensor speaker_map_per_head(const at::Tensor& q, const at::Tensor& k_ref, const SpeakerRouting& routing,
                                layers::AttentionBackend attention) {
  // softmax(q k^T) @ masks^T is attention with the masks as values: padded to the head dim, so the fused
  // kernels take it like any other attention (the extra columns are zeros and dropped).
  const int64_t rows = routing.rows(), head_dim = std::max(q.size(-1), rows);
  auto values = at::zeros({k_ref.size(2), head_dim}, q.options());
  values.narrow(1, 0, rows).copy_(routing.masks.t());
  // Materialised (16 MB at 480p): the direct cuDNN call takes only plain layouts.
  const auto v = values.expand({q.size(0), q.size(1), k_ref.size(2), head_dim}).contiguous();
  const auto sums = layers::attention(q, k_ref, v, std::nullopt, std::nullopt, attention)
                        .narrow(-1, 0, rows)
                        .to(at::kFloat);  // [B, H, Lq, M]
  return (sums / routing.counts).transpose(1, 2);
}

at::Tensor speaker_map_mean(const at::Tensor& per_head) {
  const int64_t used = 2 * (per_head.size(2) / 2);
  return per_head.narrow(2, 0, used).mean(2);
}

at::Tensor speaker_positions(const at::Tensor& map, at::ScalarType dtype) {
  const auto band = [&](int64_t person, double lo, double hi) {
    const auto column = map.select(-1, person);
    const auto min = std::get<0>(column.min(1, true)), max = std::get<0>(column.max(1, true));
    return (column - min) / (max - min + 1e-8) * (hi - lo) + lo;  // normalize_and_scale
  };
  const auto person1 = band(0, 0, kSpeakerClassInterval);
  const auto person2 = band(1, kSpeakerClassRange - kSpeakerClassInterval, kSpeakerClassRange);
  const auto background = at::full_like(person1, std::floor(kSpeakerClassRange / 2));
  const auto choices = at::stack({person1, person2, background}, -1);  // [B, L, 3]
  const auto pick = map.argmax(-1, true);                              // [B, L, 1], in [0, M)
  return choices.gather(-1, pick).squeeze(-1).to(dtype).to(at::kFloat);
}

at::Tensor audio_key_positions(int64_t speakers, int64_t tokens, const at::Device& device) {
  if (speakers != 2) fail(ErrorCode::unsupported, "audio key positions are defined for 2 speakers, got {}", speakers);
  const double centre1 = kSpeakerClassInterval / 2, centre2 = kSpeakerClassRange - kSpeakerClassInterval / 2;
  return at::cat({at::full({tokens}, centre1, at::kFloat), at::full({tokens}, centre2, at::kFloat)}).to(device);
}

at::Tensor rope_1d(const at::Tensor& x, const at::Tensor& pos) {
  const int64_t d = x.size(-1);
  // The reference: 1 / 10000^(arange(0, d, 2) / d) and pos * freq, both float32.
  const auto inv_freq =
      at::pow(10000.0, at::arange(0, d, 2, x.options().dtype(at::kFloat)).div(static_cast<double>(d))).reciprocal();
  const auto angles = (pos.to(x.device(), at::kFloat).unsqueeze(-1) * inv_freq).unsqueeze(-2);  // [.., L, 1, d/2]
  const auto cos = angles.cos(), sin = angles.sin();
  const auto pairs = x.to(at::kFloat).unflatten(-1, {d / 2, 2});
  const auto even = pairs.select(-1, 0), odd = pairs.select(-1, 1);
  return at::stack({even * cos - odd * sin, odd * cos + even * sin}, -1).flatten(-2).to(x.scalar_type());
}

}  // namespace talkgen::model::dit
