// Ulysses sequence parallelism (xDiT / xfuser's USP, as wan/distributed/xdit_context_parallel.py uses it).
//
// The L video tokens are padded to world * shard (shard = ceil(L / world)) and rank r holds tokens
// [r * shard, (r + 1) * shard). Everything per token (linears, norms, modulation, FFN, text cross-attention,
// the head) runs on the shard unchanged. Self-attention needs every token, so around it q/k/v go
// sequence-sharded -> head-sharded (all-to-all), attention runs over all L tokens for ceil(H / world)
// heads, and the output goes back head-sharded -> sequence-sharded.
//
// Padding never reaches a real token: the head-sharded tensors hold exactly the L real tokens (the
// padding is dropped before attention, unlike the reference, whose padded keys take part), so a forward
// on N ranks equals the one-rank forward. Heads that do not divide by the world size are padded with zero
// heads (which cost no more wall time than an uneven split: the busiest rank has ceil(H / world) either way).
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "distributed/distributed_runner.hpp"

namespace talkgen::distributed {

/// Who holds which tokens in one forward. Cheap to copy; refers to, does not own, the communicator.
class SequenceParallel {
 public:
  /// One rank, no communicator: every helper below is the identity.
  explicit SequenceParallel(int64_t tokens);
  /// The ranks of `comm` share `tokens` tokens.
  SequenceParallel(Communicator& comm, int64_t tokens);

  Communicator* comm() const { return comm_; }
  int rank() const { return rank_; }
  int world() const { return world_; }
  int64_t tokens() const { return tokens_; }                 ///< L, the real tokens of the whole sequence
  int64_t shard_tokens() const { return shard_; }            ///< tokens per rank, padding included
  int64_t padded_tokens() const { return shard_ * world_; }  ///< L rounded up to a multiple of world
  int64_t shard_begin() const { return shard_ * rank_; }     ///< this rank's first token (global index)
  /// Real tokens in this rank's shard: shard_tokens() except on the last ranks when L does not divide.
  int64_t valid_tokens() const;
  /// Where this rank's real tokens start in the sequence: shard_begin(), or L for a shard of padding only.
  int64_t valid_begin() const { return std::min(shard_begin(), tokens_); }
  /// Heads per rank between the two all-to-alls: ceil(heads / world).
  int64_t local_heads(int64_t heads) const;

 private:
  Communicator* comm_ = nullptr;
  int rank_ = 0, world_ = 1;
  int64_t tokens_ = 0, shard_ = 0;
};

/// This rank's shard of `full` (size L along `dim`), zero-padded: size shard_tokens() along `dim`.
at::Tensor split_sequence(const at::Tensor& full, const SequenceParallel& sp, int64_t dim = 1);
/// Every rank's shard (size shard_tokens() along `dim`) gathered, padding dropped: size L along `dim`.
/// A collective: every rank must call it.
at::Tensor gather_sequence(const at::Tensor& shard, const SequenceParallel& sp, int64_t dim = 1);

/// [.., shard_tokens (seq_dim), .., heads (head_dim), ..] -> [.., L, .., local_heads(heads), ..]: all L tokens
/// of this rank's heads [rank * local_heads, (rank + 1) * local_heads) (zero heads past `heads`). Stack q, k,
/// v along a leading dim to move all three in one collective. A collective.
at::Tensor all_to_all_seq_to_heads(const at::Tensor& x, const SequenceParallel& sp, int64_t seq_dim = 1,
                                   int64_t head_dim = 2);
/// The inverse: [.., L, .., local_heads(heads), ..] -> [.., shard_tokens, .., heads, ..] (zero rows for the
/// padding tokens). `heads` is the real head count. A collective.
at::Tensor all_to_all_heads_to_seq(const at::Tensor& x, const SequenceParallel& sp, int64_t heads,
                                   int64_t seq_dim = 1, int64_t head_dim = 2);

/// This rank's rows of a per-token table (size L along `dim`, e.g. RoPE angles), padding rows = `pad_value`.
at::Tensor shard_per_token(const at::Tensor& table, const SequenceParallel& sp, double pad_value, int64_t dim = 0);
/// The RoPE cos/sin tables ([L, ...] each) of this rank's tokens; padding rows rotate by zero (cos 1, sin 0).
std::pair<at::Tensor, at::Tensor> shard_rope_positions(const at::Tensor& cos, const at::Tensor& sin,
                                                       const SequenceParallel& sp);

/// A run of this shard's tokens that belong to one latent frame: local tokens [begin, begin + length) are
/// tokens of frame `frame`. The audio cross-attention attends each run to its frame's audio tokens.
struct FrameSegment {
  int64_t frame = 0, begin = 0, length = 0;
  bool operator==(const FrameSegment& o) const { return frame == o.frame && begin == o.begin && length == o.length; }
};
/// The frame runs of this rank's real tokens (padding excluded), in token order, for a sequence of frames of
/// `tokens_per_frame` tokens each (h * w patches).
std::vector<FrameSegment> shard_frame_segments(const SequenceParallel& sp, int64_t tokens_per_frame);

}  // namespace talkgen::distributed
