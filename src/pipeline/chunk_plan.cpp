#include "pipeline/chunk_plan.hpp"

#include <algorithm>
#include <limits>

#include "talkgen/error.hpp"

namespace talkgen::pipeline {

int64_t ChunkPlan::generated_frames() const {
  int64_t n = 0;
  for (const auto& c : chunks) n += (c.audio_end - c.audio_start) - c.keep_from;
  return n;
}

void validate_chunk_settings(const ChunkSettings& s) {
  if (s.frame_num < 5 || (s.frame_num - 1) % 4 != 0)
    fail(ErrorCode::invalid_argument, "frames per chunk must be 4k + 1 and at least 5 (81 by default), got {}",
         s.frame_num);
  if (s.motion_frames < 1 || (s.motion_frames - 1) % 4 != 0 || s.motion_frames >= s.frame_num)
    fail(ErrorCode::invalid_argument,
         "motion frames must be 4k + 1 and fewer than the {} frames per chunk (9 by default), got {}", s.frame_num,
         s.motion_frames);
  if (s.max_frames < 0)
    fail(ErrorCode::invalid_argument, "max frames must be 0 (unlimited) or positive, got {}", s.max_frames);
}

ChunkPlan plan_chunks(int64_t audio_frames, const ChunkSettings& s) {
  validate_chunk_settings(s);
  if (audio_frames < 1)
    fail(ErrorCode::invalid_argument, "the speech is shorter than one video frame (40 ms); give longer audio");
  ChunkPlan plan;
  plan.audio_frames = audio_frames;
  const int64_t frame_num = s.frame_num;
  // The reference's max_frames_num: frame_num in clip mode, the cap (unbounded when 0) when streaming.
  const int64_t max_frames = !s.streaming ? frame_num
                             : s.max_frames == 0 ? std::numeric_limits<int64_t>::max() / 4
                                                 : s.max_frames;

  ChunkSpec chunk;
  chunk.audio_start = 0;
  chunk.audio_end = frame_num;
  chunk.motion_frames = 1;
  chunk.keep_from = 0;
  plan.chunks.push_back(chunk);

  if (audio_frames <= frame_num) {
    // Shorter than one chunk (the reference asserts the embedding is longer than frame_num): one chunk.
    plan.output_frames = std::min({frame_num, max_frames, audio_frames});
    return plan;
  }

  bool extended = false;
  // After each chunk: stop if it was the last, else advance; the reference checks for the end of the
  // audio when it advances, so the chunk that reaches the end is still sampled.
  while (max_frames > frame_num) {
    ChunkSpec next;
    next.index = chunk.index + 1;
    next.motion_frames = s.motion_frames;
    next.keep_from = s.motion_frames;
    next.audio_start = chunk.audio_start + (frame_num - next.motion_frames);
    next.audio_end = next.audio_start + frame_num;
    const bool last = next.audio_end >= std::min(max_frames, audio_frames);
    if (last && next.audio_end >= audio_frames) {
      plan.padding_frames = next.audio_end - audio_frames + 3;
      extended = true;
    }
    plan.chunks.push_back(next);
    chunk = next;
    if (last) break;
  }
  plan.output_frames = std::min(plan.generated_frames(), max_frames);
  if (s.streaming && max_frames > frame_num && extended) plan.output_frames = std::min(plan.output_frames, audio_frames);
  return plan;
}

}  // namespace talkgen::pipeline
