// The Encoder's file output: a temporary file in the target's folder, renamed onto the target by
// commit(). rename() within one folder (one filesystem) is atomic, so a reader sees either no file or
// the complete MP4, and a crash leaves at most a hidden ".<name>.<random>.tmp" beside it.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/atomic_file.hpp"
#include "media/encoder_output.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::media {
namespace {

namespace fs = std::filesystem;

class FileOutput final : public EncoderOutput {
 public:
  explicit FileOutput(const std::string& path) : path_(path), name_(fmt::format("'{}'", path)) {
    std::error_code ec;
    if (path.empty()) fail(ErrorCode::io_error, "the output path is empty: give a file name such as 'out.mp4'");
    if (fs::is_directory(fs::path(path), ec)) {
      fail(ErrorCode::io_error, "cannot write the MP4 to '{}': it is a folder. Give a file path such as '{}'", path,
           (fs::path(path) / "out.mp4").string());
    }
    reserve_temp_file();
    // "file:" keeps FFmpeg from reading a colon in the path as a protocol name ("a:b.mp4").
    url_ = "file:" + temp_path_;
    int ret = avio_open(&pb_, url_.c_str(), AVIO_FLAG_WRITE);
    if (ret < 0) {
      remove_temp();
      fail(ErrorCode::io_error, "cannot write the MP4 to '{}': opening the temporary file '{}' failed: {}", path_,
           temp_path_, ffmpeg::av_error_string(ret));
    }
  }

  ~FileOutput() override {
    if (!committed_) discard();
  }

  void attach(AVFormatContext* mux) override {
    // movenc's faststart pass re-opens mux->url for reading, so it must name the temporary file.
    av_freep(&mux->url);
    mux->url = av_strdup(url_.c_str());
    if (mux->url == nullptr) fail(ErrorCode::out_of_memory, "could not copy the output URL");
    mux->pb = pb_;
    mux->flags |= AVFMT_FLAG_CUSTOM_IO;
  }

  void commit() override {
    avio_flush(pb_);
    int write_error = pb_->error;
    int ret = avio_closep(&pb_);
    if (write_error < 0 || ret < 0) {
      fail(ErrorCode::io_error, "writing the MP4 '{}' failed: {}. Check the free space and permissions of its folder",
           path_, ffmpeg::av_error_string(write_error < 0 ? write_error : ret));
    }
    // The bytes reach the disk before the name does: after a crash the output is either absent or whole.
    if (const int fd = ::open(temp_path_.c_str(), O_RDONLY | O_CLOEXEC); fd < 0 || ::fsync(fd) != 0) {
      const int err = errno;
      if (fd >= 0) ::close(fd);
      fail(ErrorCode::io_error, "writing the MP4 '{}' failed: syncing '{}' to disk: {}. Check the free space of its "
           "folder", path_, temp_path_, std::strerror(err));
    } else {
      ::close(fd);
    }
    if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
      int err = errno;
      fail(ErrorCode::io_error, "cannot publish the MP4 '{}': renaming '{}' onto it failed: {}", path_, temp_path_,
           std::strerror(err));
    }
    committed_ = true;
    sync_folder(fs::path(path_).parent_path().empty() ? std::string(".") : fs::path(path_).parent_path().string());
  }

  void discard() noexcept override {
    if (pb_ != nullptr) avio_closep(&pb_);
    remove_temp();
  }

  std::vector<std::uint8_t> take_bytes() override {
    fail(ErrorCode::invalid_argument,
         "take_buffer() is for encoders made with Encoder::to_memory(); this one wrote the file '{}'", path_);
  }

  const std::string& name() const override { return name_; }

 private:
  // Creates the temporary name with O_EXCL so that two encoders writing the same target never share
  // a temporary file, and so that an unwritable folder fails here, before any encoding work.
  void reserve_temp_file() {
    fs::path target(path_);
    fs::path folder = target.parent_path();
    std::string base = target.filename().string();
    std::random_device entropy;
    for (int attempt = 0; attempt < 16; ++attempt) {
      std::string candidate =
          (folder / fmt::format(".{}.{:08x}.tmp", base, static_cast<unsigned>(entropy()))).string();
      int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd >= 0) {
        ::close(fd);
        temp_path_ = candidate;
        return;
      }
      if (errno == EEXIST) continue;
      int err = errno;
      fail(ErrorCode::io_error,
           "cannot write the MP4 to '{}': creating a file in the folder '{}' failed: {}. Check that the folder "
           "exists and is writable, or choose another output path",
           path_, folder.empty() ? std::string(".") : folder.string(), std::strerror(err));
    }
    fail(ErrorCode::io_error, "cannot write the MP4 to '{}': could not find a free temporary name beside it", path_);
  }

  void remove_temp() noexcept {
    if (temp_path_.empty()) return;
    if (::unlink(temp_path_.c_str()) != 0 && errno != ENOENT) {
      int err = errno;
      try {
        log_warn("could not remove the temporary file '{}': {}", temp_path_, std::strerror(err));
      } catch (...) {  // discard() must not throw; a lost warning is the lesser harm
      }
    }
    temp_path_.clear();
  }

  std::string path_;
  std::string name_;
  std::string temp_path_;
  std::string url_;
  AVIOContext* pb_ = nullptr;
  bool committed_ = false;
};

}  // namespace

std::unique_ptr<EncoderOutput> make_file_output(const std::string& path) { return std::make_unique<FileOutput>(path); }

}  // namespace talkgen::media
