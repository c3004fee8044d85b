// umT5 encoder: parity with the reference T5Encoder (encoder.pth + encoder.safetensors from
// tools/parity/gen_umt5.py), and checks that need no reference data.
#include <map>

#include "catch_prefixed.hpp"

#include "model/io/tensor_source.hpp"
#include "model/umt5/encoder.hpp"
#include "parity_data.hpp"
#include "talkgen/error.hpp"

using namespace talkgen::model;
using talkgen::ErrorCode;

namespace {

// Named tensors in memory, standing in for a checkpoint file.
class MemorySource : public io::TensorSource {
 public:
  std::map<std::string, at::Tensor> tensors;
  std::vector<io::TensorInfo> list() const override {
    std::vector<io::TensorInfo> out;
    for (const auto& [k, v] : tensors) out.push_back({k, v.scalar_type(), v.sizes().vec(), "memory"});
    return out;
  }
  bool contains(const std::string& name) const override { return tensors.count(name) > 0; }
  at::Tensor read(const std::string& name) const override { return tensors.at(name).clone(); }
  std::string describe() const override { return "memory"; }
};

// A tiny random umT5 encoder in the official key layout.
MemorySource tiny_checkpoint(int64_t vocab = 50, int64_t dim = 16, int64_t ffn = 24, int64_t heads = 2,
                             int64_t layers = 2, int64_t buckets = 8) {
  at::manual_seed(7);
  MemorySource s;
  auto r = [](std::vector<int64_t> shape, double std) { return at::randn(shape) * std; };
  s.tensors["token_embedding.weight"] = r({vocab, dim}, 1.0);
  for (int64_t i = 0; i < layers; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    s.tensors[b + "norm1.weight"] = 1 + r({dim}, 0.2);
    s.tensors[b + "norm2.weight"] = 1 + r({dim}, 0.2);
    for (const char* n : {"q", "k", "v"}) s.tensors[b + "attn." + n + ".weight"] = r({dim, dim}, 0.25);
    s.tensors[b + "attn.o.weight"] = r({dim, dim}, 0.25);
    s.tensors[b + "ffn.gate.0.weight"] = r({ffn, dim}, 0.25);
    s.tensors[b + "ffn.fc1.weight"] = r({ffn, dim}, 0.25);
    s.tensors[b + "ffn.fc2.weight"] = r({dim, ffn}, 0.2);
    s.tensors[b + "pos_embedding.embedding.weight"] = r({buckets, heads}, 0.5);
  }
  s.tensors["norm.weight"] = 1 + r({dim}, 0.2);
  return s;
}

ErrorCode load_error(const io::TensorSource& s) {
  try {
    umt5::load_encoder(s);
  } catch (const talkgen::Error& e) {
    return e.code();
  }
  return ErrorCode::ok;
}

double max_abs(const at::Tensor& a) { return a.abs().max().item<double>(); }

}  // namespace

CATCH_TEST_CASE("umT5 encoder matches the reference T5Encoder in fp32", "[umt5][encoder][parity]") {
  const std::string weights = umt5_test::require_file("encoder.pth");
  const std::string data = umt5_test::require_file("encoder.safetensors");
  const auto ref = io::open_checkpoint(data);
  const at::Tensor ids = ref->read("ids").to(at::kLong), mask = ref->read("mask").to(at::kLong);
  const at::Tensor expected = ref->read("context").to(at::kFloat);
  const at::Tensor lens = ref->read("seq_lens").to(at::kLong);

  auto encoder = umt5::load_encoder(weights);  // fp32
  const at::Tensor got = encoder->forward(ids, mask);
  CATCH_REQUIRE(got.sizes() == expected.sizes());
  const double scale = std::max(1.0, max_abs(expected));
  const double err = max_abs(got - expected);
  CATCH_INFO("max abs error " << err << " (reference scale " << scale << ")");
  CATCH_CHECK(err <= 1e-4 * scale);

  // The per-prompt contexts the reference returns: each row cut to its real length.
  const auto ctx = encoder->contexts(ids, mask);
  CATCH_REQUIRE(ctx.size() == static_cast<size_t>(ids.size(0)));
  for (size_t i = 0; i < ctx.size(); ++i) {
    const int64_t n = lens[i].item<int64_t>();
    CATCH_REQUIRE(ctx[i].size(0) == n);
    CATCH_CHECK(max_abs(ctx[i] - expected[i].slice(0, 0, n)) <= 1e-4 * scale);
  }

  // bf16, as the official checkpoint runs: a 2-layer model keeps within a few bf16 ulps of the output
  // scale (bf16 has 8 mantissa bits: 2^-8 = 0.4% per rounding; 5% allows the roundings of 2 blocks).
  io::LoadOptions bf16;
  bf16.dtype = at::kBFloat16;
  auto encoder16 = umt5::load_encoder(weights, bf16);
  const at::Tensor got16 = encoder16->forward(ids, mask).to(at::kFloat);
  const double err16 = max_abs(got16 - expected);
  CATCH_INFO("bf16 max abs error " << err16);
  CATCH_CHECK(err16 <= 5e-2 * scale);
}

