// Ulysses sequence parallelism: attention over a sequence split across 1-4 ranks (split q/k/v by sequence,
// RoPE per shard, all-to-all to heads, attend, all-to-all back, gather) equals attention over the whole
// sequence, including token counts and head counts that do not divide by the world size.
#include "support/catch_torch.hpp"

#include "distributed/sequence_parallel.hpp"
#include "distributed/distributed_runner.hpp"

using namespace talkgen;
using namespace talkgen::distributed;

namespace {

constexpr int64_t kBatch = 2, kHeads = 6, kHeadDim = 8, kDim = kHeads * kHeadDim;

DistributedRunner make_runner(int world) {
  DistributedOptions o;
  o.devices = cpu_devices(world);
  o.collective_timeout = std::chrono::seconds(30);
  return DistributedRunner(o);
}

// A 1-D RoPE table: token t rotates channel pair i by t * 10000^(-2i/d). [L, 1, d/2] each.
std::pair<at::Tensor, at::Tensor> rope_tables(int64_t tokens) {
  const auto opts = at::TensorOptions().dtype(at::kDouble);
  const auto inv = at::pow(10000.0, -at::arange(0, kHeadDim, 2, opts) / double(kHeadDim));
  const auto angles = at::outer(at::arange(tokens, opts), inv).unsqueeze(1);
  return {at::cos(angles).to(at::kFloat), at::sin(angles).to(at::kFloat)};
}

// x [B, L, H, d] rotated pairwise by the tables' rows (one row per token of x).
at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const auto pairs = x.unflatten(-1, {kHeadDim / 2, 2});
  const auto re = pairs.select(-1, 0), im = pairs.select(-1, 1);
  return at::stack({re * cos - im * sin, re * sin + im * cos}, -1).flatten(-2);
}

// softmax(q k^T / sqrt(d)) v over [B, L, H, d] tensors (tokens on dim 1).
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const auto qh = q.transpose(1, 2), kh = k.transpose(1, 2), vh = v.transpose(1, 2);
  const auto w = at::softmax(at::matmul(qh, kh.transpose(-1, -2)) / std::sqrt(double(kHeadDim)), -1);
  return at::matmul(w, vh).transpose(1, 2);
}

struct Weights {
  at::Tensor wq, wk, wv, wo;
};

Weights make_weights() {
  at::manual_seed(7);
  const double s = 1.0 / std::sqrt(double(kDim));
  return {at::randn({kDim, kDim}) * s, at::randn({kDim, kDim}) * s, at::randn({kDim, kDim}) * s,
          at::randn({kDim, kDim}) * s};
}

// The self-attention of a DiT block on a full sequence x [B, L, dim].
at::Tensor full_attention(const at::Tensor& x, const Weights& w) {
  const auto [cos, sin] = rope_tables(x.size(1));
  const auto split = [](const at::Tensor& t) { return t.unflatten(-1, {kHeads, kHeadDim}); };
  const auto q = apply_rope(split(at::matmul(x, w.wq)), cos, sin);
  const auto k = apply_rope(split(at::matmul(x, w.wk)), cos, sin);
  const auto v = split(at::matmul(x, w.wv));
  return at::matmul(attend(q, k, v).flatten(2), w.wo);
}

// The same on this rank's shard: what the DiT does with a SequenceParallel. `stacked` moves q, k, v in one
// all-to-all instead of three.
at::Tensor sharded_attention(const at::Tensor& x_full, const Weights& w, Communicator& comm, bool stacked) {
  SequenceParallel sp(comm, x_full.size(1));
  const auto x = split_sequence(x_full, sp);  // [B, shard, dim]
  const auto [cos_full, sin_full] = rope_tables(sp.tokens());
  const auto [cos, sin] = shard_rope_positions(cos_full, sin_full, sp);
  const auto split = [](const at::Tensor& t) { return t.unflatten(-1, {kHeads, kHeadDim}); };
  auto q = apply_rope(split(at::matmul(x, w.wq)), cos, sin);
  auto k = apply_rope(split(at::matmul(x, w.wk)), cos, sin);
  auto v = split(at::matmul(x, w.wv));
  if (stacked) {
    const auto qkv = all_to_all_seq_to_heads(at::stack({q, k, v}), sp, /*seq_dim=*/2, /*head_dim=*/3);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    q = all_to_all_seq_to_heads(q, sp);
    k = all_to_all_seq_to_heads(k, sp);
    v = all_to_all_seq_to_heads(v, sp);
  }
  if (q.size(1) != sp.tokens() || q.size(2) != sp.local_heads(kHeads))  // rank threads: no Catch assertions
    throw std::logic_error("all_to_all_seq_to_heads returned the wrong shape");
  const auto out = all_to_all_heads_to_seq(attend(q, k, v), sp, kHeads);  // [B, shard, H, d]
  return gather_sequence(at::matmul(out.flatten(2), w.wo), sp);
}

}  // namespace

