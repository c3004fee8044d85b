// Which chunks a job samples, which audio frames each one hears, and how many frames the video keeps:
// the control flow of the reference's generate_infinitetalk loop, computed up front.
//
// Streaming (the reference's --mode streaming): chunk k covers audio frames [start_k, start_k + F) with
// start_0 = 0 and start_{k+1} = start_k + F - M (F = frame_num, M = motion frames). Once a chunk's end
// reaches min(max_frames, audio frames), it is the last; if it runs past the audio, the embedding is
// extended by its last (end - audio + 3) frames in reverse order (padding_frames below). Each chunk after
// the first repeats its first M frames from the previous chunk, so it adds F - M new frames. The video is
// cut to max_frames, and to the audio's length when the embedding was extended.
// Clip (--mode clip): one chunk; F frames.
// Audio shorter than one chunk (which the reference refuses): one chunk, cut to the audio's length.
#pragma once

#include <cstdint>
#include <vector>

namespace talkgen::pipeline {

struct ChunkSettings {
  int frame_num = 81;       // frames per chunk, 4k + 1
  int motion_frames = 9;    // frames carried into the next chunk, 4k + 1, < frame_num
  bool streaming = true;
  int64_t max_frames = 1000;  // streaming cap; 0 = unlimited
};

struct ChunkSpec {
  int index = 0;
  int64_t audio_start = 0;  // audio frames [audio_start, audio_end) drive this chunk
  int64_t audio_end = 0;
  int motion_frames = 1;    // frames given as condition: 1 (the portrait) for the first chunk, then M
  int keep_from = 0;        // the chunk's frames [keep_from, frame_num) are new video
};

struct ChunkPlan {
  std::vector<ChunkSpec> chunks;
  int64_t audio_frames = 0;    // frames of the audio embedding as given
  int64_t padding_frames = 0;  // reversed frames appended to the embedding before the last chunk
  int64_t output_frames = 0;   // frames of the final video
  /// Chunks' new frames, before the final cut.
  int64_t generated_frames() const;
};

/// Throws Error(invalid_argument) for settings that cannot work (frame counts not 4k + 1, motion
/// frames >= frame_num, negative max_frames) or audio_frames < 1.
ChunkPlan plan_chunks(int64_t audio_frames, const ChunkSettings& settings);

/// Checks frame_num / motion_frames / max_frames (the same errors as plan_chunks).
void validate_chunk_settings(const ChunkSettings& settings);

}  // namespace talkgen::pipeline
