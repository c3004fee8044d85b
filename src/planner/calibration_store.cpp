// CalibrationStore: one small JSON file per (GPU, driver, talkgen version) in the user's cache directory.
// One file per key rather than one shared file: two benches on different GPUs never race on a write.
#include <cctype>
#include <cmath>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"
#include "talkgen/planner.hpp"
#include "talkgen/version.hpp"

namespace talkgen {
namespace {

namespace fs = std::filesystem;
constexpr const char* kFilePrefix = "calibration-";
constexpr int kFormat = 1;  // bump when fields change meaning; older files are then ignored

// Readable and safe as a file name: letters and digits kept, everything else '_'. A hash of the exact
// key keeps two keys that differ only in punctuation apart.
std::string file_stem(const std::string& gpu, const std::string& driver, const std::string& version) {
  const std::string key = gpu + '\n' + driver + '\n' + version;
  std::string readable;
  for (char c : gpu + "-" + driver + "-" + version)
    readable += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  // FNV-1a: stable across runs and platforms (std::hash is not).
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  return fmt::format("{}{}-{:08x}", kFilePrefix, readable, static_cast<std::uint32_t>(h ^ (h >> 32)));
}

nlohmann::json to_json(const Calibration& c) {
  return {{"format", kFormat},
          {"gpu_name", c.gpu_name},
          {"driver_version", c.driver_version},
          {"talkgen_version", c.talkgen_version},
          {"measured_at", c.measured_at},
          {"memory_bytes", c.memory_bytes},
          {"dit_tflops", c.dit_tflops},
          {"attention_tflops", c.attention_tflops},
          {"measured_tokens", c.measured_tokens},
          {"dit_peak_bytes", c.dit_peak_bytes},
          {"vae_decode_mpix_per_s", c.vae_decode_mpix_per_s},
          {"vae_encode_mpix_per_s", c.vae_encode_mpix_per_s},
          {"video_encode_mpix_per_s", c.video_encode_mpix_per_s},
          {"gpus", c.gpus},
          {"comm_gbps", c.comm_gbps}};
}

Calibration from_json(const nlohmann::json& j) {
  if (j.at("format").get<int>() != kFormat) throw std::runtime_error("format " + j.at("format").dump());
  Calibration c;
  c.gpu_name = j.at("gpu_name").get<std::string>();
  c.driver_version = j.at("driver_version").get<std::string>();
  c.talkgen_version = j.at("talkgen_version").get<std::string>();
  c.measured_at = j.value("measured_at", "");
  c.memory_bytes = j.value("memory_bytes", std::int64_t{0});
  c.dit_tflops = j.at("dit_tflops").get<double>();
  c.attention_tflops = j.value("attention_tflops", 0.0);
  c.measured_tokens = j.value("measured_tokens", std::int64_t{0});
  c.dit_peak_bytes = j.value("dit_peak_bytes", std::int64_t{0});
  c.vae_decode_mpix_per_s = j.value("vae_decode_mpix_per_s", 0.0);
  c.vae_encode_mpix_per_s = j.value("vae_encode_mpix_per_s", 0.0);
  c.video_encode_mpix_per_s = j.value("video_encode_mpix_per_s", 0.0);
  c.gpus = j.value("gpus", 1);
  c.comm_gbps = j.value("comm_gbps", 0.0);
  return c;
}

std::string utc_now_iso8601() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

void check_measured(const Calibration& c) {
  if (c.gpu_name.empty()) fail(ErrorCode::invalid_argument, "calibration without a GPU name: set gpu_name");
  if (!(c.dit_tflops > 0) || !std::isfinite(c.dit_tflops))
    fail(ErrorCode::invalid_argument, "calibration of {}: dit_tflops {} must be a measured rate > 0", c.gpu_name,
         c.dit_tflops);
  const std::pair<const char*, double> rates[] = {
      {"attention_tflops", c.attention_tflops}, {"vae_decode_mpix_per_s", c.vae_decode_mpix_per_s},
      {"vae_encode_mpix_per_s", c.vae_encode_mpix_per_s}, {"video_encode_mpix_per_s", c.video_encode_mpix_per_s},
      {"comm_gbps", c.comm_gbps}, {"memory_bytes", static_cast<double>(c.memory_bytes)},
      {"measured_tokens", static_cast<double>(c.measured_tokens)}, {"dit_peak_bytes", static_cast<double>(c.dit_peak_bytes)}};
  for (const auto& [name, value] : rates)
    if (!(value >= 0) || !std::isfinite(value))
      fail(ErrorCode::invalid_argument, "calibration of {}: {} = {} (expected >= 0; 0 = not measured)",
           c.gpu_name, name, value);
  if (c.gpus < 1) fail(ErrorCode::invalid_argument, "calibration of {}: gpus = {} (expected >= 1)", c.gpu_name, c.gpus);
  if (c.attention_tflops > 0 && c.measured_tokens == 0)
    fail(ErrorCode::invalid_argument, "calibration of {}: attention_tflops needs measured_tokens (the forward's "
         "token count)", c.gpu_name);
}

}  // namespace

CalibrationStore::CalibrationStore() : directory_(default_directory()) {}
CalibrationStore::CalibrationStore(std::string directory) : directory_(std::move(directory)) {
  if (directory_.empty()) fail(ErrorCode::invalid_argument, "calibration directory is empty: give a path");
}

std::string CalibrationStore::default_directory() {
  // XDG Base Directory: only an absolute XDG_CACHE_HOME counts.
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && xdg[0] == '/') return std::string(xdg) + "/talkgen";
  const char* home = std::getenv("HOME");
  if (home && home[0] != '\0') return std::string(home) + "/.cache/talkgen";
  fail(ErrorCode::not_found, "no cache directory for calibrations: neither XDG_CACHE_HOME nor HOME is set; set "
       "one, or pass a directory to CalibrationStore");
}