TEST_CASE("Sequence-parallel attention equals full attention for world sizes 1-4", "[distributed][sequence_parallel]") {
  const auto w = make_weights();
  for (int64_t tokens : {1, 5, 24, 37}) {
    const auto x = at::randn({kBatch, tokens, kDim});
    const auto want = full_attention(x, w);
    for (int world = 1; world <= 4; ++world) {
      for (bool stacked : {false, true}) {
        INFO("tokens " << tokens << " world " << world << " stacked " << stacked);
        auto runner = make_runner(world);
        const auto outs = runner.run([&](RankContext& ctx) {
          return sharded_attention(x, w, ctx.comm, stacked);
        });
        REQUIRE(outs.sizes() == want.sizes());
        CHECK((outs - want).abs().max().item<double>() <= 1e-5);
      }
    }
  }
}

TEST_CASE("Every rank ends with the same gathered output", "[distributed][sequence_parallel]") {
  const auto w = make_weights();
  const auto x = at::randn({1, 29, kDim});
  const auto want = full_attention(x, w);
  auto runner = make_runner(3);
  std::vector<double> error(3, -1);
  runner.run([&](RankContext& ctx) {
    error[ctx.rank] = (sharded_attention(x, w, ctx.comm, true) - want).abs().max().item<double>();
  });
  for (double e : error) CHECK((e >= 0 && e <= 1e-5));
}

TEST_CASE("RoPE with the wrong shard positions is detected", "[distributed][sequence_parallel]") {
  // Guards the test above: applying the unsharded table's first rows on every rank must not match.
  const auto w = make_weights();
  const auto x = at::randn({1, 12, kDim});
  const auto want = full_attention(x, w);
  auto runner = make_runner(2);
  const auto out = runner.run([&](RankContext& ctx) {
    SequenceParallel sp(ctx.comm, 12);
    const auto xs = split_sequence(x, sp);
    const auto [cos_full, sin_full] = rope_tables(12);
    const auto cos = cos_full.narrow(0, 0, sp.shard_tokens()), sin = sin_full.narrow(0, 0, sp.shard_tokens());
    const auto split = [](const at::Tensor& t) { return t.unflatten(-1, {kHeads, kHeadDim}); };
    auto q = all_to_all_seq_to_heads(apply_rope(split(at::matmul(xs, w.wq)), cos, sin), sp);
    auto k = all_to_all_seq_to_heads(apply_rope(split(at::matmul(xs, w.wk)), cos, sin), sp);
    auto v = all_to_all_seq_to_heads(split(at::matmul(xs, w.wv)), sp);
    const auto o = all_to_all_heads_to_seq(attend(q, k, v), sp, kHeads);
    return gather_sequence(at::matmul(o.flatten(2), w.wo), sp);
  });
  CHECK((out - want).abs().max().item<double>() > 1e-3);
}

TEST_CASE("split_sequence pads the last shards and gather_sequence drops the padding", "[distributed][sequence_parallel]") {
  const auto x = at::arange(10, at::kFloat).view({1, 10, 1}) + 1;  // tokens 1..10
  auto runner = make_runner(4);                                      // shard 3, padded 12
  std::vector<at::Tensor> shards(4), gathered(4);
  std::vector<int64_t> shard_tokens(4), padded(4), valid(4);
  runner.run([&](RankContext& ctx) {
    SequenceParallel sp(ctx.comm, 10);
    shard_tokens[ctx.rank] = sp.shard_tokens(), padded[ctx.rank] = sp.padded_tokens(), valid[ctx.rank] = sp.valid_tokens();
    shards[ctx.rank] = split_sequence(x, sp);
    gathered[ctx.rank] = gather_sequence(shards[ctx.rank], sp);
  });
  for (int r = 0; r < 4; ++r) {
    CHECK(shard_tokens[r] == 3);
    CHECK(padded[r] == 12);
    CHECK(valid[r] == (r < 3 ? 3 : 1));
    REQUIRE(shards[r].sizes() == at::IntArrayRef{1, 3, 1});
    for (int i = 0; i < 3; ++i) {
      const int64_t global = r * 3 + i;
      CHECK(shards[r][0][i][0].item<float>() == (global < 10 ? global + 1 : 0));
    }
    CHECK(gathered[r].equal(x));
  }
}

