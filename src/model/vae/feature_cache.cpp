#include "model/vae/feature_cache.hpp"

#include "talkgen/error.hpp"

namespace talkgen::model::vae {

void FeatureCache::begin_chunk() { cursor_ = 0; }

FeatureCache::Slot& FeatureCache::next() {
  if (cursor_ == slots_.size()) {
    if (chunks_ > 0) {
      fail(ErrorCode::internal, "VAE feature cache: chunk {} asked for slot {} but earlier chunks used {} slots",
           chunks_, cursor_, slots_.size());
    }
    slots_.emplace_back();
  }
  return slots_[cursor_++];
}

void FeatureCache::end_chunk() {
  if (cursor_ != slots_.size()) {
    fail(ErrorCode::internal, "VAE feature cache: chunk {} used {} slots, earlier chunks used {}", chunks_, cursor_,
         slots_.size());
  }
  ++chunks_;
}

int64_t FeatureCache::bytes() const {
  int64_t total = 0;
  for (const auto& s : slots_) {
    if (s.frames.defined()) total += s.frames.numel() * static_cast<int64_t>(s.frames.element_size());
  }
  return total;
}

void FeatureCache::clear() {
  slots_.clear();
  cursor_ = 0;
  chunks_ = 0;
}

at::Tensor last_frames(const at::Tensor& x, int64_t count) {
  const int64_t t = x.size(2);
  return x.narrow(2, std::max<int64_t>(0, t - count), std::min(t, count)).clone(at::MemoryFormat::Contiguous);
}

}  // namespace talkgen::model::vae
