// The module tree of the DiT and the shared layers it is built from (model/layers/modules.hpp): names that
// are the checkpoint keys, the Head module, the layers' precision rules and the runtime options.
#include "dit_test_util.hpp"  // first: see there

#include <set>

using namespace talkgen;
using namespace talkgen::model::dit;
namespace layers = talkgen::model::layers;

namespace {

std::set<std::string> parameter_names(const torch::nn::Module& module) {
  std::set<std::string> names;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) names.insert(item.key());
  return names;
}

at::Tensor randn(at::IntArrayRef shape, uint64_t seed) {
  return at::randn(shape, at::detail::createCPUGenerator(seed));
}

}  // namespace

TEST_CASE("DiT parameter names are the checkpoint keys, norms without affine have none", "[dit][modules]") {
  const auto c = DitConfig::tiny();
  const DitModel model(c, at::TensorOptions().dtype(at::kFloat));
  const auto names = parameter_names(model);
  for (const char* key : {"patch_embedding.weight", "patch_embedding.bias", "text_embedding.0.weight",
                          "text_embedding.2.bias", "time_embedding.0.weight", "time_projection.1.weight",
                          "blocks.0.modulation", "blocks.1.self_attn.q.weight", "blocks.1.self_attn.norm_q.weight",
                          "blocks.0.cross_attn.k_img.bias", "blocks.0.cross_attn.norm_k_img.weight",
                          "blocks.0.norm3.weight", "blocks.0.norm3.bias", "blocks.0.ffn.0.weight",
                          "blocks.0.ffn.2.bias",
                          "blocks.0.audio_cross_attn.kv_linear.weight", "blocks.0.norm_x.bias", "head.head.weight",
                          "head.head.bias", "head.modulation", "img_emb.proj.0.weight", "img_emb.proj.4.bias",
                          "audio_proj.proj1_vf.weight", "audio_proj.norm.weight"}) {
    INFO(key);
    CHECK(names.count(key) == 1);
  }
  // WanLayerNorm(elementwise_affine=False) and the head's norm hold no parameter, as in the checkpoint.
  for (const auto& name : names) {
    INFO(name);
    CHECK(name.find("norm1") == std::string::npos);
    CHECK(name.find("norm2") == std::string::npos);
    CHECK(name.find("head.norm") == std::string::npos);
  }
  // patch 2, text 4, time 4 + 2; per block: self_attn 10, norm3 2, cross_attn 15, ffn 4, modulation 1,
  // audio_cross_attn 6, norm_x 2; head 3, img_emb 8, audio_proj 10.
  CHECK(names.size() == static_cast<size_t>(2 + 4 + 4 + 2 + c.num_layers * 40 + 3 + 8 + 10));
  // The public members are the registered modules (the Head's linear is head.head).
  CHECK(model.head->head->weight.sizes() == at::IntArrayRef{2 * 2 * c.out_dim, c.dim});
  CHECK(model.head->modulation.sizes() == at::IntArrayRef{1, 2, c.dim});
  CHECK(model.blocks->size() == static_cast<size_t>(c.num_layers));
}

TEST_CASE("Head: float32 modulated norm and linear, the reference's autocast block", "[dit][modules]") {
  const auto c = DitConfig::tiny();
  Head head(c, at::TensorOptions().dtype(at::kBFloat16));
  randomize_parameters(*head, 3);
  const auto x = randn({1, 6, c.dim}, 4).to(at::kBFloat16);
  const auto e = randn({1, c.dim}, 5);
  const auto out = head->forward(x, e);
  CHECK(out.scalar_type() == at::kFloat);
  CHECK(out.sizes() == at::IntArrayRef{1, 6, 2 * 2 * c.out_dim});
  // Written out: the parameters widened to float32, the norm of x rounded to bf16 first (WanLayerNorm).
  const auto mod = head->modulation.to(at::kFloat) + e.unsqueeze(1);
  const auto shift = mod.select(1, 0).unsqueeze(1), scale = mod.select(1, 1).unsqueeze(1);
  const auto normed = at::layer_norm(x.to(at::kFloat), {c.dim}, {}, {}, c.eps).to(at::kBFloat16).to(at::kFloat);
  const auto want = at::linear(normed * (1 + scale) + shift, head->head->weight.to(at::kFloat),
                               head->head->bias.to(at::kFloat));
  CHECK(test::max_abs_diff(out, want) < 1e-5);
}

TEST_CASE("shared Linear: keys, bias option, float32 form", "[dit][modules]") {
  layers::Linear with_bias(layers::LinearOptions(4, 3).tensor_options(at::TensorOptions().dtype(at::kBFloat16)));
  CHECK(parameter_names(*with_bias) == std::set<std::string>{"weight", "bias"});
  CHECK(with_bias->weight.sizes() == at::IntArrayRef{3, 4});
  CHECK(with_bias->weight.scalar_type() == at::kBFloat16);
  CHECK_FALSE(with_bias->weight.requires_grad());
  layers::Linear no_bias(layers::LinearOptions(4, 3).bias(false));
  CHECK(parameter_names(*no_bias) == std::set<std::string>{"weight"});
  no_bias->weight.copy_(randn({3, 4}, 1));
  const auto x = randn({2, 4}, 2);
  CHECK(test::max_abs_diff(no_bias->forward(x), at::matmul(x, no_bias->weight.t())) < 1e-6);
  randomize_parameters(*with_bias, 3);
  const auto xb = x.to(at::kBFloat16);
  const auto fp32 = with_bias->forward_fp32(xb);
  CHECK(fp32.scalar_type() == at::kFloat);
  CHECK(test::max_abs_diff(fp32, at::linear(xb.to(at::kFloat), with_bias->weight.to(at::kFloat),
                                            with_bias->bias.to(at::kFloat))) == 0);
}

