// Where the Encoder's MP4 muxer writes: a temporary file renamed onto the target path when complete,
// or a growable buffer in memory. Either way nothing half-written is ever visible: an output that is
// destroyed (or discarded) before commit() removes its temporary file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "media/ffmpeg_util.hpp"

namespace talkgen::media {

class EncoderOutput {
 public:
  virtual ~EncoderOutput() = default;

  /// Points a freshly allocated MP4 muxer at this output: its AVIOContext, its URL and (for memory)
  /// the io_open / io_close2 hooks that faststart uses to re-read what was written. The output keeps
  /// owning the AVIOContext: set mux->pb to nullptr before freeing the muxer.
  virtual void attach(AVFormatContext* mux) = 0;
  /// After av_write_trailer(): flushes and publishes (file: close + rename onto the target path).
  virtual void commit() = 0;
  /// Drops everything written so far; never throws. Called by the destructor when not committed.
  virtual void discard() noexcept = 0;
  /// Memory outputs after commit(): the bytes (moved out). Files: invalid_argument.
  virtual std::vector<std::uint8_t> take_bytes() = 0;
  /// How messages name this output: "'out/video.mp4'" or "the in-memory MP4".
  virtual const std::string& name() const = 0;
};

/// Reserves a temporary file next to `path` at once (io_error naming `path` when the folder is missing
/// or not writable, or when `path` is a folder) and opens it for writing.
std::unique_ptr<EncoderOutput> make_file_output(const std::string& path);
std::unique_ptr<EncoderOutput> make_memory_output();

}  // namespace talkgen::media
