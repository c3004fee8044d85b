#include "cli/device_option.hpp"

#include "talkgen/error.hpp"

namespace talkgen::cli {
namespace {
#if TALKGEN_WITH_CUDA
constexpr bool kBuildHasCuda = true;
#else
constexpr bool kBuildHasCuda = false;
#endif
}  // namespace

at::Device parse_device(const std::string& name) {
  if (name == "cpu") return at::Device(at::kCPU);
  if (name.rfind("cuda", 0) != 0) {
    fail(ErrorCode::invalid_argument, "unknown device '{}': use cpu, cuda or cuda:N", name);
  }
  const at::Device device(name);  // validates "cuda:N" syntax
  if (!at::hasCUDA()) {
    fail(ErrorCode::device_unavailable,
         "--device {} was asked for but {}: use --device cpu, or build the `cuda` preset on a machine with NVIDIA GPUs",
         name, kBuildHasCuda ? "no CUDA device is visible to this process" : "this build of talkgen has no CUDA");
  }
  return device;
}

}  // namespace talkgen::cli
