#include "cli/device_option.hpp"

#include <fmt/format.h>

#include "distributed/distributed_runner.hpp"
#include "talkgen/error.hpp"
#include "talkgen/planner.hpp"

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

std::vector<at::Device> rank_devices(const std::string& name, int count) {
  const at::Device first = parse_device(name);
  if (count < 1) fail(ErrorCode::invalid_argument, "--gpus {}: expected at least 1", count);
  if (first.is_cpu()) return cpu_devices(count);
  if (count == 1) return {first};
  if (first.has_index())
    fail(ErrorCode::invalid_argument, "--device {} with --gpus {}: several GPUs are cuda:0 .. cuda:{}; pass --device "
         "cuda (or CUDA_VISIBLE_DEVICES to choose which)", name, count, count - 1);
  const int visible = static_cast<int>(probe_devices().cuda.size());
  if (count > visible)
    fail(ErrorCode::device_unavailable, "--gpus {} asked for {} GPUs but {} visible; pass --gpus {} or fewer",
         count, count, visible == 1 ? "only 1 is" : fmt::format("only {} are", visible), visible);
  return cuda_devices(count);
}

}  // namespace talkgen::cli
