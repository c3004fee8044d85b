#include "encoders_test_util.hpp"  // first: see there

#include <algorithm>
#include <set>

#include "clip_tiny.hpp"
#include "model/clip/vision_encoder.hpp"

using talkgen::ErrorCode;
using talkgen::model::clip::ClipVisionConfig;
using talkgen::model::clip::ClipVisionEncoder;
using namespace encoders_test;

namespace {

// The tiny tower's parameters under the official checkpoint's names, plus the parts of the file
// InfiniteTalk never uses (text tower, last block, post_norm, head).
std::vector<std::pair<std::string, at::Tensor>> official_layout(torch::nn::Module& model) {
  auto tensors = state_of(model, [](const std::string& k) { return "visual." + k; });
  const auto last = tiny_clip_model(99);  // stands in for block 2's weights
  for (const auto& p : last->named_parameters()) {
    if (p.key().rfind("transformer.1.", 0) == 0) {
      tensors.emplace_back("visual.transformer.2." + p.key().substr(14), p.value().detach());
    }
  }
  tensors.emplace_back("visual.post_norm.weight", at::ones({32}));
  tensors.emplace_back("visual.post_norm.bias", at::zeros({32}));
  tensors.emplace_back("visual.head", at::zeros({32, 16}));
  tensors.emplace_back("textual.token_embedding.weight", at::zeros({10, 8}));
  tensors.emplace_back("textual.head.0.weight", at::zeros({8, 8}));
  tensors.emplace_back("log_scale", at::zeros({}));
  return tensors;
}

}  // namespace

TEST_CASE("clip config: ViT-H/14 sizes and validation", "[clip]") {
  const auto h = ClipVisionConfig::vit_h_14();
  CHECK(h.tokens() == 257);
  CHECK(h.dim == 1280);
  CHECK(h.mlp_dim() == 5120);
  CHECK(h.blocks_used() == 31);
  CHECK_NOTHROW(h.validate());

  auto c = tiny_clip_config();
  c.image_size = 30;
  require_error([&] { c.validate(); }, ErrorCode::invalid_argument, "patch_size");
  c = tiny_clip_config();
  c.num_heads = 3;
  require_error([&] { c.validate(); }, ErrorCode::invalid_argument, "num_heads");
  c = tiny_clip_config();
  c.num_layers = 1;
  require_error([&] { c.validate(); }, ErrorCode::invalid_argument, "num_layers");
  c = tiny_clip_config();
  c.activation = "relu";
  require_error([&] { c.validate(); }, ErrorCode::invalid_argument, "relu");
}

TEST_CASE("clip: the module tree mirrors the checkpoint and skips the last block", "[clip]") {
  auto model = tiny_clip_model(1);
  std::set<std::string> names;
  for (const auto& p : model->named_parameters()) names.insert(p.key());
  for (const char* key : {"patch_embedding.weight", "cls_embedding", "pos_embedding", "pre_norm.weight",
                          "transformer.0.norm1.weight", "transformer.0.attn.to_qkv.weight",
                          "transformer.1.attn.proj.bias", "transformer.1.norm2.bias", "transformer.1.mlp.0.weight",
                          "transformer.1.mlp.2.bias"}) {
    INFO(key);
    CHECK(names.count(key) == 1);
  }
  CHECK(names.count("patch_embedding.bias") == 0);  // pre_norm towers have a bias-free patch conv
  for (const auto& n : names) CHECK(n.rfind("transformer.2.", 0) != 0);
  CHECK((model->named_parameters()["pos_embedding"].sizes() == at::IntArrayRef{1, 5, 32}));
}

TEST_CASE("clip: encode gives B x tokens x dim, deterministic, images independent", "[clip]") {
  ClipVisionEncoder encoder(tiny_clip_model(2));
  const auto images = test_images(2, 40, 36);
  const auto a = encoder.encode(images);
  CHECK((a.sizes() == at::IntArrayRef{2, 5, 32}));
  CHECK(at::isfinite(a).all().item<bool>());
  CHECK(at::equal(a, encoder.encode(images)));
  // Batching does not mix images.
  CHECK(at::allclose(encoder.encode(images.narrow(0, 1, 1)), a.narrow(0, 1, 1), 1e-5, 1e-5));
  CHECK(!at::allclose(a[0], a[1]));
}

