// Dubbing: a video instead of a portrait. Each chunk is conditioned on the video's frame at the chunk's
// start, as the reference's generate_infinitetalk does with `cond_video` (wan/multitalk.py, at commit
// HEAD of MeiGen-AI/InfiniteTalk). What the reference does, and so what this does:
//
// - Frames: decord VideoReader(path)[i]: the i-th decoded picture at the file's own frame rate. There is
//   no conversion to 25 fps: a 30 fps video is read frame by frame as if it were 25 fps (so its picture
//   drifts ahead of the speech). A file without a video extension is opened as an image (one frame).
// - Size: the bucket is chosen from frame 0 (its aspect ratio), exactly as for a portrait; every
//   condition frame is resized and centre-cropped to it (PIL bilinear + center_crop, as the portrait).
// - Chunk k (audio frames [s_k, s_k + F), s_k = k * (F - M)) is conditioned on video frame s_k
//   (extract_specific_frames(cond_video, audio_start_idx)); when the video has fewer frames, on its LAST
//   frame (`vr[-1]`): a video shorter than the speech holds its last picture.
// - Per chunk, that frame replaces the portrait in the CLIP features (clip_fea) and in the y latent (VAE
//   of the frame followed by black frames, with the first-frame mask).
// - Unchanged per chunk: the motion frames (the first chunk's is frame 0 encoded, later ones the last M
//   frames generated, as for a portrait), the colour-correction reference (frame 0 for the whole job),
//   the noise, the audio windows.
// - Audio: the speech is always the job's audio (`cond_audio`); the video's own sound track is NOT used
//   (not for the lips, not for the MP4). A video can still be the speech source: giving it as the audio
//   path decodes its audio track, as the reference's audio_prepare_single does for .mp4/.mov/.avi/.mkv.
// - The reference converts AV1 input to H.264 first (for decord); FFmpeg here decodes AV1
//   directly, so there is nothing to convert. Its optional --scene_seg (split at shot cuts and run each
//   shot as its own job) is off by default and not supported here.
// Deliberate difference: the stream's display rotation (phone videos) is applied (decord ignores it), as
// image decoding applies EXIF orientation; the model needs the face upright.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "pipeline/chunk_plan.hpp"
#include "pipeline/pipeline.hpp"
#include "talkgen/media.hpp"

namespace talkgen::pipeline {

/// The video frame that conditions a chunk whose audio starts at `chunk_start`, for a video of
/// `video_frames` frames: chunk_start itself, or the last frame when the video is shorter.
int64_t condition_frame_index(int64_t chunk_start, int64_t video_frames);

/// The video frames a job with these chunk settings and `audio_frames` of speech can need: every chunk
/// starts at a multiple of frame_num - motion_frames, and before `limit`: the audio's length, and
/// max_frames when streaming past one chunk (plan_chunks adds a chunk only while the previous one ends
/// before both), 1 for a single chunk.
struct ConditionFrameNeeds {
  int64_t stride = 1;
  int64_t limit = 0;
  bool needed(int64_t index) const { return index % stride == 0 && (limit <= 0 || index < limit); }
};
ConditionFrameNeeds condition_frame_needs(const ChunkSettings& settings, int64_t audio_frames);

/// The condition frames of a dubbing job, resized and centre-cropped to the job's frame size.
class VideoCondition {
 public:
  /// Keeps the frames `video` holds, resized to `size`. `video.indices` must include every needed frame
  /// below video.frames_read and, when the stream ended, its last frame.
  VideoCondition(const VideoFrames& video, Size size);

  Size size() const { return size_; }
  /// Frames decoded; when the whole video was read, its length.
  int64_t frames_read() const { return frames_read_; }
  bool complete() const { return complete_; }
  /// The condition frame of the chunk whose audio starts at `chunk_start` (condition_frame_index).
  /// Throws Error(internal) when that frame was not kept (a chunk start outside ConditionFrameNeeds).
  const Image& frame_for_chunk(int64_t chunk_start) const;

 private:
  Size size_;
  int64_t frames_read_ = 0;
  bool complete_ = false;
  std::vector<int64_t> indices_;
  std::vector<Image> frames_;
};

/// Decodes `path` up to the last frame a job with `settings` and `audio_frames` of speech can need, and
/// keeps those frames (one per chunk; full-size until resized here). The frame size is the bucket of frame 0
/// (scaled_bucket with `resolution` and `bucket_divisor`). A plan over a longer audio embedding than
/// `audio_frames` would ask for frames not kept (Error(internal)). Throws Error(invalid_argument) for
/// frames under kMinImageSide, and decode_video_frames' errors (not_found, unsupported for a file without
/// a video stream, invalid_argument for a corrupt one).
VideoCondition load_video_condition(const std::string& path, const ChunkSettings& settings, int64_t audio_frames,
                                    Resolution resolution, int bucket_divisor);

/// The image-side conditions one frame gives a chunk: its CLIP tokens [1, 257, clip_dim] and y =
/// [first-frame mask, VAE latent of the frame then frame_num - 1 black frames], both on `device` in `dtype`.
struct ImageConditions {
  at::Tensor clip_tokens;
  at::Tensor y;
};
ImageConditions encode_image_conditions(const PipelineModels& models, const Image& frame, int64_t frame_num,
                                        at::Device device, at::ScalarType dtype);

}  // namespace talkgen::pipeline
