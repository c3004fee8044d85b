// VAE tests that need no reference outputs: module tree vs the official keys, shapes, causality,
// streaming, batching, determinism, loading and the errors on bad input.
#include <algorithm>
#include <fstream>
#include <map>

#include "vae_test_util.hpp"

using namespace talkgen;
using namespace talkgen::model;
using namespace vae_test;

namespace {

template <typename F>
void require_error(ErrorCode code, F&& f) {
  try {
    f();
  } catch (const Error& e) {
    INFO(e.what());
    CHECK(e.code() == code);
    return;
  }
  FAIL("expected talkgen::Error(" << to_string(code) << ")");
}

}  // namespace

TEST_CASE("VAE module tree has exactly the keys and shapes of Wan2.1_VAE.pth", "[vae]") {
  // full_keys.json is written by tools/parity/gen_vae.py from the reference's WanVAE_ (dim 96).
  std::ifstream in(require_parity_file("full_keys.json"));
  nlohmann::json keys;
  in >> keys;
  std::map<std::string, std::vector<int64_t>> expected, ours;
  for (auto& [name, shape] : keys.items()) expected[name] = shape.get<std::vector<int64_t>>();
  vae::WanVae full;  // the official config
  for (const auto& p : full.named_parameters()) ours[p.key()] = p.value().sizes().vec();
  for (const auto& b : full.named_buffers()) ours[b.key()] = b.value().sizes().vec();
  for (const auto& [name, shape] : expected) {
    INFO(name);
    REQUIRE(ours.count(name) == 1);
    CHECK(ours[name] == shape);
  }
  for (const auto& [name, shape] : ours) {
    INFO(name);
    CHECK(expected.count(name) == 1);
  }
  int64_t numel = 0;
  for (const auto& p : full.parameters()) numel += p.numel();
  CHECK(numel == 126'892'531);  // the official file: ~508 MB of float32
}

TEST_CASE("VAE encode/decode shapes: 1 + 4k frames <-> 1 + k latent frames, 8x spatial", "[vae]") {
  auto vae = tiny_vae();
  const at::Tensor z = vae->encode(random_video(1, 9, 32, 48));
  CHECK(z.sizes() == at::IntArrayRef({1, 16, 3, 4, 6}));
  CHECK(z.scalar_type() == at::kFloat);
  const at::Tensor one = vae->encode(random_video(1, 1, 16, 16));
  CHECK(one.sizes() == at::IntArrayRef({1, 16, 1, 2, 2}));
  const at::Tensor x = vae->decode(random_latents(1, 3, 4, 6));
  CHECK(x.sizes() == at::IntArrayRef({1, 3, 9, 32, 48}));
  CHECK(x.min().item<float>() >= -1.0f);
  CHECK(x.max().item<float>() <= 1.0f);
  CHECK(at::isfinite(x).all().item<bool>());
}

TEST_CASE("VAE decode clamps exactly what the raw decode gives", "[vae]") {
  auto vae = tiny_vae();
  const at::Tensor z = random_latents(1, 2, 3, 3) * 3;
  vae::DecodeOptions raw;
  raw.clamp = false;
  const at::Tensor unclamped = vae->decode(z, raw);
  CHECK(at::equal(vae->decode(z), unclamped.clamp(-1, 1)));
}

TEST_CASE("VAE is causal: encoding a prefix gives the prefix of the latents", "[vae]") {
  auto vae = tiny_vae();
  const at::Tensor video = random_video(1, 9, 16, 24);
  const at::Tensor all = vae->encode(video);
  CHECK(max_abs_diff(vae->encode(video.narrow(2, 0, 5)), all.narrow(2, 0, 2)) <= 1e-5);
  CHECK(max_abs_diff(vae->encode(video.narrow(2, 0, 1)), all.narrow(2, 0, 1)) <= 1e-5);
  // ... and a later frame changes only the latents from its chunk on.
  at::Tensor changed = video.clone();
  changed.narrow(2, 6, 1).fill_(0.5);
  const at::Tensor other = vae->encode(changed);
  CHECK(max_abs_diff(other.narrow(2, 0, 1), all.narrow(2, 0, 1)) <= 1e-6);
  CHECK(max_abs_diff(other.narrow(2, 2, 1), all.narrow(2, 2, 1)) > 1e-3);
}

