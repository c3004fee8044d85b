// A .safetensors file written one slice at a time: the header (name, dtype F32, full shape) goes first,
// then the data in order, so a long video's frames are dumped without holding them all in memory.
// The file is written under a temporary name and renamed by finish(); a writer destroyed earlier
// (an error, a cancelled job) removes it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace talkgen::pipeline {

class FrameDumpWriter {
 public:
  /// One float32 tensor `name` of `shape`. Throws Error(io_error) when the file cannot be created.
  FrameDumpWriter(std::string path, std::string name, std::vector<int64_t> shape,
                  std::map<std::string, std::string> metadata = {});
  FrameDumpWriter(const FrameDumpWriter&) = delete;
  FrameDumpWriter& operator=(const FrameDumpWriter&) = delete;
  ~FrameDumpWriter();

  /// Appends the next elements (any shape; converted to contiguous float32 on the CPU). Writing past
  /// the declared size is an Error(internal).
  void append(const at::Tensor& values);
  /// Checks every element was written, closes and renames onto the path.
  void finish();

 private:
  std::string path_, temp_path_;
  std::FILE* file_ = nullptr;
  uint64_t expected_bytes_ = 0, written_bytes_ = 0;
};

}  // namespace talkgen::pipeline
