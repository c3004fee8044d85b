// Names of the Client's enums, as the CLI, the JSON results and the bindings spell them.
#include <algorithm>
#include <cctype>

#include "talkgen/client.hpp"

namespace talkgen {

DevicePolicy parse_device_policy(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "auto" || lower == "automatic") return DevicePolicy::automatic;
  if (lower == "cuda" || lower == "gpu") return DevicePolicy::cuda;
  if (lower == "cpu") return DevicePolicy::cpu;
  fail(ErrorCode::invalid_argument, "unknown device policy '{}': expected auto, cuda or cpu", name);
}

const char* to_string(DevicePolicy policy) noexcept {
  switch (policy) {
    case DevicePolicy::automatic: return "auto";
    case DevicePolicy::cuda: return "cuda";
    case DevicePolicy::cpu: return "cpu";
  }
  return "?";
}

const char* to_string(JobState state) noexcept {
  switch (state) {
    case JobState::queued: return "queued";
    case JobState::running: return "running";
    case JobState::retrying: return "retrying";
    case JobState::succeeded: return "succeeded";
    case JobState::failed: return "failed";
    case JobState::cancelled: return "cancelled";
  }
  return "?";
}

}  // namespace talkgen