TEST_CASE("shard_rope_positions gives each shard its own rows and identity padding", "[distributed][sequence_parallel]") {
  const auto [cos, sin] = rope_tables(7);
  auto runner = make_runner(3);  // shard 3: rows 0-2, 3-5, 6 + two padding rows
  std::vector<std::pair<at::Tensor, at::Tensor>> tables(3);
  runner.run([&](RankContext& ctx) { tables[ctx.rank] = shard_rope_positions(cos, sin, SequenceParallel(ctx.comm, 7)); });
  for (int r = 0; r < 3; ++r) {
    const auto& [c, s] = tables[r];
    REQUIRE(c.size(0) == 3);
    for (int64_t i = 0; i < 3; ++i) {
      const int64_t g = r * 3 + i;
      if (g < 7) {
        CHECK(c[i].equal(cos[g]));
        CHECK(s[i].equal(sin[g]));
      } else {
        CHECK(c[i].eq(1).all().item<bool>());
        CHECK(s[i].eq(0).all().item<bool>());
      }
    }
  }
}

TEST_CASE("shard_frame_segments cover every real token once, frame by frame", "[distributed][sequence_parallel]") {
  // 5 frames of 6 tokens = 30 tokens over 4 ranks: shard 8.
  const int64_t frames = 5, per_frame = 6, tokens = frames * per_frame;
  auto runner = make_runner(4);
  std::vector<std::vector<FrameSegment>> segs(4);
  const auto all = runner.run([&](RankContext& ctx) {
    SequenceParallel sp(ctx.comm, tokens);
    segs[ctx.rank] = shard_frame_segments(sp, per_frame);
    // Each token's frame id, by segments; gathered to check the whole sequence.
    auto ids = at::full({1, sp.shard_tokens()}, -1, at::kLong);
    for (const auto& s : segs[ctx.rank]) ids.narrow(1, s.begin, s.length).fill_(s.frame);
    return gather_sequence(ids, sp);
  });
  // Rank 0 holds tokens 0-7: frame 0 (6 tokens), frame 1 (2 tokens). Rank 3 holds 24-29 (+2 padding).
  CHECK((segs[0] == std::vector<FrameSegment>{{0, 0, 6}, {1, 6, 2}}));
  CHECK((segs[3] == std::vector<FrameSegment>{{4, 0, 6}}));
  CHECK(all.equal((at::arange(tokens, at::kLong).div(per_frame, "floor")).view({1, tokens})));
}

TEST_CASE("Per-frame audio cross-attention over shard segments equals the full one", "[distributed][sequence_parallel]") {
  // Each token of frame f attends to the audio tokens of frame f only (AudioCrossAttention).
  const int64_t frames = 3, per_frame = 5, tokens = frames * per_frame, audio_tokens = 4;
  const auto q = at::randn({1, tokens, kHeads, kHeadDim});
  const auto k = at::randn({1, frames, audio_tokens, kHeads, kHeadDim});
  const auto v = at::randn({1, frames, audio_tokens, kHeads, kHeadDim});
  std::vector<at::Tensor> per;
  for (int64_t f = 0; f < frames; ++f) per.push_back(attend(q.narrow(1, f * per_frame, per_frame), k[0][f].unsqueeze(0), v[0][f].unsqueeze(0)));
  const auto want = at::cat(per, 1);
  for (int world = 1; world <= 4; ++world) {
    auto runner = make_runner(world);
    const auto got = runner.run([&](RankContext& ctx) {
      SequenceParallel sp(ctx.comm, tokens);
      const auto qs = split_sequence(q, sp);
      auto out = at::zeros_like(qs);
      for (const auto& s : shard_frame_segments(sp, per_frame))
        out.narrow(1, s.begin, s.length)
            .copy_(attend(qs.narrow(1, s.begin, s.length), k[0][s.frame].unsqueeze(0), v[0][s.frame].unsqueeze(0)));
      return gather_sequence(out, sp);
    });
    INFO("world " << world);
    CHECK((got - want).abs().max().item<double>() <= 1e-6);
  }
}

TEST_CASE("Sequence-parallel helpers reject shapes that do not fit", "[distributed][sequence_parallel]") {
  auto code_of = [](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::ok;
  };
  CHECK(code_of([] { SequenceParallel sp(0); }) == ErrorCode::invalid_argument);
  SequenceParallel one(8);
  CHECK(code_of([&] { split_sequence(at::zeros({1, 7, 2}), one); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { gather_sequence(at::zeros({1, 7, 2}), one); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { all_to_all_seq_to_heads(at::zeros({1, 8, 2, 4}), one, 1, 5); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { all_to_all_heads_to_seq(at::zeros({1, 8, 2, 4}), one, 3); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { shard_frame_segments(one, 3); }) == ErrorCode::invalid_argument);
  // One rank: identities.
  const auto x = at::randn({1, 8, 2, 4});
  CHECK(all_to_all_seq_to_heads(x, one).equal(x));
  CHECK(all_to_all_heads_to_seq(x, one, 2).equal(x));
  CHECK(split_sequence(x, one).equal(x));
}
