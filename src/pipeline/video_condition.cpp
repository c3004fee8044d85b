#include "pipeline/video_condition.hpp"

#include <algorithm>

#include "pipeline/conditioning.hpp"
#include "pipeline/job_inputs.hpp"
#include "talkgen/error.hpp"

namespace talkgen::pipeline {

int64_t condition_frame_index(int64_t chunk_start, int64_t video_frames) {
  if (chunk_start < 0 || video_frames < 1)
    fail(ErrorCode::internal, "condition frame for chunk start {} of a {}-frame video", chunk_start, video_frames);
  // extract_specific_frames: `vr[frame_id] if frame_id < vr._num_frame else vr[-1]`.
  return chunk_start < video_frames ? chunk_start : video_frames - 1;
}

ConditionFrameNeeds condition_frame_needs(const ChunkSettings& s, int64_t audio_frames) {
  validate_chunk_settings(s);
  if (audio_frames < 1) fail(ErrorCode::internal, "condition frames for {} audio frames", audio_frames);
  ConditionFrameNeeds needs;
  needs.stride = s.frame_num - s.motion_frames;
  // The reference samples one chunk in clip mode, when max_frames <= frame_num or when the audio fits one
  // chunk; otherwise every chunk start is below max_frames and the audio's end (a chunk is only added
  // while the previous one ends before both).
  const bool one_chunk =
      !s.streaming || (s.max_frames != 0 && s.max_frames <= s.frame_num) || audio_frames <= s.frame_num;
  needs.limit = one_chunk ? 1 : s.max_frames == 0 ? audio_frames : std::min<int64_t>(s.max_frames, audio_frames);
  return needs;
}

VideoCondition::VideoCondition(const VideoFrames& video, Size size)
    : size_(size), frames_read_(video.frames_read), complete_(video.reached_end), indices_(video.indices) {
  if (video.indices.size() != video.images.size() || video.indices.empty())
    fail(ErrorCode::internal, "video condition: {} frame indices for {} images", video.indices.size(),
         video.images.size());
  frames_.reserve(video.images.size());
  for (const Image& frame : video.images) frames_.push_back(resize_and_center_crop(frame, size));
}

const Image& VideoCondition::frame_for_chunk(int64_t chunk_start) const {
  // Past the frames read of an unfinished read, the video is longer: the frame exists but was not needed.
  const int64_t index = complete_ ? condition_frame_index(chunk_start, frames_read_) : chunk_start;
  const auto it = std::lower_bound(indices_.begin(), indices_.end(), index);
  if (it == indices_.end() || *it != index)
    fail(ErrorCode::internal, "video frame {} (for the chunk starting at audio frame {}) was not kept; kept {} of {} "
         "frames read", index, chunk_start, indices_.size(), frames_read_);
  return frames_[static_cast<size_t>(it - indices_.begin())];
}

VideoCondition load_video_condition(const std::string& path, const ChunkSettings& settings, int64_t audio_frames,
                                    Resolution resolution, int bucket_divisor) {
  const ConditionFrameNeeds needs = condition_frame_needs(settings, audio_frames);
  VideoFrames video = decode_video_frames(path, [&](int64_t i) { return needs.needed(i); }, needs.limit);
  if (video.width < kMinImageSide || video.height < kMinImageSide)
    fail(ErrorCode::invalid_argument,
         "the video '{}' is {}x{} pixels; at least {}x{} is needed (the face must be visible). Give a larger video",
         path, video.width, video.height, kMinImageSide, kMinImageSide);
  // The reference picks the bucket from frame 0 and crops every later frame to it.
  const Size size = scaled_bucket(video.width, video.height, resolution, bucket_divisor);
  return VideoCondition(video, size);
}

ImageConditions encode_image_conditions(const PipelineModels& m, const Image& frame, int64_t frame_num,
                                        at::Device device, at::ScalarType dtype) {
  // The same steps as the portrait's conditions in Pipeline::run.
  const at::Tensor cond_image = image_to_condition(frame);  // [1, 3, 1, H, W], CPU
  ImageConditions c;
  c.clip_tokens = m.clip->encode(cond_image.select(2, 0)).to(device, dtype);
  const at::Tensor latent = m.vae->encode(padded_condition_video(cond_image, frame_num));
  c.y = make_y(first_frame_mask(frame_num, latent.size(3), latent.size(4), latent.options()), latent).to(device, dtype);
  return c;
}

}  // namespace talkgen::pipeline
