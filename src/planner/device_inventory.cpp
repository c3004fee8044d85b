// probe_devices(): the CUDA probe on a watchdog thread, the driver version, and the CPU when asked.
#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <thread>

#include <fmt/format.h>
#include <unistd.h>

#include "planner/device_probe.hpp"

namespace talkgen::planner {

DeviceInventory probe_with_timeout(std::function<DeviceInventory()> probe, std::chrono::milliseconds timeout) {
  // Shared with the probe thread, which may outlive this call when it hangs.
  struct State {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    DeviceInventory result;
  };
  auto state = std::make_shared<State>();
  std::thread([state, probe = std::move(probe)]() {
    DeviceInventory result;
    try {
      result = probe();
    } catch (const std::exception& e) {
      result.note = fmt::format("the CUDA probe failed: {}", e.what());
    }
    std::lock_guard<std::mutex> lock(state->mutex);
    state->result = std::move(result);
    state->done = true;
    state->done_cv.notify_all();
  }).detach();  // a hung CUDA initialisation cannot be interrupted; never join it

  std::unique_lock<std::mutex> lock(state->mutex);
  if (state->done_cv.wait_for(lock, timeout, [&] { return state->done; })) return state->result;
  DeviceInventory late;
  late.timed_out = true;
  late.note = fmt::format("the CUDA probe did not answer within {} ms (CUDA initialisation hangs on this host?); "
                          "no CUDA devices listed. Check `nvidia-smi`, or raise the timeout", timeout.count());
  return late;
}

std::string nvidia_driver_version(const std::string& proc_file) {
  // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 ..." or "... Open Kernel Module for
  // x86_64  570.86.15  Release Build ...": the first dotted number after "Module".
  std::ifstream in(proc_file);
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  static const std::regex version(R"(Module.*?\s([0-9]+(?:\.[0-9]+)+)(?:\s|$))");
  std::smatch m;
  return std::regex_search(line, m, version) ? m[1].str() : std::string();
}

CpuDeviceInfo probe_cpu() {
  CpuDeviceInfo cpu;
  std::ifstream info("/proc/cpuinfo");
  std::string line;
  while (std::getline(info, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) cpu.name = line.substr(line.find_first_not_of(' ', colon + 1));
      break;
    }
  }
  if (cpu.name.empty()) cpu.name = "cpu";
  cpu.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) cpu.memory_bytes = static_cast<std::int64_t>(pages) * page;
  return cpu;
}

}  // namespace talkgen::planner

namespace talkgen {

DeviceInventory probe_devices(const InventoryOptions& options) {
  DeviceInventory inventory = planner::probe_with_timeout(planner::probe_cuda, options.timeout);
  if (inventory.driver_version.empty()) inventory.driver_version = planner::nvidia_driver_version();
  if (options.include_cpu) inventory.cpu = planner::probe_cpu();
  return inventory;
}

}  // namespace talkgen
