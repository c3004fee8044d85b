// A job's media, decoded and checked before any model runs: the portrait at its bucket size, the
// speech for wav2vec2 (16 kHz, loudness-normalised as the reference's audio_prepare_single) and the
// speech for the MP4 (the original at 48 kHz, untouched). For dubbing, the video's condition frames
// (video_condition.hpp); its frame 0 is the portrait.
#pragma once

#include <cstdint>
#include <memory>

#include "talkgen/generate.hpp"
#include "talkgen/media.hpp"

namespace talkgen::pipeline {

class VideoCondition;

/// Smallest portrait side accepted, in pixels.
constexpr int kMinImageSide = 64;
/// Peak below which speech counts as silence (-80 dBFS).
constexpr float kSilencePeak = 1e-4f;

struct JobInputs {
  Image portrait;     ///< resized and centre-cropped to `size` (a dubbed video's frame 0)
  /// Dubbing: the video's frame for each chunk (its frame 0 is `portrait`); null for an image job.
  std::shared_ptr<const VideoCondition> video;
  Size size;          ///< output frame size
  Audio speech;       ///< 16 kHz mono, loudness-normalised to -23 LUFS (wav2vec2's input)
  Audio track;        ///< the MP4's sound: the original speech at 48 kHz (16 kHz for speech_text)
  int64_t audio_frames = 0;  ///< video frames the speech covers: int(seconds * 25)
  /// Two speakers: speaker 2's speech as `speech`; both laid out in time (arrange_speakers) so they are
  /// equally long, and `track` is their mix. Empty for one speaker.
  Audio speech2;
  Size source_size;   ///< the image as given, before the bucket (speaker boxes are in its pixels)

  bool two_speakers() const { return !speech2.samples.empty(); }
};

/// Throws Error(invalid_argument) naming `speaker` ("speaker 1") unless `box` keeps at least one whole pixel
/// inside an image of `image` pixels (the rule the two-speaker masks need; the server checks it early too).
void check_speaker_box(const char* speaker, const PixelBox& box, Size image);

/// The reference's audio_prepare_multi on already normalised tracks of one sample rate: `together` pads the
/// shorter with silence at its end (the reference requires equal lengths there), `one_after_another` makes
/// speaker 1's speech followed by silence as long as speaker 2's, and silence as long as speaker 1's followed
/// by speaker 2's speech. Throws Error(internal) for different sample rates.
void arrange_speakers(Audio& speaker1, Audio& speaker2, SpeakerTiming timing);

/// The sum of two equally long tracks of one sample rate, clipped to [-1, 1] (the MP4's sound for two
/// speakers; the reference writes the unclipped sum).
Audio mix_tracks(const Audio& a, const Audio& b);

/// The reference's bucket for an image, divided by `divisor` (the demo and test models run at a
/// fraction of the size): round(side / divisor) to a multiple of 16, at least 16. divisor 1 is the bucket.
Size scaled_bucket(int width, int height, Resolution resolution, int divisor);

/// Decodes and validates the job's image (or video to dub) and speech. Throws Error(invalid_argument) for a
/// missing or doubled input, an image or video under kMinImageSide, speech shorter than one frame or silent;
/// decoding errors as talkgen::decode_image / decode_video_frames / decode_audio (a video without a video
/// stream: unsupported). The video's own sound is not used: the speech is always the job's audio.
JobInputs load_job_inputs(const GenerateOptions& options, int bucket_divisor = 1);

}  // namespace talkgen::pipeline
