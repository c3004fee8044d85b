// FeatureCache: the temporal context the causal VAE carries from one chunk of frames to the next.
//
// The reference (wan/modules/vae.py) keeps a flat list `feat_cache` indexed by a counter `feat_idx`
// that every cached layer advances in call order; we do the same, so one chunk after another gives
// exactly the reference's results while memory stays at a couple of frames per layer. The modules
// themselves hold no state: one FeatureCache per stream, so several streams can share one model.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

namespace talkgen::model::vae {

class FeatureCache {
 public:
  struct Slot {
    enum class Kind {
      empty,         // no chunk seen yet (the reference's None)
      zero_history,  // seen, history treated as zeros (the reference's 'Rep' marker in upsample3d)
      frames,        // the last frames of this layer's input
    };
    Kind kind = Kind::empty;
    at::Tensor frames;
    void store(at::Tensor last_frames) {
      kind = Kind::frames;
      frames = std::move(last_frames);
    }
  };

  /// Call before each chunk: the layers then take slots 0, 1, 2 ... in call order again.
  void begin_chunk();
  /// The slot of the next cached layer (created on the first chunk).
  Slot& next();
  /// Call after each chunk: checks every chunk used the same number of slots (a wiring bug otherwise).
  void end_chunk();
  /// Number of chunks completed.
  int64_t chunks() const { return chunks_; }
  /// Bytes held by the cached frames (for memory reports).
  int64_t bytes() const;
  /// Forgets everything (the next chunk is a first chunk).
  void clear();

 private:
  std::vector<Slot> slots_;
  size_t cursor_ = 0;
  int64_t chunks_ = 0;
};

/// The last `count` frames (dim 2) of x as a compact copy (a view would keep the whole chunk alive).
at::Tensor last_frames(const at::Tensor& x, int64_t count);

}  // namespace talkgen::model::vae
