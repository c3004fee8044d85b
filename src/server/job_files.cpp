#include "server/job_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "core/atomic_file.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::server {

namespace fs = std::filesystem;

namespace {

constexpr fs::perms kPrivateFolder = fs::perms::owner_all;  // 0700

void make_private_folder(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (!ec) fs::permissions(path, kPrivateFolder, fs::perm_options::replace, ec);
  if (ec) fail(ErrorCode::io_error, "cannot create '{}': {}; pass a writable --data-dir", path, ec.message());
}

bool all_digits(std::string_view text, bool hex) {
  if (text.empty()) return false;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (!(hex ? std::isxdigit(u) : std::isdigit(u))) return false;
  }
  return true;
}

// The temporary names of a job's files: write_file_atomically()'s "<name>.tmp.<pid>.<n>" and the MP4
// encoder's ".<name>.<8 hex>.tmp", for the names this folder holds.
bool is_temporary_name(std::string_view file) {
  for (const std::string_view name : {"image", "audio", "audio2", "video.mp4"}) {
    const std::string atomic_prefix = std::string(name) + ".tmp.";
    if (file.substr(0, atomic_prefix.size()) == atomic_prefix) {
      const std::string_view rest = file.substr(atomic_prefix.size());
      const auto dot = rest.find('.');
      if (dot != std::string_view::npos && all_digits(rest.substr(0, dot), false) &&
          all_digits(rest.substr(dot + 1), false))
        return true;
    }
    const std::string encoder_prefix = "." + std::string(name) + ".";
    if (file.size() == encoder_prefix.size() + 8 + 4 && file.substr(0, encoder_prefix.size()) == encoder_prefix &&
        file.substr(file.size() - 4) == ".tmp" && all_digits(file.substr(encoder_prefix.size(), 8), true))
      return true;
  }
  return false;
}

}  // namespace

JobFiles::JobFiles(std::string data_dir) : root_((fs::path(data_dir) / "jobs").string()) {
  make_private_folder(root_);
}

std::string JobFiles::folder(const std::string& id) const { return (fs::path(root_) / id).string(); }
std::string JobFiles::image_path(const std::string& id) const { return folder(id) + "/image"; }
std::string JobFiles::audio_path(const std::string& id) const { return folder(id) + "/audio"; }
std::string JobFiles::audio2_path(const std::string& id) const { return folder(id) + "/audio2"; }
std::string JobFiles::video_path(const std::string& id) const { return folder(id) + "/video.mp4"; }

void JobFiles::write_inputs(const std::string& id, const std::vector<std::uint8_t>& image,
                            const std::vector<std::uint8_t>& audio, const std::vector<std::uint8_t>& audio2) const {
  try {
    make_private_folder(folder(id));
    // Users' media: readable by this account only.
    write_file_atomically(image_path(id), image, 0600);
    if (!audio.empty()) write_file_atomically(audio_path(id), audio, 0600);
    if (!audio2.empty()) write_file_atomically(audio2_path(id), audio2, 0600);
    sync_folder(root_);  // the new folder's entry itself
  } catch (const Error&) {
    // A full disk part-way: the files already written must not outlive the refusal.
    std::error_code ec;
    fs::remove_all(folder(id), ec);
    throw;
  }
}

void JobFiles::finalize_video(const std::string& id) const {
  const std::string path = video_path(id);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(ErrorCode::io_error, "cannot open the finished video '{}': {}", path, std::strerror(errno));
  const bool ok = ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok)
    fail(ErrorCode::io_error, "cannot sync the finished video '{}' to disk: {}; check the free space of --data-dir",
         path, std::strerror(err));
  sync_folder(folder(id));
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

int JobFiles::remove_temporary_files() const {
  int removed = 0;
  std::error_code ec;
  for (const auto& job : fs::directory_iterator(root_, ec)) {
    if (!job.is_directory()) continue;
    std::error_code inner;
    for (const auto& entry : fs::directory_iterator(job.path(), inner)) {
      if (!is_temporary_name(entry.path().filename().string())) continue;
      std::error_code gone;
      if (fs::remove(entry.path(), gone)) ++removed;
      else if (gone) log_warn("serve: cannot remove the leftover temporary file '{}': {}", entry.path().string(), gone.message());
    }
  }
  return removed;
}

}  // namespace talkgen::server