TEST_CASE("VAE streaming decode: any split of the latents gives the same frames", "[vae]") {
  auto vae = tiny_vae();
  const at::Tensor z = random_latents(1, 4, 3, 5);
  const at::Tensor whole = vae->decode(z);
  for (const std::vector<int64_t>& split : {std::vector<int64_t>{1, 1, 1, 1}, {2, 2}, {1, 3}, {3, 1}}) {
    vae::VaeDecodeStream stream(vae);
    std::vector<at::Tensor> parts;
    int64_t begin = 0;
    for (int64_t n : split) {
      parts.push_back(stream.push(z.narrow(2, begin, n)));
      CHECK(parts.back().size(2) == (begin == 0 ? 1 + 4 * (n - 1) : 4 * n));
      begin += n;
    }
    INFO("split of " << split.size() << " pushes");
    CHECK(max_abs_diff(at::cat(parts, 2), whole) <= 1e-5);
    CHECK(stream.cache_bytes() > 0);
  }
}

TEST_CASE("VAE stream memory stays bounded: the cache holds a fixed number of frames", "[vae]") {
  auto vae = tiny_vae();
  vae::VaeDecodeStream stream(vae);
  stream.push(random_latents(1, 2, 3, 3));
  const int64_t after_two = stream.cache_bytes();
  stream.push(random_latents(1, 5, 3, 3, 17));
  CHECK(stream.cache_bytes() == after_two);
}

TEST_CASE("VAE batch of 2 equals two single runs", "[vae]") {
  auto vae = tiny_vae();
  const at::Tensor video = random_video(2, 5, 16, 16);
  // A batch may pick another convolution algorithm (oneDNN on many-core hosts): equal up to fp32 rounding
  // relative to the output's scale, not bit for bit.
  const at::Tensor z = vae->encode(video);
  const double z_scale = std::max(1.0, z.abs().max().item<double>());
  INFO("latent scale " << z_scale);
  CHECK(max_abs_diff(z.narrow(0, 1, 1), vae->encode(video.narrow(0, 1, 1))) <= 1e-5 * z_scale);
  const at::Tensor x = vae->decode(z);
  const double x_scale = std::max(1.0, x.abs().max().item<double>());
  INFO("video scale " << x_scale);
  CHECK(max_abs_diff(x.narrow(0, 0, 1), vae->decode(z.narrow(0, 0, 1))) <= 5e-5 * x_scale);  // H100 host: 1.5e-5
}

TEST_CASE("VAE is deterministic", "[vae]") {
  auto vae = tiny_vae();
  const at::Tensor video = random_video(1, 5, 16, 16);
  CHECK(at::equal(vae->encode(video), vae->encode(video)));
  const at::Tensor z = random_latents(1, 2, 2, 2);
  CHECK(at::equal(vae->decode(z), vae->decode(z)));
}

TEST_CASE("VAE latent scale: encode subtracts mean and divides by std per channel", "[vae]") {
  at::manual_seed(3);
  auto scaled = std::make_shared<vae::WanVae>(tiny_config(), vae::LatentScale::wan21());
  at::manual_seed(3);
  auto plain = std::make_shared<vae::WanVae>(tiny_config(), vae::LatentScale::identity(16));
  const at::Tensor video = random_video(1, 1, 16, 16);
  const auto wan = vae::LatentScale::wan21();
  const at::Tensor mean = at::tensor(wan.mean).view({1, 16, 1, 1, 1}), std = at::tensor(wan.std).view({1, 16, 1, 1, 1});
  CHECK(max_abs_diff(scaled->encode(video), (plain->encode(video) - mean) / std) <= 1e-5);
  const at::Tensor z = random_latents(1, 1, 2, 2);
  CHECK(max_abs_diff(scaled->decode(z), plain->decode(z * std + mean)) <= 1e-5);
}

TEST_CASE("VAE loads its own weights back through the checkpoint loader", "[vae]") {
  auto vae = tiny_vae(5);
  const std::string path = scratch_path("tiny.safetensors");
  write_safetensors(path, state_of(*vae));
  vae::VaeLoadOptions options;
  options.config = tiny_config();
  auto loaded = vae::load_wan_vae(path, options);
  const at::Tensor video = random_video(1, 5, 16, 16);
  CHECK(at::equal(loaded->encode(video), vae->encode(video)));
}

