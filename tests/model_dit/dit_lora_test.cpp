// LoRA merge: both key styles, alpha/rank, diffs, and errors that name the keys.
#include "dit_test_util.hpp"  // first: see there

#include "model/dit/dit_lora.hpp"

using namespace talkgen;
using namespace talkgen::model::dit;

namespace {

std::shared_ptr<DitModel> random_model(uint64_t seed = 21) {
  auto m = std::make_shared<DitModel>(DitConfig::tiny(), at::TensorOptions().dtype(at::kFloat));
  randomize_parameters(*m, seed);
  return m;
}

at::Tensor param(DitModel& m, const std::string& key) { return m.named_parameters(true)[key]; }

}  // namespace

TEST_CASE("LoRA down/up with alpha: W += scale * alpha/rank * up @ down", "[dit][lora]") {
  auto model = random_model();
  const auto w0 = param(*model, "blocks.0.self_attn.q.weight").clone();
  const auto b0 = param(*model, "blocks.1.cross_attn.o.bias").clone();
  const auto down = at::randn({4, 64}), up = at::randn({64, 4}), diff_b = at::randn({64});
  test::MapSource lora({{"diffusion_model.blocks.0.self_attn.q.lora_down.weight", down},
                        {"diffusion_model.blocks.0.self_attn.q.lora_up.weight", up},
                        {"diffusion_model.blocks.0.self_attn.q.alpha", at::scalar_tensor(8.0)},
                        {"diffusion_model.blocks.1.cross_attn.o.diff_b", diff_b}},
                       "lora.safetensors");
  CHECK(merge_lora(*model, lora, 0.5) == 2);
  CHECK(test::max_abs_diff(param(*model, "blocks.0.self_attn.q.weight"), w0 + 0.5 * 2.0 * at::matmul(up, down)) <
        1e-5);
  CHECK(test::max_abs_diff(param(*model, "blocks.1.cross_attn.o.bias"), b0 + 0.5 * diff_b) < 1e-6);
}

TEST_CASE("LoRA lora_A/lora_B keys merge like lora_down/lora_up", "[dit][lora]") {
  auto a = random_model(), b = random_model();
  const auto down = at::randn({2, 64}), up = at::randn({128, 2}), diff = at::randn({64});
  test::MapSource kohya({{"diffusion_model.blocks.1.ffn.0.lora_down.weight", down},
                         {"diffusion_model.blocks.1.ffn.0.lora_up.weight", up},
                         {"diffusion_model.blocks.0.norm3.diff", diff}},
                        "kohya.safetensors");
  test::MapSource peft({{"blocks.1.ffn.0.lora_A.weight", down},  // no prefix: also accepted
                        {"blocks.1.ffn.0.lora_B.weight", up},
                        {"blocks.0.norm3.diff", diff}},
                       "peft.safetensors");
  merge_lora(*a, kohya, 1.25);
  merge_lora(*b, peft, 1.25);
  for (const auto& item : a->named_parameters(true)) CHECK(at::equal(item.value(), param(*b, item.key())));
  CHECK(!at::equal(param(*a, "blocks.1.ffn.0.weight"), param(*random_model(), "blocks.1.ffn.0.weight")));
}

TEST_CASE("LoRA on the patch-embedding convolution reshapes the delta", "[dit][lora]") {
  auto model = random_model();
  const auto w0 = param(*model, "patch_embedding.weight").clone();  // [64, 36, 1, 2, 2]
  const auto down = at::randn({3, 36, 1, 2, 2}), up = at::randn({64, 3, 1, 1, 1});
  test::MapSource lora({{"diffusion_model.patch_embedding.lora_down.weight", down},
                        {"diffusion_model.patch_embedding.lora_up.weight", up}},
                       "conv.safetensors");
  merge_lora(*model, lora, 1.0);
  const auto expected = w0 + at::matmul(up.flatten(1), down.flatten(1)).view(w0.sizes());
  CHECK(test::max_abs_diff(param(*model, "patch_embedding.weight"), expected) < 1e-5);
}

TEST_CASE("LoRA errors name every unusable key and change nothing", "[dit][lora][errors]") {
  auto model = random_model();
  const auto before = param(*model, "blocks.0.self_attn.q.weight").clone();
  test::MapSource lora({{"diffusion_model.blocks.0.self_attn.q.lora_down.weight", at::randn({4, 64})},
                        {"diffusion_model.blocks.0.self_attn.q.lora_up.weight", at::randn({64, 4})},
                        {"diffusion_model.blocks.9.self_attn.q.lora_down.weight", at::randn({4, 64})},
                        {"diffusion_model.blocks.9.self_attn.q.lora_up.weight", at::randn({64, 4})},
                        {"diffusion_model.blocks.0.ffn.0.lora_down.weight", at::randn({4, 64})},
                        {"lora_unet_blocks_0_cross_attn_k.lora_down.weight", at::randn({4, 64})},
                        {"diffusion_model.blocks.0.cross_attn.k.lora_down.weight", at::randn({4, 65})},
                        {"diffusion_model.blocks.0.cross_attn.k.lora_up.weight", at::randn({64, 4})}},
                       "bad.safetensors");
  try {
    merge_lora(*model, lora, 1.0);
    FAIL("no error for a LoRA with unusable keys");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::checkpoint_mismatch);
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("blocks.9.self_attn.q"));            // no such parameter
    CHECK_THAT(what, Catch::Contains("blocks.0.ffn.0.lora_down.weight"));  // down without up
    CHECK_THAT(what, Catch::Contains("lora_unet_blocks_0_cross_attn_k"));  // unknown naming style
    CHECK_THAT(what, Catch::Contains("blocks.0.cross_attn.k"));           // wrong shape
    CHECK_THAT(what, Catch::Contains("bad.safetensors"));
  }
  CHECK(at::equal(param(*model, "blocks.0.self_attn.q.weight"), before));
}
