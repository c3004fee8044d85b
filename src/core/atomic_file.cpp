#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "talkgen/error.hpp"

namespace talkgen {
namespace {

[[noreturn]] void io_failure(const char* what, const std::string& path, int err) {
  fail(ErrorCode::io_error, "cannot {} '{}': {}; check that the folder exists, is writable and has free space",
       what, path, std::strerror(err));
}

}  // namespace

void sync_folder(const std::string& folder) {
  const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: the rename itself already happened
  ::fsync(fd);
  ::close(fd);
}

void write_file_atomically(const std::string& path, std::string_view content, unsigned mode) {
  static std::atomic<unsigned> counter{0};
  const std::string temp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), counter++);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) io_failure("create", temp, errno);
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      io_failure("write", temp, err);
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    io_failure("sync", temp, err);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    io_failure("close", temp, err);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    io_failure("rename into place", path, err);
  }
  sync_folder(std::filesystem::path(path).parent_path().string());
}

void write_file_atomically(const std::string& path, const std::vector<std::uint8_t>& bytes, unsigned mode) {
  write_file_atomically(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), mode);
}

}  // namespace talkgen