TEST_CASE("VAE checkpoint with a missing or mis-shaped key is a checkpoint_mismatch naming it", "[vae]") {
  auto vae = tiny_vae(5);
  auto tensors = state_of(*vae);
  vae::VaeLoadOptions options;
  options.config = tiny_config();

  auto missing = tensors;
  missing.erase(std::find_if(missing.begin(), missing.end(),
                             [](const auto& kv) { return kv.first == "decoder.upsamples.3.resample.1.weight"; }));
  write_safetensors(scratch_path("missing.safetensors"), missing);
  try {
    vae::load_wan_vae(scratch_path("missing.safetensors"), options);
    FAIL("a missing key must not load");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::checkpoint_mismatch);
    CHECK_THAT(e.what(), Catch::Contains("decoder.upsamples.3.resample.1.weight"));
  }

  auto misshaped = tensors;
  for (auto& [name, t] : misshaped) {
    if (name == "encoder.middle.1.norm.gamma") t = at::ones({t.size(0), 1, 1, 1});  // video- not image-shaped
  }
  write_safetensors(scratch_path("misshaped.safetensors"), misshaped);
  try {
    vae::load_wan_vae(scratch_path("misshaped.safetensors"), options);
    FAIL("a mis-shaped key must not load");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::checkpoint_mismatch);
    CHECK_THAT(e.what(), Catch::Contains("encoder.middle.1.norm.gamma"));
  }

  // The official-size model refuses the tiny weights.
  write_safetensors(scratch_path("tiny_all.safetensors"), tensors);
  require_error(ErrorCode::checkpoint_mismatch, [&] { vae::load_wan_vae(scratch_path("tiny_all.safetensors")); });
}

TEST_CASE("VAE rejects bad input with invalid_argument", "[vae]") {
  auto vae = tiny_vae();
  require_error(ErrorCode::invalid_argument, [&] { vae->encode(random_video(1, 4, 16, 16)); });   // T != 1 + 4k
  require_error(ErrorCode::invalid_argument, [&] { vae->encode(random_video(1, 5, 20, 16)); });   // H % 8
  require_error(ErrorCode::invalid_argument, [&] { vae->encode(at::rand({1, 4, 1, 16, 16})); });  // 4 channels
  require_error(ErrorCode::invalid_argument, [&] { vae->encode(at::rand({3, 1, 16, 16})); });     // 4-D
  require_error(ErrorCode::invalid_argument, [&] { vae->encode(at::ones({1, 3, 1, 16, 16}, at::kLong)); });
  require_error(ErrorCode::invalid_argument, [&] { vae->encode(at::Tensor()); });
  require_error(ErrorCode::invalid_argument, [&] { vae->decode(at::randn({1, 4, 1, 2, 2})); });   // z channels
  require_error(ErrorCode::invalid_argument, [&] { vae->decode(at::randn({1, 16, 0, 2, 2})); });  // no frames
  vae::VaeDecodeStream stream(vae);
  stream.push(random_latents(1, 1, 2, 2));
  require_error(ErrorCode::invalid_argument, [&] { stream.push(random_latents(1, 1, 2, 3)); });  // size changed
}

TEST_CASE("VAE config and scale validation", "[vae]") {
  auto config = tiny_config();
  config.dim_mult = {1, 2, 4};
  config.temporal_downsample = {true, true};
  require_error(ErrorCode::unsupported, [&] { vae::WanVae v(config); });
  config = tiny_config();
  config.temporal_downsample = {false, false, true};
  require_error(ErrorCode::unsupported, [&] { vae::WanVae v(config); });
  config = tiny_config();
  config.dim = 0;
  require_error(ErrorCode::invalid_argument, [&] { vae::WanVae v(config); });
  require_error(ErrorCode::invalid_argument, [&] { vae::WanVae v(tiny_config(), vae::LatentScale::identity(4)); });
  auto scale = vae::LatentScale::wan21();
  scale.std[3] = 0.0f;
  require_error(ErrorCode::invalid_argument, [&] { vae::WanVae v(tiny_config(), scale); });
}

TEST_CASE("VAE runs in bfloat16 and stays near float32", "[vae]") {
  auto vae = tiny_vae();
  const at::Tensor video = random_video(1, 5, 16, 16);
  const at::Tensor z = random_latents(1, 2, 2, 2);
  const at::Tensor z32 = vae->encode(video), x32 = vae->decode(z);
  vae->to(at::kBFloat16);
  CHECK(vae->dtype() == at::kBFloat16);
  const at::Tensor z16 = vae->encode(video), x16 = vae->decode(z);
  CHECK(z16.scalar_type() == at::kFloat);
  CHECK(x16.scalar_type() == at::kFloat);
  // bf16 keeps 8 bits of mantissa: a few 1e-2 after ~40 layers on random weights.
  CHECK((z16 - z32).abs().mean().item<double>() <= 0.05);
  CHECK((x16 - x32).abs().mean().item<double>() <= 0.05);
}
