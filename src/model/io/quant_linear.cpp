#include "model/io/quant_linear.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "talkgen/error.hpp"

namespace talkgen::model::io {
namespace {

std::string shape_of(const at::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

}  // namespace

void check_lora_branch(const LoraBranch& lora, int64_t out_features, int64_t in_features, const std::string& what) {
  const bool shapes_ok = lora.down.dim() == 2 && lora.up.dim() == 2 && lora.down.size(1) == in_features &&
                         lora.up.size(0) == out_features && lora.up.size(1) == lora.down.size(0);
  if (!shapes_ok)
    fail(ErrorCode::checkpoint_mismatch, "LoRA '{}' has down {} and up {}, which do not fit a Linear of [{}, {}] "
         "(expected down [r, {}] and up [{}, r]); use a LoRA made for this model", what, shape_of(lora.down),
         shape_of(lora.up), out_features, in_features, in_features, out_features);
  if (!lora.down.is_floating_point() || !lora.up.is_floating_point())
    fail(ErrorCode::checkpoint_mismatch, "LoRA '{}' has non-floating-point down/up tensors ({} / {})", what,
         c10::toString(lora.down.scalar_type()), c10::toString(lora.up.scalar_type()));
}

at::Tensor lora_side_path(const at::Tensor& x, const LoraBranch& lora) {
  const auto options = x.options();
  const at::Tensor down = lora.down.to(options);
  const at::Tensor up = lora.up.to(options);
  // The rank-r intermediate first: two thin products instead of forming up @ down ([out, in]).
  return at::linear(at::linear(x, down), up).mul_(lora.scale);
}

at::Tensor quantized_linear(const at::Tensor& x, const QuantizedWeight& w, const at::Tensor& bias,
                            at::ScalarType compute_dtype, const std::vector<LoraBranch>& loras) {
  if (x.size(-1) != w.in_features())
    fail(ErrorCode::invalid_argument, "quantized Linear of [{}, {}] got input of shape {}", w.out_features(),
         w.in_features(), shape_of(x));
  const at::Tensor weight = w.to(x.device()).dequantize(compute_dtype);
  const at::Tensor input = x.to(compute_dtype);
  at::Tensor y = at::matmul(input, weight.t());
  if (bias.defined()) y = y + bias.to(y.device());  // torch's type promotion, as quanto's `output + bias`
  for (const LoraBranch& lora : loras) y.add_(lora_side_path(input, lora));
  return y;
}

}  // namespace talkgen::model::io