std::string CalibrationStore::path_for(const std::string& gpu, const std::string& driver,
                                       const std::string& version) const {
  return (fs::path(directory_) / (file_stem(gpu, driver, version) + ".json")).string();
}

void CalibrationStore::save(const Calibration& c) const {
  check_measured(c);
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec) fail(ErrorCode::io_error, "cannot create calibration directory '{}': {}", directory_, ec.message());
  write_file_atomically(path_for(c.gpu_name, c.driver_version, c.talkgen_version), to_json(c).dump(2) + "\n");
}

std::vector<Calibration> CalibrationStore::list() const {
  std::vector<Calibration> out;
  std::error_code ec;
  if (!fs::is_directory(directory_, ec)) return out;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kFilePrefix, 0) != 0 || entry.path().extension() != ".json") continue;
    try {
      std::ifstream in(entry.path());
      out.push_back(from_json(nlohmann::json::parse(in)));
    } catch (const std::exception& e) {
      log_warn("ignoring calibration file '{}': {} (delete it, or re-run `talkgen bench`)", entry.path().string(),
               e.what());
    }
  }
  return out;
}

std::optional<Calibration> CalibrationStore::find(const std::string& gpu, const std::string& driver,
                                                  const std::string& version) const {
  const std::string path = path_for(gpu, driver, version);
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  try {
    std::ifstream in(path);
    Calibration c = from_json(nlohmann::json::parse(in));
    // The file name is a hash; the contents are the truth.
    if (c.gpu_name != gpu || c.driver_version != driver || c.talkgen_version != version) return std::nullopt;
    return c;
  } catch (const std::exception& e) {
    log_warn("ignoring calibration file '{}': {} (delete it, or re-run `talkgen bench`)", path, e.what());
    return std::nullopt;
  }
}

Calibration record_calibration(Calibration measured, const CalibrationStore& store) {
  if (measured.talkgen_version.empty()) measured.talkgen_version = version();
  if (measured.measured_at.empty()) measured.measured_at = utc_now_iso8601();
  store.save(measured);
  log_info("calibration of {} saved to {}", measured.gpu_name,
           store.path_for(measured.gpu_name, measured.driver_version, measured.talkgen_version));
  return measured;
}

}  // namespace talkgen
