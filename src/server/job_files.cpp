#include "server/job_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "talkgen/error.hpp"

namespace talkgen::server {

namespace fs = std::filesystem;

namespace {

void sync_folder(const std::string& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: the rename itself already happened
  ::fsync(fd);
  ::close(fd);
}

[[noreturn]] void io_failure(const char* what, const std::string& path, int err) {
  fail(ErrorCode::io_error, "cannot {} '{}': {}; check that --data-dir is writable and has free space", what,
       path, std::strerror(err));
}

}  // namespace

void write_file_atomically(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) io_failure("create", temp, errno);
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      io_failure("write", temp, err);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    io_failure("sync", temp, err);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    io_failure("rename into place", path, err);
  }
  sync_folder(fs::path(path).parent_path().string());
}

JobFiles::JobFiles(std::string data_dir) : root_((fs::path(data_dir) / "jobs").string()) {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) fail(ErrorCode::io_error, "cannot create '{}': {}; pass a writable --data-dir", root_, ec.message());
}

std::string JobFiles::folder(const std::string& id) const { return (fs::path(root_) / id).string(); }
std::string JobFiles::image_path(const std::string& id) const { return folder(id) + "/image"; }
std::string JobFiles::audio_path(const std::string& id) const { return folder(id) + "/audio"; }
std::string JobFiles::video_path(const std::string& id) const { return folder(id) + "/video.mp4"; }

void JobFiles::write_inputs(const std::string& id, const std::vector<std::uint8_t>& image,
                            const std::vector<std::uint8_t>& audio) const {
  std::error_code ec;
  fs::create_directories(folder(id), ec);
  if (ec) fail(ErrorCode::io_error, "cannot create '{}': {}", folder(id), ec.message());
  write_file_atomically(image_path(id), image);
  if (!audio.empty()) write_file_atomically(audio_path(id), audio);
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
