// The pieces of probe_devices(), separate so the timeout can be tested with a probe that hangs.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "talkgen/planner.hpp"

namespace talkgen::planner {

/// CUDA devices through libtorch / the CUDA runtime. On a build without CUDA: none, with the note
/// "this build has no CUDA". May block for long on a broken host: call it through probe_with_timeout.
DeviceInventory probe_cuda();

/// Runs `probe` on its own thread and waits at most `timeout`. On time: its result. Late: an inventory
/// with no devices, timed_out set and a note saying so; the thread is left to finish on its own (its
/// result is then discarded). Exceptions from `probe` become a note.
DeviceInventory probe_with_timeout(std::function<DeviceInventory()> probe, std::chrono::milliseconds timeout);

/// The NVIDIA kernel driver's version from /proc/driver/nvidia/version ("570.86.15"); empty if none.
std::string nvidia_driver_version(const std::string& proc_file = "/proc/driver/nvidia/version");

/// The host CPU: model name, logical cores, physical memory.
CpuDeviceInfo probe_cpu();

}  // namespace talkgen::planner
