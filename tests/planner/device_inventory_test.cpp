// The device probe: its timeout, the CPU device, the driver version, the CPU build's answer.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "planner/device_probe.hpp"

using namespace talkgen;
using namespace talkgen::planner;
using Clock = std::chrono::steady_clock;

TEST_CASE("a probe that hangs is abandoned after the timeout, and the result says so") {
  // The "hung" probe waits until the test releases it, so the thread ends before the process does.
  auto gate = std::make_shared<std::pair<std::mutex, std::condition_variable>>();
  auto released = std::make_shared<bool>(false);
  auto finished = std::make_shared<std::atomic<bool>>(false);
  const auto start = Clock::now();
  const DeviceInventory inv = probe_with_timeout(
      [=] {
        std::unique_lock<std::mutex> lock(gate->first);
        gate->second.wait(lock, [&] { return *released; });
        DeviceInventory late;
        late.cuda.push_back(CudaDeviceInfo{});
        finished->store(true);
        return late;
      },
      std::chrono::milliseconds(100));
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  CHECK(waited >= 0.09);
  CHECK(waited < 2.0);
  CHECK(inv.timed_out);
  CHECK(inv.cuda.empty());
  CHECK(inv.note.find("did not answer within 100 ms") != std::string::npos);
  {
    std::lock_guard<std::mutex> lock(gate->first);
    *released = true;
  }
  gate->second.notify_all();
  for (int i = 0; i < 200 && !finished->load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(finished->load());  // the abandoned probe finished on its own; its result went nowhere
}

TEST_CASE("a probe that answers in time is returned as is, one that throws becomes a note") {
  const auto inv = probe_with_timeout([] {
    DeviceInventory d;
    d.cuda.push_back(CudaDeviceInfo{0, "Test GPU", 1 << 30, 4, 9, 0, {}});
    return d;
  }, std::chrono::milliseconds(5000));
  CHECK_FALSE(inv.timed_out);
  REQUIRE(inv.cuda.size() == 1);
  CHECK(inv.cuda[0].name == "Test GPU");

  const auto failed = probe_with_timeout([]() -> DeviceInventory { throw std::runtime_error("no driver"); },
                                         std::chrono::milliseconds(5000));
  CHECK(failed.cuda.empty());
  CHECK(failed.note.find("no driver") != std::string::npos);
}

TEST_CASE("probe_devices lists the CPU only when asked") {
  CHECK_FALSE(probe_devices().cpu);
  InventoryOptions options;
  options.include_cpu = true;
  const auto inv = probe_devices(options);
  REQUIRE(inv.cpu);
  CHECK(inv.cpu->cores >= 1);
  CHECK(inv.cpu->memory_bytes > 0);
  CHECK_FALSE(inv.cpu->name.empty());
#if !TALKGEN_WITH_CUDA
  CHECK(inv.cuda.empty());
  CHECK(inv.note.find("this build has no CUDA") != std::string::npos);
#else
  if (inv.cuda.empty()) CHECK_FALSE(inv.note.empty());  // no devices: the note says why
  for (const auto& d : inv.cuda) {
    CHECK(d.memory_bytes > 0);
    CHECK(d.multiprocessors > 0);
    CHECK(d.compute_major >= 7);
  }
#endif
}

TEST_CASE("the NVIDIA driver version comes from /proc/driver/nvidia/version") {
  const std::string path = std::string(TALKGEN_TEST_SCRATCH_DIR) + "/planner_nvidia_version";
  std::ofstream(path) << "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.86.15  Release Build  "
                         "(dvs-builder@U16-I3-B03-4-3)  Thu Jan 16 2025\nGCC version: gcc 12\n";
  CHECK(nvidia_driver_version(path) == "570.86.15");
  std::ofstream(path) << "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n";
  CHECK(nvidia_driver_version(path) == "535.104.05");
  CHECK(nvidia_driver_version(path + ".absent").empty());
}
