#include "media/wav_header.hpp"

#include <array>
#include <cstring>
#include <string>

#include "talkgen/error.hpp"

namespace talkgen::media {
namespace {

constexpr int kMaxChunks = 256;
// Writers that cannot seek back leave the data size as one of these: the data runs to the end of the file.
constexpr std::uint32_t kStreamedSize = 0xFFFFFFFFu;
constexpr std::uint32_t kUnsetSize = 0;

std::uint32_t le32(const std::uint8_t* p) {
  return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}

std::uint64_t le64(const std::uint8_t* p) { return std::uint64_t(le32(p)) | std::uint64_t(le32(p + 4)) << 32; }

bool is_tag(const std::uint8_t* p, const char* tag) { return std::memcmp(p, tag, 4) == 0; }

}  // namespace

std::optional<WavDataChunk> find_wav_data_chunk(const ffmpeg::Input& input) {
  std::array<std::uint8_t, 12> riff{};
  if (input.read_at(0, riff.data(), riff.size()) != riff.size()) return std::nullopt;
  const bool rf64 = is_tag(riff.data(), "RF64") || is_tag(riff.data(), "BW64");
  if (!(is_tag(riff.data(), "RIFF") || rf64) || !is_tag(riff.data() + 8, "WAVE")) return std::nullopt;

  WavDataChunk result;
  std::optional<std::uint64_t> ds64_data_size;  // RF64: the real size of a data chunk whose own says 0xFFFFFFFF
  std::uint64_t pos = 12;
  for (int i = 0; i < kMaxChunks; ++i) {
    std::array<std::uint8_t, 24> head{};  // chunk id, size, and the start of its body (fmt, ds64)
    const std::size_t got = input.read_at(pos, head.data(), head.size());
    if (got < 8) return std::nullopt;
    const std::uint32_t size = le32(head.data() + 4);
    if (is_tag(head.data(), "data")) {
      result.offset = pos + 8;
      if (rf64 && size == kStreamedSize && ds64_data_size)
        result.declared = *ds64_data_size;
      else if (size != kStreamedSize && size != kUnsetSize)  // FFmpeg reads both as "to the end"
        result.declared = size;
      return result;
    }
    if (is_tag(head.data(), "fmt ") && got >= 20) result.byte_rate = le32(head.data() + 16);
    if (is_tag(head.data(), "ds64") && got >= 24) ds64_data_size = le64(head.data() + 16);
    pos += 8 + std::uint64_t(size) + (size & 1);  // chunks are padded to an even length
  }
  return std::nullopt;
}

void check_wav_complete(const ffmpeg::Input& input) {
  const std::optional<WavDataChunk> data = find_wav_data_chunk(input);
  if (!data || !data->declared) return;
  const std::uint64_t end = data->offset + *data->declared;
  if (end <= input.size_bytes()) return;
  const std::uint64_t held = input.size_bytes() > data->offset ? input.size_bytes() - data->offset : 0;
  auto seconds = [&](std::uint64_t bytes) {
    return data->byte_rate > 0 ? fmt::format(" ({:.3f} s)", double(bytes) / data->byte_rate) : std::string();
  };
  fail(ErrorCode::invalid_argument,
       "{} is truncated: its WAV header states {} bytes of audio{} but the file holds only {}{}; the file was cut "
       "short (an interrupted download or copy?): send the whole file",
       input.name(), *data->declared, seconds(*data->declared), held, seconds(held));
}

}  // namespace talkgen::media
