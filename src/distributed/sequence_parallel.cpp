#include "distributed/sequence_parallel.hpp"

#include <algorithm>

#include "distributed/collective_shapes.hpp"

namespace talkgen::distributed {
namespace {

// `x` grown along `dim` to `size` with `value`.
at::Tensor pad_to(const at::Tensor& x, int64_t dim, int64_t size, double value) {
  if (x.size(dim) == size) return x;
  auto shape = x.sizes().vec();
  shape[dim] = size - x.size(dim);
  return at::cat({x, at::full(shape, value, x.options())}, dim);
}

void expect_size(const at::Tensor& x, int64_t dim, int64_t want, const char* op, const char* what) {
  if (x.size(dim) != want)
    fail(ErrorCode::invalid_argument, "{}: dimension {} of {} has size {}; expected {} ({})", op, dim, describe(x),
         x.size(dim), want, what);
}

}  // namespace

SequenceParallel::SequenceParallel(int64_t tokens) : tokens_(tokens), shard_(tokens) {
  if (tokens < 1) fail(ErrorCode::invalid_argument, "SequenceParallel: {} tokens; expected at least one", tokens);
}

SequenceParallel::SequenceParallel(Communicator& comm, int64_t tokens)
    : comm_(&comm), rank_(comm.rank()), world_(comm.world_size()), tokens_(tokens) {
  if (tokens < 1) fail(ErrorCode::invalid_argument, "SequenceParallel: {} tokens; expected at least one", tokens);
  shard_ = (tokens + world_ - 1) / world_;
}

int64_t SequenceParallel::valid_tokens() const { return std::clamp<int64_t>(tokens_ - shard_begin(), 0, shard_); }

int64_t SequenceParallel::local_heads(int64_t heads) const { return (heads + world_ - 1) / world_; }

at::Tensor split_sequence(const at::Tensor& full, const SequenceParallel& sp, int64_t dim) {
  constexpr const char* op = "split_sequence";
  check_defined(full, op);
  dim = checked_dim(full, dim, op);
  expect_size(full, dim, sp.tokens(), op, "the sequence's tokens");
  if (sp.world() == 1) return full;
  return pad_to(full.narrow(dim, sp.valid_begin(), sp.valid_tokens()), dim, sp.shard_tokens(), 0.0);
}

at::Tensor gather_sequence(const at::Tensor& shard, const SequenceParallel& sp, int64_t dim) {
  constexpr const char* op = "gather_sequence";
  check_defined(shard, op);
  dim = checked_dim(shard, dim, op);
  expect_size(shard, dim, sp.shard_tokens(), op, "tokens per rank");
  if (sp.world() == 1) return shard;
  return sp.comm()->all_gather(shard, dim).narrow(dim, 0, sp.tokens());
}

at::Tensor all_to_all_seq_to_heads(const at::Tensor& x, const SequenceParallel& sp, int64_t seq_dim,
                                   int64_t head_dim) {
  constexpr const char* op = "all_to_all_seq_to_heads";
  check_defined(x, op);
  seq_dim = checked_dim(x, seq_dim, op);
  head_dim = checked_dim(x, head_dim, op);
  expect_size(x, seq_dim, sp.shard_tokens(), op, "tokens per rank");
  if (sp.world() == 1) return x;
  const int64_t heads = x.size(head_dim);
  // Rank j receives head group j of every rank's tokens; groups arrive in rank order = token order.
  const auto padded = pad_to(x, head_dim, sp.local_heads(heads) * sp.world(), 0.0);
  return sp.comm()->all_to_all(padded, head_dim, seq_dim).narrow(seq_dim, 0, sp.tokens());
}

at::Tensor all_to_all_heads_to_seq(const at::Tensor& x, const SequenceParallel& sp, int64_t heads, int64_t seq_dim,
                                   int64_t head_dim) {
  constexpr const char* op = "all_to_all_heads_to_seq";
  check_defined(x, op);
  seq_dim = checked_dim(x, seq_dim, op);
  head_dim = checked_dim(x, head_dim, op);
  if (heads < 1) fail(ErrorCode::invalid_argument, "{}: {} heads; expected at least one", op, heads);
  expect_size(x, seq_dim, sp.tokens(), op, "all tokens of the sequence");
  expect_size(x, head_dim, sp.local_heads(heads), op, "heads per rank");
  if (sp.world() == 1) return x;
  const auto padded = pad_to(x, seq_dim, sp.padded_tokens(), 0.0);
  return sp.comm()->all_to_all(padded, seq_dim, head_dim).narrow(head_dim, 0, heads);
}

at::Tensor shard_per_token(const at::Tensor& table, const SequenceParallel& sp, double pad_value, int64_t dim) {
  constexpr const char* op = "shard_per_token";
  check_defined(table, op);
  dim = checked_dim(table, dim, op);
  expect_size(table, dim, sp.tokens(), op, "one row per token");
  if (sp.world() == 1) return table;
  return pad_to(table.narrow(dim, sp.valid_begin(), sp.valid_tokens()), dim, sp.shard_tokens(), pad_value);
}

std::pair<at::Tensor, at::Tensor> shard_rope_positions(const at::Tensor& cos, const at::Tensor& sin,
                                                       const SequenceParallel& sp) {
  return {shard_per_token(cos, sp, 1.0), shard_per_token(sin, sp, 0.0)};
}

std::vector<FrameSegment> shard_frame_segments(const SequenceParallel& sp, int64_t tokens_per_frame) {
  if (tokens_per_frame < 1)
    fail(ErrorCode::invalid_argument, "shard_frame_segments: {} tokens per frame; expected at least one",
         tokens_per_frame);
  if (sp.tokens() % tokens_per_frame != 0)
    fail(ErrorCode::invalid_argument, "shard_frame_segments: {} tokens are not whole frames of {} tokens",
         sp.tokens(), tokens_per_frame);
  std::vector<FrameSegment> out;
  const int64_t begin = sp.shard_begin(), end = begin + sp.valid_tokens();
  for (int64_t g = begin; g < end;) {
    const int64_t frame = g / tokens_per_frame;
    const int64_t stop = std::min(end, (frame + 1) * tokens_per_frame);
    out.push_back({frame, g - begin, stop - g});
    g = stop;
  }
  return out;
}

}  // namespace talkgen::distributed
