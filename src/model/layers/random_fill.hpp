// Random weights for benchmarks: billions of parameters filled in place on their own device, at the
// scales a trained network has, so the kernels see realistic magnitudes. Not reproducible across devices
// (each device draws from its own generator); a multi-device benchmark copies rank 0's weights to the
// others instead (distributed/replicate.hpp). Tests that need reproducible weights use
// model::dit::randomize_parameters (CPU draws, seeded).
#pragma once

#include <string>

#include <torch/nn/module.h>

namespace talkgen::model::layers {

/// True for a normalisation gain ("...norm...weight" or "...gamma"), which is drawn around 1.
bool is_norm_scale(const std::string& parameter_name);

/// Fills every parameter of `module` in place: matrices ~ N(0, 1/fan_in), norm gains ~ N(1, 0.2^2),
/// other vectors (biases) ~ N(0, 0.1^2).
void fill_random_on_device(torch::nn::Module& module);

}  // namespace talkgen::model::layers
