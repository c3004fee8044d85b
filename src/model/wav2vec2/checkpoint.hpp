// How a Hugging Face wav2vec2 folder maps onto Wav2Vec2Model: which files, and which keys.
#pragma once

#include <string>

#include "model/io/load_module.hpp"
#include "model/io/tensor_source.hpp"

namespace talkgen::model::wav2vec2 {

/// The weights file of a model folder: model.safetensors, model.safetensors.index.json or
/// pytorch_model.bin (first found). Throws Error(not_found) listing what was looked for.
std::string find_weights_file(const std::string& model_dir);

/// Reads do_normalize from `model_dir`/preprocessor_config.json; true when the file is absent.
/// Throws Error(invalid_argument) for a malformed file and Error(unsupported) for a sampling rate
/// other than 16 kHz.
bool read_do_normalize(const std::string& model_dir);

/// Key handling for `source`: strips the `wav2vec2.` prefix of task-head checkpoints (ignoring the
/// heads: quantizer, project_q, lm_head, ...), ignores the training-only masked_spec_embed, and maps
/// the positional conv's weight-norm parametrization names (parametrizations.weight.original0/1) to
/// weight_g / weight_v.
io::LoadOptions checkpoint_key_options(const io::TensorSource& source);

}  // namespace talkgen::model::wav2vec2
