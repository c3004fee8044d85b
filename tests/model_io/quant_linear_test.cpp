// Computing with quantized Linears and LoRA as a side path (src/model/io/quant_linear.hpp).
#include "model_io_test_util.hpp"

#include "model/io/quant_checkpoint.hpp"
#include "model/io/quant_linear.hpp"

using namespace talkgen::model::io;
using model_io_test::require_error;
using talkgen::ErrorCode;

namespace {

std::string quant_data(const std::string& name) { return std::string(TALKGEN_TEST_DATA_DIR) + "/parity/quant/" + name; }

const std::vector<ExpectedLinear> kLinears = {
    {"blocks.0.self_attn.q", 8, 12}, {"blocks.0.ffn.0", 16, 8}, {"blocks.0.ffn.2", 8, 16},
    {"head.head", 4, 8},             {"probe.one_row", 1, 8},   {"text_embedding.0", 8, 4},
};

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace

TEST_CASE("LoRA side path equals merging the LoRA into the weight", "[quant]") {
  at::manual_seed(7);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor x = at::randn({2, 3, 12}, f64), w = at::randn({10, 12}, f64), b = at::randn({10}, f64);
  const LoraBranch first{at::randn({4, 12}, f64), at::randn({10, 4}, f64), 0.7};
  const LoraBranch second{at::randn({2, 12}, f64), at::randn({10, 2}, f64), -1.25};
  const at::Tensor merged = w + first.scale * at::matmul(first.up, first.down) + second.scale * at::matmul(second.up, second.down);
  const at::Tensor side = at::linear(x, w, b) + lora_side_path(x, first) + lora_side_path(x, second);
  CHECK(side.sizes() == at::IntArrayRef{2, 3, 10});
  CHECK(max_abs_diff(side, at::linear(x, merged, b)) < 1e-12);
}

TEST_CASE("quantized_linear with LoRA branches equals the merged dequantised layer", "[quant]") {
  const QuantizedCheckpoint ckpt = QuantizedCheckpoint::open(quant_data("quanto_int8_f32.safetensors"), kLinears);
  const QuantizedWeight w = ckpt.read("blocks.0.ffn.2");  // [8, 16]
  at::manual_seed(11);
  const at::Tensor x = at::randn({5, 16});
  const at::Tensor bias = at::randn({8});
  const std::vector<LoraBranch> loras = {{at::randn({3, 16}), at::randn({8, 3}), 0.5},
                                         {at::randn({2, 16}, at::kBFloat16), at::randn({8, 2}, at::kBFloat16), 2.0}};
  for (const LoraBranch& l : loras) check_lora_branch(l, w.out_features(), w.in_features(), "test");
  const at::Tensor y = quantized_linear(x, w, bias, at::kFloat, loras);
  CHECK(y.scalar_type() == at::kFloat);
  at::Tensor merged = w.dequantize().to(at::kDouble);
  for (const LoraBranch& l : loras) merged += l.scale * at::matmul(l.up.to(at::kDouble), l.down.to(at::kDouble));
  CHECK(max_abs_diff(y, at::linear(x.to(at::kDouble), merged, bias.to(at::kDouble))) < 1e-4);
  // Without branches it is the plain dequantised product.
  CHECK(max_abs_diff(quantized_linear(x, w, bias, at::kFloat), at::linear(x, w.dequantize(), bias)) < 1e-6);
  // bf16 compute: the result is bf16 (bias promoted as torch adds a float32 bias: float32).
  CHECK(quantized_linear(x, w, at::Tensor(), at::kBFloat16).scalar_type() == at::kBFloat16);
}

TEST_CASE("LoRA branches and inputs that do not fit are refused", "[quant]") {
  const LoraBranch ok{at::zeros({4, 12}), at::zeros({10, 4}), 1.0};
  check_lora_branch(ok, 10, 12, "blocks.0.ffn.0.lora_down.weight");
  require_error([&] { check_lora_branch(ok, 10, 16, "blocks.0.ffn.0.lora_down.weight"); },
                ErrorCode::checkpoint_mismatch, {"blocks.0.ffn.0.lora_down.weight", "[10, 16]"});
  require_error([&] { check_lora_branch(ok, 8, 12, "k"); }, ErrorCode::checkpoint_mismatch, {"'k'", "[8, 12]"});
  const LoraBranch rank_mismatch{at::zeros({4, 12}), at::zeros({10, 3}), 1.0};
  require_error([&] { check_lora_branch(rank_mismatch, 10, 12, "r"); }, ErrorCode::checkpoint_mismatch, {"'r'"});
  const LoraBranch integer{at::zeros({4, 12}, at::kChar), at::zeros({10, 4}), 1.0};
  require_error([&] { check_lora_branch(integer, 10, 12, "i"); }, ErrorCode::checkpoint_mismatch, {"non-floating"});

  const QuantizedCheckpoint ckpt = QuantizedCheckpoint::open(quant_data("quanto_fp8_f32.safetensors"), kLinears);
  const QuantizedWeight w = ckpt.read("head.head");  // [4, 8]
  require_error([&] { quantized_linear(at::zeros({2, 9}), w, at::Tensor(), at::kFloat); },
                ErrorCode::invalid_argument, {"[4, 8]", "[2, 9]"});
}
