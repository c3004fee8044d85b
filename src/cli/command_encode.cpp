// `talkgen encode`: a still video of the image for the length of the speech (audio file or text).
// It exercises the whole media path — decode, TTS, Encoder — without any model.
#include <fmt/format.h>

#include "cli/command.hpp"
#include "talkgen/encoder.hpp"
#include "talkgen/error.hpp"
#include "talkgen/media.hpp"
#include "talkgen/still_video.hpp"

namespace talkgen::cli {
namespace {

struct EncodeArgs {
  std::string image, audio, text, voice = "en", output, codec = "libx264", preset = "medium";
  int crf = 17;
  double fps = 25.0;
};

VideoCodec parse_codec(const std::string& name) {
  if (name == "libx264") return VideoCodec::libx264;
  if (name == "h264_nvenc") return VideoCodec::h264_nvenc;
  fail(ErrorCode::unsupported, "unknown video codec '{}': use libx264 or h264_nvenc", name);
}

int run_encode(const EncodeArgs& args) {
  if (args.audio.empty() == args.text.empty()) {
    fail(ErrorCode::invalid_argument, "give exactly one of --audio FILE or --text \"...\"");
  }
  EncoderOptions options;
  options.fps = args.fps;
  options.crf = args.crf;
  options.preset = args.preset;
  options.codec = parse_codec(args.codec);

  // Decode everything before opening the output, so a bad input never leaves a file behind. The library's
  // default bounds apply (8192 x 8192 pixels, any length); there is no flag to raise them, so say so.
  DecodeLimits limits;
  limits.setting = "talkgen's default";
  const Image image = decode_image(args.image, limits);
  // The MP4 carries the speech at 48 kHz (the model's 16 kHz copy is a separate decode in `generate`).
  constexpr int kOutputSampleRate = 48000;
  SpeechOptions speech;
  speech.voice = args.voice;
  speech.sample_rate = kOutputSampleRate;
  const Audio audio =
      args.text.empty() ? decode_audio(args.audio, kOutputSampleRate, limits) : synthesize_speech(args.text, speech);

  auto encoder = Encoder::to_file(args.output, options);
  const int total_frames = append_still_video(encoder, image, audio, args.fps);
  encoder.finish();
  fmt::print("wrote {} ({}x{}, {} frames, {:.2f} s)\n", args.output, image.width, image.height, total_frames,
             total_frames / args.fps);
  return 0;
}

}  // namespace

CommandRun add_encode_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("encode", "Make a still video of an image for the length of the speech");
  auto args = std::make_shared<EncodeArgs>();
  cmd->add_option("--image", args->image, "Portrait image (PNG, JPEG, WebP, BMP)")->required();
  cmd->add_option("--audio", args->audio, "Speech audio (WAV, MP3, FLAC, M4A, OGG/Opus)");
  cmd->add_option("--text", args->text, "Text to speak with espeak-ng instead of --audio");
  cmd->add_option("--voice", args->voice, "espeak-ng voice for --text")->capture_default_str();
  cmd->add_option("-o,--output", args->output, "Output MP4 path")->required();
  cmd->add_option("--fps", args->fps, "Frames per second")->capture_default_str()->check(CLI::Range(1.0, 120.0));
  cmd->add_option("--crf", args->crf, "libx264 CRF (0-51, lower is better)")->capture_default_str()->check(CLI::Range(0, 51));
  cmd->add_option("--preset", args->preset, "libx264 preset")->capture_default_str();
  cmd->add_option("--codec", args->codec, "libx264 or h264_nvenc")->capture_default_str();
  return [args]() { return run_encode(*args); };
}

}  // namespace talkgen::cli
