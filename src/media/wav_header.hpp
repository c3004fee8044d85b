// A WAV file's RIFF header, read for the one thing FFmpeg does not check: whether the data chunk is as long
// as the header says. FFmpeg's wav demuxer clips the length to the file and decodes whatever is there, so a
// WAV cut after its first 100 bytes would decode "successfully" to 2 ms of sound.
#pragma once

#include <cstdint>
#include <optional>

#include "media/ffmpeg_input.hpp"

namespace talkgen::media {

/// Where a WAV's samples are and how many bytes of them its header promises.
struct WavDataChunk {
  std::uint64_t offset = 0;                ///< first byte of the samples
  std::optional<std::uint64_t> declared;   ///< bytes stated; nullopt: "up to the end" (a streamed WAV: 0 or 0xFFFFFFFF)
  std::uint32_t byte_rate = 0;             ///< the fmt chunk's bytes per second (0 when none precedes the data)
};

/// The data chunk of a RIFF/WAVE (or RF64/BW64) input; nullopt when the input is no such file or its chunk list
/// does not reach a data chunk (FFmpeg has then refused it already). Reads only chunk headers, at most 256 of them.
std::optional<WavDataChunk> find_wav_data_chunk(const ffmpeg::Input& input);

/// invalid_argument when `input` (opened by FFmpeg's wav demuxer) ends before the end of the data its header
/// states. A streamed WAV, whose header states no length, is never truncated.
void check_wav_complete(const ffmpeg::Input& input);

}  // namespace talkgen::media
