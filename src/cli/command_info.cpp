// `talkgen info`: version, build features and the devices this process can see.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "talkgen/encoder.hpp"
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
    if (*json) {
      nlohmann::json out = {{"version", version()},
                            {"build_features", build_features()},
                            {"encoders", {{"libx264", x264}, {"h264_nvenc", nvenc}}},
                            {"devices", nlohmann::json::array({{{"type", "cpu"}, {"name", "cpu"}}})}};
      if (!nvenc) out["encoders"]["h264_nvenc_unavailable_because"] = nvenc_why;
      fmt::print("{}\n", out.dump(2));
      return 0;
    }
    fmt::print("talkgen {}\n", version());
    fmt::print("build: {}\n", build_features());
    fmt::print("encoders: libx264 {}, h264_nvenc {}\n", x264 ? "yes" : "no",
               nvenc ? "yes" : fmt::format("no ({})", nvenc_why));
    fmt::print("devices: cpu\n");
    return 0;
  };
}

}  // namespace talkgen::cli