CATCH_TEST_CASE("umT5 encoder reads its config from the checkpoint shapes", "[umt5][encoder]") {
  const auto s = tiny_checkpoint(50, 16, 24, 2, 3, 8);
  const auto c = umt5::infer_encoder_config(s);
  CATCH_CHECK(c.vocab == 50);
  CATCH_CHECK(c.dim == 16);
  CATCH_CHECK(c.dim_attn == 16);
  CATCH_CHECK(c.dim_ffn == 24);
  CATCH_CHECK(c.num_heads == 2);
  CATCH_CHECK(c.num_layers == 3);
  CATCH_CHECK(c.num_buckets == 8);
}

CATCH_TEST_CASE("umT5 encoder output shape, determinism and padding", "[umt5][encoder]") {
  auto encoder = umt5::load_encoder(tiny_checkpoint());
  const at::Tensor ids = at::tensor({5, 9, 13, 1, 0, 0, 7, 8, 1, 0, 0, 0}, at::kLong).view({2, 6});
  const at::Tensor mask = ids.ne(0).to(at::kLong);
  const at::Tensor a = encoder->forward(ids, mask), b = encoder->forward(ids, mask);
  CATCH_CHECK(a.sizes() == at::IntArrayRef({2, 6, 16}));
  CATCH_CHECK(at::equal(a, b));
  CATCH_CHECK(at::isfinite(a).all().item<bool>());

  // Padding keys are masked out: the real tokens' outputs do not depend on what the padding holds.
  at::Tensor other = ids.clone();
  other.index_put_({0, 5}, 42);
  const at::Tensor c = encoder->forward(other, mask);
  CATCH_CHECK(max_abs(c[0].slice(0, 0, 4) - a[0].slice(0, 0, 4)) < 1e-6);
  // ... and without the mask they do.
  CATCH_CHECK(max_abs(encoder->forward(other)[0].slice(0, 0, 4) - a[0].slice(0, 0, 4)) > 1e-4);

  // A prompt encodes the same alone and in a batch with a longer one.
  const at::Tensor alone = encoder->forward(ids.slice(0, 1, 2), mask.slice(0, 1, 2));
  CATCH_CHECK(max_abs(alone[0].slice(0, 0, 3) - a[1].slice(0, 0, 3)) < 1e-5);

  const auto ctx = encoder->contexts(ids, mask);
  CATCH_REQUIRE(ctx.size() == 2);
  CATCH_CHECK(ctx[0].sizes() == at::IntArrayRef({4, 16}));
  CATCH_CHECK(ctx[1].sizes() == at::IntArrayRef({3, 16}));
}

CATCH_TEST_CASE("umT5 encoder relative position buckets follow T5's bidirectional scheme", "[umt5][encoder]") {
  umt5::EncoderConfig c;
  c.num_buckets = 32;
  c.num_heads = 2;
  umt5::RelativePosition pos(c, at::kFloat);
  const at::Tensor b = pos->buckets(1, 300, at::kCPU)[0];  // key positions 0..299 seen from query 0
  // Exact buckets for distances < 8, log-spaced up to 128, then the last bucket; keys after the query
  // use the upper half.
  CATCH_CHECK(b[0].item<int64_t>() == 0);
  CATCH_CHECK(b[1].item<int64_t>() == 17);
  CATCH_CHECK(b[7].item<int64_t>() == 23);
  CATCH_CHECK(b[8].item<int64_t>() == 24);
  CATCH_CHECK(b[299].item<int64_t>() == 31);
  const at::Tensor back = pos->buckets(300, 1, at::kCPU).select(1, 0);  // query 299 looking back to key 0
  CATCH_CHECK(back[299].item<int64_t>() == 15);
  CATCH_CHECK(back[3].item<int64_t>() == 3);
}

CATCH_TEST_CASE("umT5 encoder rejects bad checkpoints and inputs", "[umt5][encoder]") {
  auto missing = tiny_checkpoint();
  missing.tensors.erase("blocks.1.ffn.fc2.weight");
  CATCH_CHECK(load_error(missing) == ErrorCode::checkpoint_mismatch);

  auto misshaped = tiny_checkpoint();
  misshaped.tensors["blocks.0.attn.o.weight"] = at::zeros({16, 15});
  CATCH_CHECK(load_error(misshaped) == ErrorCode::checkpoint_mismatch);

  auto no_pos = tiny_checkpoint();  // a T5 with one shared position table (not umT5)
  no_pos.tensors.erase("blocks.0.pos_embedding.embedding.weight");
  CATCH_CHECK(load_error(no_pos) == ErrorCode::checkpoint_mismatch);

  auto extra = tiny_checkpoint();
  extra.tensors["pos_embedding.embedding.weight"] = at::zeros({8, 2});
  CATCH_CHECK(load_error(extra) == ErrorCode::checkpoint_mismatch);

  auto encoder = umt5::load_encoder(tiny_checkpoint());
  CATCH_CHECK_THROWS_AS(encoder->forward(at::full({1, 4}, 50, at::kLong)), talkgen::Error);  // id == vocab
  CATCH_CHECK_THROWS_AS(encoder->forward(at::ones({1, 4}, at::kInt)), talkgen::Error);
  CATCH_CHECK_THROWS_AS(encoder->forward(at::ones({1, 4}, at::kLong), at::ones({1, 5}, at::kLong)), talkgen::Error);
}
