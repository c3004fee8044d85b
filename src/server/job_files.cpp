#include "server/job_files.hpp"

#include <filesystem>

#include "core/atomic_file.hpp"
#include "talkgen/error.hpp"

namespace talkgen::server {

namespace fs = std::filesystem;

JobFiles::JobFiles(std::string data_dir) : root_((fs::path(data_dir) / "jobs").string()) {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) fail(ErrorCode::io_error, "cannot create '{}': {}; pass a writable --data-dir", root_, ec.message());
}

std::string JobFiles::folder(const std::string& id) const { return (fs::path(root_) / id).string(); }
std::string JobFiles::image_path(const std::string& id) const { return folder(id) + "/image"; }
std::string JobFiles::audio_path(const std::string& id) const { return folder(id) + "/audio"; }
std::string JobFiles::audio2_path(const std::string& id) const { return folder(id) + "/audio2"; }
std::string JobFiles::video_path(const std::string& id) const { return folder(id) + "/video.mp4"; }

void JobFiles::write_inputs(const std::string& id, const std::vector<std::uint8_t>& image,
                            const std::vector<std::uint8_t>& audio, const std::vector<std::uint8_t>& audio2) const {
  std::error_code ec;
  fs::create_directories(folder(id), ec);
  if (ec) fail(ErrorCode::io_error, "cannot create '{}': {}", folder(id), ec.message());
  // Users' media: readable by this account only.
  write_file_atomically(image_path(id), image, 0600);
  if (!audio.empty()) write_file_atomically(audio_path(id), audio, 0600);
  if (!audio2.empty()) write_file_atomically(audio2_path(id), audio2, 0600);
  sync_folder(root_);  // the new folder's entry itself
}

void JobFiles::remove(const std::string& id) const {
  std::error_code ec;
  fs::remove_all(folder(id), ec);
  if (ec) fail(ErrorCode::io_error, "cannot delete '{}': {}", folder(id), ec.message());
}

std::vector<std::string> JobFiles::ids() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec))
    if (entry.is_directory()) out.push_back(entry.path().filename().string());
  return out;
}

}  // namespace talkgen::server
