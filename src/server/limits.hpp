// What one request may carry: sizes and durations, each with the `talkgen serve` flag that sets it
// (errors name the flag so an operator knows what to raise).
#pragma once

#include <cstddef>
#include <cstdint>

namespace talkgen::server {

struct Limits {
  std::size_t max_body_bytes = std::size_t{64} << 20;  ///< --max-body-mb: whole request body (413 beyond)
  /// --max-body-memory-mb: the bodies being read, all connections together (503 + Retry-After beyond);
  /// 0: 4 x max_body_bytes (body_memory_bytes()).
  std::size_t max_body_memory_bytes = 0;
  double max_audio_seconds = 300;                      ///< --max-audio-seconds: decoded speech length
  std::int64_t max_image_pixels = 4096LL * 4096;       ///< --max-image-pixels: decoded width x height
  std::size_t max_text_chars = 5000;                   ///< --max-text-chars: script_text (bytes of UTF-8)
  std::size_t max_prompt_chars = 2000;                 ///< prompt (bytes of UTF-8)
  int max_queued_jobs = 1000;                          ///< --max-queued-jobs: unfinished jobs (429 beyond)

  /// The body memory budget in effect: room for a few of the largest bodies at once.
  std::size_t body_memory_bytes() const { return max_body_memory_bytes ? max_body_memory_bytes : 4 * max_body_bytes; }
};

}  // namespace talkgen::server
