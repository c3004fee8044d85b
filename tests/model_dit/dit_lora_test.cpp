// LoRA merge: the reference's rule (W += scale * up @ down, the file's alpha ignored), its rounding in the
// parameter dtype, both key styles, diffs, and errors that name the keys.
#include "dit_test_util.hpp"  // first: see there

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/dit/dit_lora.hpp"
#include "talkgen/log.hpp"

using namespace talkgen;
using namespace talkgen::model::dit;

namespace {

std::shared_ptr<DitModel> random_model(uint64_t seed = 21) {
  auto m = std::make_shared<DitModel>(DitConfig::tiny(), at::TensorOptions().dtype(at::kFloat));
  randomize_parameters(*m, seed);
  return m;
}

at::Tensor param(DitModel& m, const std::string& key) { return m.named_parameters(true)[key]; }

// Collects the log lines of one test case (the sink and level are restored afterwards).
struct LogCapture {
  std::vector<std::pair<LogLevel, std::string>> lines;
  LogLevel saved = log_level();
  LogCapture() {
    set_log_level(LogLevel::info);
    set_log_sink([this](LogLevel level, std::string_view m) { lines.emplace_back(level, std::string(m)); });
  }
  ~LogCapture() {
    set_log_sink(nullptr);
    set_log_level(saved);
  }
  std::vector<std::string> warnings() const {
    std::vector<std::string> out;
    for (const auto& [level, m] : lines)
      if (level == LogLevel::warn) out.push_back(m);
    return out;
  }
};

}  // namespace

TEST_CASE("LoRA down/up: W += scale * up @ down with the file's alpha ignored, as the reference", "[dit][lora]") {
  auto model = random_model();
  const auto w0 = param(*model, "blocks.0.self_attn.q.weight").clone();
  const auto b0 = param(*model, "blocks.1.cross_attn.o.bias").clone();
  const auto down = at::randn({4, 64}), up = at::randn({64, 4}), diff_b = at::randn({64});
  test::MapSource lora({{"diffusion_model.blocks.0.self_attn.q.lora_down.weight", down},
                        {"diffusion_model.blocks.0.self_attn.q.lora_up.weight", up},
                        {"diffusion_model.blocks.0.self_attn.q.alpha", at::scalar_tensor(8.0)},  // rank 4
                        {"diffusion_model.blocks.1.cross_attn.o.diff_b", diff_b}},
                       "lora.safetensors");
  CHECK(merge_lora(*model, lora, 0.5) == 2);
  // wan/wan_lora.py: delta = lora_B @ lora_A * scale; no alpha / rank (which would double it here).
  CHECK(test::max_abs_diff(param(*model, "blocks.0.self_attn.q.weight"), w0 + 0.5 * at::matmul(up, down)) < 1e-5);
  CHECK(test::max_abs_diff(param(*model, "blocks.1.cross_attn.o.bias"), b0 + 0.5 * diff_b) < 1e-6);
}

TEST_CASE("LoRA alpha != rank changes nothing and is reported with the kohya-equivalent scale", "[dit][lora]") {
  const auto down = at::randn({4, 64}), up = at::randn({64, 4});
  const auto file = [&](std::optional<double> alpha) {
    std::map<std::string, at::Tensor> t{{"diffusion_model.blocks.0.self_attn.q.lora_down.weight", down},
                                        {"diffusion_model.blocks.0.self_attn.q.lora_up.weight", up}};
    if (alpha) t["diffusion_model.blocks.0.self_attn.q.alpha"] = at::scalar_tensor(*alpha);
    return test::MapSource(std::move(t), "alpha.safetensors");
  };
  auto none = random_model();
  merge_lora(*none, file(std::nullopt), 1.5);
  for (const double alpha : {1.5, 4.0, 16.0}) {
    auto model = random_model();
    LogCapture log;
    merge_lora(*model, file(alpha), 1.5);
    for (const auto& item : none->named_parameters(true)) CHECK(at::equal(item.value(), param(*model, item.key())));
    const auto warnings = log.warnings();
    if (alpha == 4.0) {
      CHECK(warnings.empty());  // alpha == rank: both conventions agree, nothing to say
    } else {
      REQUIRE(warnings.size() == 1);
      CHECK_THAT(warnings[0], Catch::Contains("alpha.safetensors") && Catch::Contains("ignores alpha"));
      // one layer, one ratio: the scale that gives kohya's alpha/rank result is named
      CHECK_THAT(warnings[0], Catch::Contains(fmt::format("use scale {:g}", 1.5 * alpha / 4.0)));
    }
  }
}

