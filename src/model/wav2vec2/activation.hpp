// Activation functions named as in transformers' ACT2FN (the strings a config.json holds).
#pragma once

#include <string>

#include <ATen/ATen.h>

namespace talkgen::model::wav2vec2 {

enum class Activation { gelu, gelu_tanh, relu, silu, quick_gelu };

/// Throws Error(unsupported) naming `where` (the config field) for names not listed here.
Activation parse_activation(const std::string& name, const std::string& where);
at::Tensor apply_activation(Activation act, const at::Tensor& x);

}  // namespace talkgen::model::wav2vec2
