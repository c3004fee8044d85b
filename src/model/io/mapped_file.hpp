// A read-only memory mapping of a whole file, with a way to drop pages that were already read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace talkgen::model::io {

class MappedFile {
 public:
  /// Maps `path` read-only. Throws Error(not_found) when it does not exist, Error(io_error) otherwise.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  /// Tells the kernel the pages of [offset, offset + length) are no longer needed, so they leave this
  /// process's resident set (they stay in the page cache and fault back in if touched again). Loading
  /// a checkpoint tensor by tensor this way keeps RSS near one tensor instead of the whole file.
  void release(size_t offset, size_t length) const;

 private:
  std::string path_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace talkgen::model::io
