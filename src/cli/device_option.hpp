// Parsing --device for commands that run models: "cpu", "cuda" or "cuda:N". Asking for CUDA where this
// build or machine has none is an error (device_unavailable), never a silent fallback to the CPU.
#pragma once

#include <string>

#include <ATen/ATen.h>

namespace talkgen::cli {

at::Device parse_device(const std::string& name);

}  // namespace talkgen::cli