TEST_CASE("clip: preprocessing resizes to image_size and applies CLIP mean/std to 0..1 pixels", "[clip]") {
  ClipVisionEncoder encoder(tiny_clip_model(3));
  const auto c = encoder.config();
  // A constant image stays constant under bicubic resizing: only the normalisation shows.
  const auto pixels = encoder.preprocess(at::full({1, 3, 50, 70}, 0.2f));
  CHECK((pixels.sizes() == at::IntArrayRef{1, 3, 28, 28}));
  for (int ch = 0; ch < 3; ++ch) {
    const double expected = (0.2 * 0.5 + 0.5 - c.pixel_mean[ch]) / c.pixel_std[ch];
    CHECK(pixels[0][ch].sub(expected).abs().max().item<double>() < 1e-5);
  }
  // Already the right size: the resize is the identity.
  const auto images = test_images(1, 28, 28);
  const auto same = encoder.preprocess(images);
  const auto unnormalized = same * at::tensor({c.pixel_std[0], c.pixel_std[1], c.pixel_std[2]}).view({1, 3, 1, 1}) +
                            at::tensor({c.pixel_mean[0], c.pixel_mean[1], c.pixel_mean[2]}).view({1, 3, 1, 1});
  CHECK(at::allclose(unnormalized.to(at::kFloat), images * 0.5 + 0.5, 1e-5, 1e-5));
}

TEST_CASE("clip: bad inputs are invalid_argument", "[clip]") {
  ClipVisionEncoder encoder(tiny_clip_model(4));
  require_error([&] { encoder.encode(at::zeros({3, 28, 28})); }, ErrorCode::invalid_argument, "[B, 3, H, W]");
  require_error([&] { encoder.encode(at::zeros({1, 4, 28, 28})); }, ErrorCode::invalid_argument, "[1, 4, 28, 28]");
  require_error([&] { encoder.encode(at::zeros({1, 3, 28, 28}, at::kByte)); }, ErrorCode::invalid_argument, "float");
  require_error([&] { encoder.forward(at::zeros({1, 3, 32, 32})); }, ErrorCode::invalid_argument, "[B, 3, 28, 28]");
}

TEST_CASE("clip checkpoint: the official layout loads, text tower and unused parts ignored", "[clip]") {
  auto model = tiny_clip_model(5);
  const auto path = scratch_dir("clip_official") + "/clip.safetensors";
  write_safetensors(path, official_layout(*model));
  const auto loaded = ClipVisionEncoder::load(path, tiny_clip_config());
  const auto images = test_images(1, 33, 45);
  CHECK(at::equal(loaded.encode(images), ClipVisionEncoder(model).encode(images)));
}

TEST_CASE("clip checkpoint: a bare vision state dict (no visual. prefix) loads too", "[clip]") {
  auto model = tiny_clip_model(6);
  const auto path = scratch_dir("clip_bare") + "/visual.safetensors";
  write_safetensors(path, state_of(*model, [](const std::string& k) { return k; }));
  const auto images = test_images(1, 28, 28);
  CHECK(at::equal(ClipVisionEncoder::load(path, tiny_clip_config()).encode(images),
                  ClipVisionEncoder(model).encode(images)));
}

TEST_CASE("clip checkpoint: missing / mis-shaped / extra keys are checkpoint_mismatch naming them", "[clip]") {
  auto model = tiny_clip_model(7);
  const auto dir = scratch_dir("clip_bad");

  auto tensors = official_layout(*model);
  tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                               [](const auto& e) { return e.first == "visual.transformer.1.attn.proj.bias"; }),
                tensors.end());
  write_safetensors(dir + "/missing.safetensors", tensors);
  require_error([&] { ClipVisionEncoder::load(dir + "/missing.safetensors", tiny_clip_config()); },
                ErrorCode::checkpoint_mismatch, "transformer.1.attn.proj.bias");

  tensors = official_layout(*model);
  for (auto& e : tensors) {
    if (e.first == "visual.pos_embedding") e.second = at::zeros({1, 4, 32});
  }
  write_safetensors(dir + "/shape.safetensors", tensors);
  require_error([&] { ClipVisionEncoder::load(dir + "/shape.safetensors", tiny_clip_config()); },
                ErrorCode::checkpoint_mismatch, "pos_embedding");

  // A deeper tower than the config says: its extra block is unexpected, not silently dropped.
  tensors = official_layout(*model);
  tensors.emplace_back("visual.transformer.3.norm1.weight", at::ones({32}));
  write_safetensors(dir + "/deeper.safetensors", tensors);
  require_error([&] { ClipVisionEncoder::load(dir + "/deeper.safetensors", tiny_clip_config()); },
                ErrorCode::checkpoint_mismatch, "transformer.3.norm1.weight");

  require_error([&] { ClipVisionEncoder::load(dir + "/absent.pth", tiny_clip_config()); }, ErrorCode::not_found,
                "absent.pth");
}
