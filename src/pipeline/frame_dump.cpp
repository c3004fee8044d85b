#include "pipeline/frame_dump.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "talkgen/error.hpp"

namespace talkgen::pipeline {

FrameDumpWriter::FrameDumpWriter(std::string path, std::string name, std::vector<int64_t> shape,
                                 std::map<std::string, std::string> metadata)
    : path_(std::move(path)) {
  uint64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0) fail(ErrorCode::internal, "negative dimension in frame dump shape");
    numel *= static_cast<uint64_t>(d);
  }
  expected_bytes_ = numel * sizeof(float);
  nlohmann::ordered_json json;
  json[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {0, expected_bytes_}}};
  if (!metadata.empty()) json["__metadata__"] = metadata;
  // Metadata such as a model's name is not guaranteed UTF-8; a debug dump should not fail over it.
  std::string header = json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  while (header.size() % 8 != 0) header += ' ';  // keep the data section 8-byte aligned

  const std::filesystem::path target(path_);
  std::random_device rd;
  temp_path_ = (target.parent_path() / fmt::format(".{}.{:08x}.tmp", target.filename().string(), rd())).string();
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (!file_)
    fail(ErrorCode::io_error, "cannot create the frame dump '{}': {}; check the folder exists and is writable", path_,
         std::strerror(errno));
  unsigned char length[8];
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(n >> (8 * i));
  if (std::fwrite(length, 1, 8, file_) != 8 || std::fwrite(header.data(), 1, header.size(), file_) != header.size())
    fail(ErrorCode::io_error, "writing the frame dump '{}' failed: {}", path_, std::strerror(errno));
}

FrameDumpWriter::~FrameDumpWriter() {
  if (file_) {
    std::fclose(file_);
    std::error_code ec;
    std::filesystem::remove(temp_path_, ec);
  }
}

void FrameDumpWriter::append(const at::Tensor& values) {
  at::Tensor v = values.to(at::kCPU, at::kFloat).contiguous();
  const uint64_t bytes = static_cast<uint64_t>(v.numel()) * sizeof(float);
  if (!file_) fail(ErrorCode::internal, "frame dump '{}' is already finished", path_);
  if (written_bytes_ + bytes > expected_bytes_)
    fail(ErrorCode::internal, "frame dump '{}': {} bytes appended, only {} declared", path_, written_bytes_ + bytes,
         expected_bytes_);
  if (std::fwrite(v.data_ptr<float>(), 1, bytes, file_) != bytes)
    fail(ErrorCode::io_error, "writing the frame dump '{}' failed: {} (disk full?)", path_, std::strerror(errno));
  written_bytes_ += bytes;
}

void FrameDumpWriter::finish() {
  if (!file_) fail(ErrorCode::internal, "frame dump '{}' is already finished", path_);
  if (written_bytes_ != expected_bytes_)
    fail(ErrorCode::internal, "frame dump '{}': {} of {} bytes written", path_, written_bytes_, expected_bytes_);
  const bool ok = std::fclose(file_) == 0;
  file_ = nullptr;
  std::error_code ec;
  if (!ok) {
    std::filesystem::remove(temp_path_, ec);
    fail(ErrorCode::io_error, "closing the frame dump '{}' failed: {}", path_, std::strerror(errno));
  }
  std::filesystem::rename(temp_path_, path_, ec);
  if (ec) {
    const std::string why = ec.message();
    std::filesystem::remove(temp_path_, ec);
    fail(ErrorCode::io_error, "cannot move the frame dump into place at '{}': {}", path_, why);
  }
}

}  // namespace talkgen::pipeline
