// Loading the DiT from a base checkpoint plus the InfiniteTalk file: names, strictness, precedence.
#include "dit_test_util.hpp"  // first: see there

#include <functional>
#include <set>

#include "model/dit/dit_checkpoint.hpp"

using namespace talkgen;
using namespace talkgen::model::dit;

namespace {

std::shared_ptr<DitModel> blank(at::ScalarType dtype = at::kFloat) {
  return std::make_shared<DitModel>(DitConfig::tiny(), at::TensorOptions().dtype(dtype));
}

std::shared_ptr<DitModel> random_model(uint64_t seed) {
  auto m = blank();
  randomize_parameters(*m, seed);
  return m;
}

void expect_mismatch(const std::function<void()>& load, const std::string& mentions) {
  try {
    load();
    FAIL("no error; expected a checkpoint_mismatch mentioning " << mentions);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::checkpoint_mismatch);
    CHECK_THAT(e.what(), Catch::Contains(mentions));
  }
}

}  // namespace

TEST_CASE("DiT module names are the official checkpoint keys", "[dit][checkpoint]") {
  const auto model = blank();
  std::set<std::string> names;
  for (const auto& item : model->named_parameters(true)) names.insert(item.key());
  for (const char* key :
       {"patch_embedding.weight", "patch_embedding.bias", "text_embedding.0.weight", "text_embedding.2.bias",
        "time_embedding.0.weight", "time_embedding.2.weight", "time_projection.1.weight", "time_projection.1.bias",
        "blocks.0.self_attn.q.weight", "blocks.0.self_attn.norm_q.weight", "blocks.0.self_attn.norm_k.weight",
        "blocks.1.cross_attn.k_img.weight", "blocks.1.cross_attn.v_img.bias", "blocks.1.cross_attn.norm_k_img.weight",
        "blocks.0.norm3.weight", "blocks.0.norm3.bias", "blocks.0.ffn.0.weight", "blocks.0.ffn.2.bias",
        "blocks.0.modulation", "blocks.1.audio_cross_attn.q_linear.weight", "blocks.1.audio_cross_attn.kv_linear.bias",
        "blocks.1.audio_cross_attn.proj.weight", "blocks.1.norm_x.weight", "blocks.1.norm_x.bias", "head.head.weight",
        "head.modulation", "img_emb.proj.0.weight", "img_emb.proj.1.weight", "img_emb.proj.3.bias",
        "img_emb.proj.4.weight", "audio_proj.proj1.weight", "audio_proj.proj1_vf.weight", "audio_proj.proj2.bias",
        "audio_proj.proj3.weight", "audio_proj.norm.weight", "audio_proj.norm.bias"})
    CHECK(names.count(key) == 1);
  // Per block 40 (32 Wan + 6 audio_cross_attn + 2 norm_x); patch 2, text 4, time 4 + 2, head 3,
  // img_emb 8, audio_proj 10. The reference's tiny model lists the same 87 base + 33 audio keys.
  const auto c = DitConfig::tiny();
  CHECK(names.size() == static_cast<size_t>(c.num_layers * 40 + 2 + 4 + 4 + 2 + 3 + 8 + 10));
  CHECK(model->named_buffers(true).size() == 0);
}

TEST_CASE("DiT loads from base + infinitetalk sources into equal weights and outputs", "[dit][checkpoint]") {
  const auto source = random_model(3);
  auto [base, audio] = test::split_state(*source);
  const auto loaded = blank();
  load_dit_weights(*loaded, base, audio);
  const auto p1 = source->named_parameters(true);
  const auto p2 = loaded->named_parameters(true);
  for (const auto& item : p1) CHECK(at::equal(item.value(), p2[item.key()]));
  const auto in = test::random_inputs(source->config(), 2, 4, 4, 1);
  CHECK(at::equal(source->forward(in), loaded->forward(in)));
}

TEST_CASE("DiT load casts to the model dtype", "[dit][checkpoint]") {
  const auto source = random_model(4);
  auto [base, audio] = test::split_state(*source);
  const auto loaded = blank(at::kBFloat16);
  load_dit_weights(*loaded, base, audio);
  for (const auto& item : loaded->named_parameters(true)) CHECK(item.value().scalar_type() == at::kBFloat16);
  CHECK(at::equal(loaded->named_parameters(true)["blocks.0.self_attn.q.weight"],
                  source->named_parameters(true)["blocks.0.self_attn.q.weight"].to(at::kBFloat16)));
}

TEST_CASE("the InfiniteTalk file's value wins over the base for a key both hold", "[dit][checkpoint]") {
  const auto source = random_model(5);
  auto [base, audio] = test::split_state(*source);
  const std::string key = "blocks.1.ffn.2.weight";
  audio.tensors()[key] = base.tensors()[key] + 1.0;
  const auto loaded = blank();
  load_dit_weights(*loaded, base, audio);
  CHECK(at::equal(loaded->named_parameters(true)[key], base.tensors()[key] + 1.0));
}

TEST_CASE("DiT load errors name the offending keys", "[dit][checkpoint][errors]") {
  const auto source = random_model(6);

  SECTION("a parameter in neither file") {
    auto [base, audio] = test::split_state(*source);
    audio.tensors().erase("blocks.1.audio_cross_attn.proj.bias");
    expect_mismatch([&] { load_dit_weights(*blank(), base, audio); }, "blocks.1.audio_cross_attn.proj.bias");
  }
  SECTION("the audio file missing entirely (base only, twice)") {
    auto [base, audio] = test::split_state(*source);
    expect_mismatch([&] { load_dit_weights(*blank(), base, base); }, "audio_proj.proj1.weight");
  }
  SECTION("a mis-shaped base tensor") {
    auto [base, audio] = test::split_state(*source);
    base.tensors()["blocks.0.self_attn.k.weight"] = at::zeros({64, 63});
    expect_mismatch([&] { load_dit_weights(*blank(), base, audio); }, "blocks.0.self_attn.k.weight");
  }
  SECTION("a mis-shaped audio tensor") {
    auto [base, audio] = test::split_state(*source);
    audio.tensors()["audio_proj.proj1.weight"] = at::zeros({16, 81});
    expect_mismatch([&] { load_dit_weights(*blank(), base, audio); }, "audio_proj.proj1.weight");
  }
  SECTION("an unexpected key in the InfiniteTalk file") {
    auto [base, audio] = test::split_state(*source);
    audio.tensors()["blocks.7.audio_cross_attn.proj.bias"] = at::zeros({64});
    expect_mismatch([&] { load_dit_weights(*blank(), base, audio); }, "blocks.7.audio_cross_attn.proj.bias");
  }
  SECTION("an unexpected key in the base") {
    auto [base, audio] = test::split_state(*source);
    base.tensors()["blocks.0.self_attn.extra"] = at::zeros({1});
    expect_mismatch([&] { load_dit_weights(*blank(), base, audio); }, "blocks.0.self_attn.extra");
  }
}
