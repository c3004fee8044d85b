// Strict loading of a checkpoint into a torch::nn::Module tree whose names mirror the official keys.
#pragma once

#include <functional>
#include <string>

#include <torch/nn/module.h>

#include "model/io/tensor_source.hpp"

namespace talkgen::model::io {

struct LoadOptions {
  /// dtype the parameters end up in (cast while loading, one tensor at a time).
  at::ScalarType dtype = at::kFloat;
  /// Device the parameters end up on.
  at::Device device = at::kCPU;
  /// Names that may be absent from the checkpoint (kept as initialised), e.g. buffers computed at build.
  std::function<bool(const std::string&)> optional_key;
  /// Checkpoint names to skip without complaint (e.g. the text tower of the CLIP file).
  std::function<bool(const std::string&)> ignore_key;
  /// Renames a checkpoint key to a module key ("" drops it). Identity when unset.
  std::function<std::string(const std::string&)> rename;
  /// Parameters to keep in float32 whatever `dtype` says (norms, modulation ... as the reference does).
  std::function<bool(const std::string&)> keep_fp32;
};

/// Copies every parameter and buffer of `module` from `source`. Missing, unexpected and
/// shape-mismatched keys are collected and reported together in one Error(checkpoint_mismatch)
/// naming the file and the keys.
void load_strict(torch::nn::Module& module, const TensorSource& source, const LoadOptions& options = {});

}  // namespace talkgen::model::io
