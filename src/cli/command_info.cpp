// `talkgen info`: version, build features and the devices this process can see.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "talkgen/encoder.hpp"
#include "talkgen/planner.hpp"
#include "talkgen/version.hpp"

namespace talkgen::cli {

CommandRun add_info_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print version, build features and devices");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Machine-readable output");
  return [json]() {
    std::string nvenc_why;
    const bool x264 = encoder_available(VideoCodec::libx264);
    const bool nvenc = encoder_available(VideoCodec::h264_nvenc, &nvenc_why);
    InventoryOptions inventory_options;
    inventory_options.include_cpu = true;
    const DeviceInventory inventory = probe_devices(inventory_options);
    nlohmann::json devices = nlohmann::json::array();
    for (const auto& gpu : inventory.cuda) {
      devices.push_back({{"type", "cuda"}, {"index", gpu.index}, {"name", gpu.name}, {"memory_bytes", gpu.memory_bytes},
                         {"multiprocessors", gpu.multiprocessors},
                         {"compute_capability", fmt::format("{}.{}", gpu.compute_major, gpu.compute_minor)},
                         {"peers", gpu.peers}});
    }
    if (inventory.cpu) {
      devices.push_back({{"type", "cpu"}, {"name", inventory.cpu->name}, {"cores", inventory.cpu->cores},
                         {"memory_bytes", inventory.cpu->memory_bytes}});
    }
    if (*json) {
      nlohmann::json out = {{"version", version()},
                            {"build_features", build_features()},
                            {"encoders", {{"libx264", x264}, {"h264_nvenc", nvenc}}},
                            {"devices", devices},
                            {"cuda_note", inventory.note},
                            {"driver_version", inventory.driver_version}};
      if (!nvenc) out["encoders"]["h264_nvenc_unavailable_because"] = nvenc_why;
      fmt::print("{}\n", out.dump(2));
      return 0;
    }
    fmt::print("talkgen {}\n", version());
    fmt::print("build: {}\n", build_features());
    fmt::print("encoders: libx264 {}, h264_nvenc {}\n", x264 ? "yes" : "no",
               nvenc ? "yes" : fmt::format("no ({})", nvenc_why));
    for (const auto& gpu : inventory.cuda) {
      fmt::print("device cuda:{}: {} ({:.1f} GiB, {} SMs, sm_{}{})\n", gpu.index, gpu.name,
                 gpu.memory_bytes / double(1ull << 30), gpu.multiprocessors, gpu.compute_major, gpu.compute_minor);
    }
    if (inventory.cuda.empty()) fmt::print("cuda: none ({})\n", inventory.note);
    if (inventory.cpu) fmt::print("device cpu: {} ({} cores)\n", inventory.cpu->name, inventory.cpu->cores);
    return 0;
  };
}

}  // namespace talkgen::cli
