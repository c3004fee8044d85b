#include "model/wav2vec2/activation.hpp"

#include "talkgen/error.hpp"

namespace talkgen::model::wav2vec2 {

Activation parse_activation(const std::string& name, const std::string& where) {
  if (name == "gelu") return Activation::gelu;  // exact (erf) GELU
  // Tanh approximations: equal to float rounding.
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::gelu_tanh;
  if (name == "relu") return Activation::relu;
  if (name == "silu" || name == "swish") return Activation::silu;
  if (name == "quick_gelu") return Activation::quick_gelu;
  fail(ErrorCode::unsupported, "{}: activation \"{}\" is not supported (expected gelu, gelu_new, "
       "gelu_pytorch_tanh, gelu_fast, relu, silu, swish or quick_gelu)", where, name);
}

at::Tensor apply_activation(Activation act, const at::Tensor& x) {
  switch (act) {
    case Activation::gelu: return at::gelu(x);
    case Activation::gelu_tanh: return at::gelu(x, "tanh");
    case Activation::relu: return at::relu(x);
    case Activation::silu: return at::silu(x);
    case Activation::quick_gelu: return x * at::sigmoid(1.702 * x);
  }
  return x;
}

}  // namespace talkgen::model::wav2vec2
