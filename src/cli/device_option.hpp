// Parsing --device for commands that run models: "cpu", "cuda" or "cuda:N". Asking for CUDA where this
// build or machine has none is an error (device_unavailable), never a silent fallback to the CPU.
#pragma once

#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace talkgen::cli {

at::Device parse_device(const std::string& name);

/// One device per rank for `count` ranks on `name`'s kind: `count` in-process CPU ranks for "cpu", or
/// cuda:0 .. cuda:count-1 for "cuda" (Error(device_unavailable) when fewer GPUs are visible). "cuda:N"
/// names one GPU: only with count 1.
std::vector<at::Device> rank_devices(const std::string& name, int count);

}  // namespace talkgen::cli