TEST_CASE("LoRA alpha ratios that differ per layer are reported without a single scale", "[dit][lora]") {
  auto model = random_model();
  test::MapSource lora({{"diffusion_model.blocks.0.self_attn.q.lora_down.weight", at::randn({4, 64})},
                        {"diffusion_model.blocks.0.self_attn.q.lora_up.weight", at::randn({64, 4})},
                        {"diffusion_model.blocks.0.self_attn.q.alpha", at::scalar_tensor(1.5)},
                        {"diffusion_model.blocks.1.ffn.0.lora_down.weight", at::randn({2, 64})},
                        {"diffusion_model.blocks.1.ffn.0.lora_up.weight", at::randn({128, 2})},
                        {"diffusion_model.blocks.1.ffn.0.alpha", at::scalar_tensor(8.0)}},
                       "mixed.safetensors");
  LogCapture log;
  merge_lora(*model, lora, 1.0);
  const auto warnings = log.warnings();
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("2 layers") && Catch::Contains("0.375 to 4"));
  CHECK_THAT(warnings[0], !Catch::Contains("use scale"));
}

TEST_CASE("LoRA merge into bf16 weights rounds as the reference's parameter-dtype merge", "[dit][lora]") {
  auto model = std::make_shared<DitModel>(DitConfig::tiny(), at::TensorOptions().dtype(at::kBFloat16));
  randomize_parameters(*model, 5);
  const auto w0 = param(*model, "blocks.0.self_attn.q.weight").clone();
  const auto b0 = param(*model, "blocks.0.self_attn.q.bias").clone();
  // float32 in the file: the reference casts the file's tensors to the parameter dtype first.
  const auto down = at::randn({4, 64}), up = at::randn({64, 4}) * 0.3, diff_b = at::randn({64}) * 0.1;
  test::MapSource lora({{"diffusion_model.blocks.0.self_attn.q.lora_down.weight", down},
                        {"diffusion_model.blocks.0.self_attn.q.lora_up.weight", up},
                        {"diffusion_model.blocks.0.self_attn.q.diff_b", diff_b}},
                       "bf16.safetensors");
  const double scale = 1.3;
  merge_lora(*model, lora, scale);
  const auto bf16 = [](const at::Tensor& t) { return t.to(at::kBFloat16); };
  const auto f32 = [](const at::Tensor& t) { return t.to(at::kFloat); };
  // torch.matmul(lora_B, lora_A) in bf16 (fp32 accumulation, one rounding), "* alpha" in bf16, add_ in bf16.
  const auto product = bf16(at::matmul(f32(bf16(up)), f32(bf16(down))));
  const auto expected_w = w0 + bf16(f32(product) * scale);
  const auto expected_b = b0 + bf16(f32(bf16(diff_b)) * scale);
  CHECK(at::equal(param(*model, "blocks.0.self_attn.q.weight"), expected_w));
  CHECK(at::equal(param(*model, "blocks.0.self_attn.q.bias"), expected_b));
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
                        {"diffusion_model.blocks.0.cross_attn.k.lora_up.weight", at::randn({64, 4})},
                        {"diffusion_model.blocks.1.cross_attn.q.lora_down.weight", at::randn({4, 64})},
                        {"diffusion_model.blocks.1.cross_attn.q.lora_up.weight", at::randn({64, 4})},
                        {"diffusion_model.blocks.1.cross_attn.q.alpha", at::ones({4})}},
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
    CHECK_THAT(what, Catch::Contains("blocks.1.cross_attn.q.alpha"));     // alpha not a single number
    CHECK_THAT(what, Catch::Contains("bad.safetensors"));
  }
  CHECK(at::equal(param(*model, "blocks.0.self_attn.q.weight"), before));
}