TEST_CASE("shared LayerNorm: float32 statistics or the input's dtype, affine optional", "[dit][modules]") {
  const auto x = (randn({3, 8}, 6) * 4 + 1).to(at::kBFloat16);
  const auto opts = at::TensorOptions().dtype(at::kBFloat16);
  layers::LayerNorm wan(layers::LayerNormOptions(8).eps(1e-6).tensor_options(opts));
  wan->weight.copy_(randn({8}, 7));
  wan->bias.copy_(randn({8}, 8));
  const auto want = at::layer_norm(x.to(at::kFloat), {8}, wan->weight.to(at::kFloat), wan->bias.to(at::kFloat), 1e-6)
                        .to(at::kBFloat16);
  CHECK(at::equal(wan->forward(x), want));
  CHECK(at::equal(layers::float32_layer_norm(x, 1e-6, wan->weight, wan->bias), want));

  layers::LayerNorm plain(layers::LayerNormOptions(8).float32(false).tensor_options(opts));
  plain->weight.copy_(wan->weight);
  plain->bias.copy_(wan->bias);
  CHECK(at::equal(plain->forward(x), at::layer_norm(x, {8}, plain->weight, plain->bias, 1e-5)));

  layers::LayerNorm bare(layers::LayerNormOptions(8).elementwise_affine(false));
  CHECK(parameter_names(*bare).empty());
  CHECK(at::equal(bare->forward(x), at::layer_norm(x.to(at::kFloat), {8}, {}, {}, 1e-5).to(at::kBFloat16)));
}

TEST_CASE("shared RMSNorm: WanRMSNorm rounds to the input's dtype, T5LayerNorm to half weights", "[dit][modules]") {
  const auto x = randn({2, 16}, 9) * 3;
  const auto xf = x.to(at::kFloat);
  const auto normed = xf * at::rsqrt(xf.pow(2).mean(-1, true) + 1e-6);

  layers::RMSNorm wan(layers::RMSNormOptions(16).tensor_options(at::TensorOptions().dtype(at::kBFloat16)));
  wan->weight.copy_(1 + 0.1 * randn({16}, 10));
  // float32 input, bf16 weight: Wan rounds to the input's dtype (none here), T5 to the weight's.
  CHECK(at::equal(wan->forward(x), normed * wan->weight));
  CHECK(wan->forward(x).scalar_type() == at::kFloat);
  layers::RMSNorm t5(layers::RMSNormOptions(16).rounding(layers::RMSNormRounding::weight_dtype)
                         .tensor_options(at::TensorOptions().dtype(at::kBFloat16)));
  t5->weight.copy_(wan->weight);
  CHECK(at::equal(t5->forward(x), normed.to(at::kBFloat16) * t5->weight));
  CHECK(t5->forward(x).scalar_type() == at::kBFloat16);
  // A float32 weight keeps T5's result in float32, even for bf16 input (Wan would round it to bf16).
  layers::RMSNorm t5_fp32(layers::RMSNormOptions(16).rounding(layers::RMSNormRounding::weight_dtype));
  const auto xb = x.to(at::kBFloat16), xbf = xb.to(at::kFloat);
  const auto normed_b = xbf * at::rsqrt(xbf.pow(2).mean(-1, true) + 1e-6);
  CHECK(at::equal(t5_fp32->forward(xb), normed_b * t5_fp32->weight));
  CHECK(at::equal(layers::rms_norm(xb, t5_fp32->weight, 1e-6), normed_b.to(at::kBFloat16) * t5_fp32->weight));
}

TEST_CASE("runtime options: set at construction, kept by the model, used by every forward", "[dit][modules][speed]") {
  DitRuntimeOptions runtime;
  runtime.attention = layers::AttentionBackend::automatic;
  runtime.speed = DitSpeedOptions::plain();
  auto model = std::make_shared<DitModel>(DitConfig::tiny(), at::TensorOptions().dtype(at::kFloat), runtime);
  randomize_parameters(*model, 12);
  CHECK(model->runtime_options().attention == layers::AttentionBackend::automatic);
  CHECK_FALSE(model->runtime_options().speed.fused_elementwise);
  const auto in = test::random_inputs(model->config(), 2, 4, 4, 13);
  const auto plain = model->forward(in);
  model->set_runtime_options({});  // the defaults: the build's attention, the fast paths
  CHECK(model->runtime_options().speed.fused_elementwise);
  CHECK(model->runtime_options().attention == layers::default_attention_backend());
  CHECK(test::max_abs_diff(model->forward(in), plain) < 1e-5);
  CHECK_THAT(model->runtime_options().describe(), Catch::Contains("fused elementwise on"));
}
