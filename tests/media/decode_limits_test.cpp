// DecodeLimits and truncated inputs. Limits are read from the headers before anything is decoded (a small
// file that claims or holds hours of audio or a gigapixel picture costs a few MB, measured in a child
// process) and hold while decoding when the header states nothing; a file that ends before its header says
// is invalid_argument for every decode entry point, while files that state no length (streamed WAV, MP3
// without a Xing header) are read to their end. Inputs are made with the ffmpeg CLI and by cutting bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "media_test_util.hpp"
#include "talkgen/media.hpp"

using media_test::error_code_of;
using media_test::error_message_of;
using media_test::ffmpeg;
using media_test::in_child;
using media_test::scratch;
using talkgen::DecodeLimits;
using talkgen::ErrorCode;

namespace {

// Refusing from the header costs the demuxer and a few buffers; decoding first costs hundreds of MB here.
constexpr double kRefusedBeforeDecodingMb = 30;

std::string fixture(const std::string& name) { return std::string(TALKGEN_TEST_DATA_DIR) + "/media/limits/" + name; }

std::string tone(const std::string& name, const std::string& codec_args, double seconds = 2.0, int rate = 16000) {
  const std::string path = scratch(name);
  ffmpeg("-f lavfi -i sine=frequency=440:sample_rate=" + std::to_string(rate) + ":duration=" + std::to_string(seconds) +
         " " + codec_args + " '" + path + "'");
  return path;
}

std::vector<std::uint8_t> cut(const std::string& path, std::size_t size) {
  std::vector<std::uint8_t> bytes = media_test::read_bytes(path);
  REQUIRE(bytes.size() > size);
  bytes.resize(size);
  return bytes;
}

std::string write_scratch(const std::string& name, const std::vector<std::uint8_t>& bytes) {
  const std::string path = scratch(name);
  media_test::write_bytes(path, bytes);
  return path;
}

// An hour of mono silence at 8 kHz as FLAC with the largest frames: 14 KB that decode to 230 MB at 16 kHz.
// Its STREAMINFO states the length (3600 s).
const std::string& hour_of_silence_flac() {
  static const std::string path = [] {
    const std::string p = scratch("silence_1h.flac");
    ffmpeg("-f lavfi -i anullsrc=r=8000:cl=mono -t 3600 -c:a flac -frame_size 65535 '" + p + "'");
    return p;
  }();
  return path;
}

// Sets the 36-bit total-samples field of a FLAC's STREAMINFO (0: "unknown", as a streamed FLAC leaves it).
void set_flac_total_samples(std::vector<std::uint8_t>& flac, std::uint64_t samples) {
  REQUIRE(flac.size() > 42);
  REQUIRE(std::string(flac.begin(), flac.begin() + 4) == "fLaC");
  REQUIRE((flac[4] & 0x7F) == 0);  // the first metadata block is STREAMINFO, its body from byte 8
  flac[8 + 13] = static_cast<std::uint8_t>((flac[8 + 13] & 0xF0) | ((samples >> 32) & 0x0F));
  for (int i = 0; i < 4; ++i) flac[8 + 14 + i] = static_cast<std::uint8_t>(samples >> (24 - 8 * i));
}

// Sets a WAV's RIFF size and data chunk size, as a writer that cannot seek back leaves them.
void set_wav_sizes(std::vector<std::uint8_t>& wav, std::uint32_t size) {
  const std::string text(wav.begin(), wav.end());
  const std::size_t data = text.find("data");
  REQUIRE(text.compare(0, 4, "RIFF") == 0);
  REQUIRE(data != std::string::npos);
  for (int i = 0; i < 4; ++i) {
    wav[4 + i] = static_cast<std::uint8_t>(size >> (8 * i));
    wav[data + 4 + i] = static_cast<std::uint8_t>(size >> (8 * i));
  }
}

DecodeLimits seconds_limit(double seconds) {
  DecodeLimits limits;
  limits.max_seconds = seconds;
  limits.setting = "--max-audio-seconds";
  return limits;
}

DecodeLimits pixel_limit(std::int64_t pixels) {
  DecodeLimits limits;
  limits.max_pixels = pixels;
  limits.setting = "--max-image-pixels";
  return limits;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const auto keep_all = [](std::int64_t) { return true; };
const auto keep_none = [](std::int64_t) { return false; };

}  // namespace

// --- Limits before decoding -------------------------------------------------------------------------------

TEST_CASE("an hour of FLAC silence is refused from its header under a 300 s limit, before decoding",
          "[media][audio][limits]") {
  const std::string& path = hour_of_silence_flac();
  const std::vector<std::uint8_t> bytes = media_test::read_bytes(path);
  CHECK(bytes.size() < 64 * 1024);
  const DecodeLimits limits = seconds_limit(300);

  const auto from_file = in_child([&] { talkgen::decode_audio(path, 16000, limits); });
  CHECK(from_file.threw);
  CHECK(from_file.code == ErrorCode::invalid_argument);
  CHECK(from_file.peak_growth_mb < kRefusedBeforeDecodingMb);
  const auto from_memory = in_child([&] { talkgen::decode_audio_bytes(bytes.data(), bytes.size(), 16000, limits); });
  CHECK(from_memory.code == ErrorCode::invalid_argument);
  CHECK(from_memory.peak_growth_mb < kRefusedBeforeDecodingMb);

  const std::string message = error_message_of([&] { talkgen::decode_audio(path, 16000, limits); });
  CHECK(contains(message, path));
  CHECK(contains(message, "3600.0 s"));
  CHECK(contains(message, "300 s"));
  CHECK(contains(message, "--max-audio-seconds"));
}

TEST_CASE("audio whose header states no length stops decoding at the limit, holding no more than it",
          "[media][audio][limits]") {
  std::vector<std::uint8_t> bytes = media_test::read_bytes(hour_of_silence_flac());
  set_flac_total_samples(bytes, 0);
  const std::string path = write_scratch("silence_1h_no_length.flac", bytes);
  const DecodeLimits limits = seconds_limit(300);

  // Decoded whole, the hour is 230 MB of float samples at 16 kHz; 300 s of them are 19 MB.
  const auto run = in_child([&] { talkgen::decode_audio(path, 16000, limits); });
  CHECK(run.code == ErrorCode::invalid_argument);
  CHECK(run.peak_growth_mb < 80);
  const auto run_bytes = in_child([&] { talkgen::decode_audio_bytes(bytes.data(), bytes.size(), 16000, limits); });
  CHECK(run_bytes.code == ErrorCode::invalid_argument);
  CHECK(run_bytes.peak_growth_mb < 80);
  const std::string message = error_message_of([&] { talkgen::decode_audio(path, 16000, limits); });
  CHECK(contains(message, "more than 300 s"));
  CHECK(contains(message, "--max-audio-seconds"));

  SECTION("within the limit, a FLAC without a stated length decodes whole") {
    std::vector<std::uint8_t> short_flac = media_test::read_bytes(tone("no_length_tone.flac", "-c:a flac"));
    set_flac_total_samples(short_flac, 0);
    const talkgen::Audio audio =
        talkgen::decode_audio_bytes(short_flac.data(), short_flac.size(), 16000, seconds_limit(300));
    CHECK(audio.duration_seconds() == Approx(2.0).margin(0.01));
  }
}

TEST_CASE("audio within the limit decodes, and the default has no length limit", "[media][audio][limits]") {
  const std::string path = tone("limit_tone.wav", "", 2.0);
  CHECK(talkgen::decode_audio(path, 16000, seconds_limit(2.5)).duration_seconds() == Approx(2.0).margin(0.01));
  CHECK(talkgen::decode_audio(path).duration_seconds() == Approx(2.0).margin(0.01));
  CHECK(error_code_of([&] { talkgen::decode_audio(path, 16000, seconds_limit(1.5)); }) == ErrorCode::invalid_argument);
}

TEST_CASE("a 16000x16000 PNG of 31 KB is refused from its header before any decoding", "[media][image][limits]") {
  const std::string path = fixture("black_16000x16000.png");
  const std::vector<std::uint8_t> bytes = media_test::read_bytes(path);
  const DecodeLimits server_like = pixel_limit(4096LL * 4096);

  // Decoded, it is 768 MB of RGB (FFmpeg's own probing would decode it once more).
  for (const auto& run : {in_child([&] { talkgen::decode_image(path); }),
                          in_child([&] { talkgen::decode_image_bytes(bytes.data(), bytes.size(), server_like); }),
                          in_child([&] { talkgen::decode_video_frames(path, keep_all); })}) {
    CHECK(run.threw);
    CHECK(run.code == ErrorCode::invalid_argument);
    CHECK(run.peak_growth_mb < kRefusedBeforeDecodingMb);
  }
  const std::string message =
      error_message_of([&] { talkgen::decode_image_bytes(bytes.data(), bytes.size(), server_like); });
  CHECK(contains(message, "16000x16000"));
  CHECK(contains(message, "16777216"));
  CHECK(contains(message, "--max-image-pixels"));
  CHECK(contains(error_message_of([&] { talkgen::decode_image(path); }), "DecodeLimits::max_pixels"));
}

TEST_CASE("the picture size is read from the header of every common image format", "[media][image][limits]") {
  struct Case {
    const char* name;
    const char* codec_args;
  };
  const Case cases[] = {{"hdr.png", ""},
                        {"hdr.jpg", "-q:v 3"},
                        {"hdr.bmp", ""},
                        {"hdr_lossy.webp", "-c:v libwebp"},
                        {"hdr_lossless.webp", "-c:v libwebp -lossless 1"}};
  for (const Case& c : cases) {
    INFO(c.name);
    const std::string path = scratch(c.name);
    ffmpeg(std::string("-f lavfi -i testsrc2=size=64x48 -frames:v 1 ") + c.codec_args + " '" + path + "'");
    const talkgen::Image image = talkgen::decode_image(path, pixel_limit(64 * 48));
    CHECK(image.width == 64);
    CHECK(image.height == 48);
    // One pixel less: refused with the header's size (the decoder's own refusal would not know it).
    const std::string message = error_message_of([&] { talkgen::decode_image(path, pixel_limit(64 * 48 - 1)); });
    CHECK(contains(message, "64x48"));
    CHECK(error_code_of([&] { talkgen::decode_image(path, pixel_limit(64 * 48 - 1)); }) == ErrorCode::invalid_argument);
  }
}

TEST_CASE("a JPEG whose frame header claims 20000x20000 is refused without decoding", "[media][image][limits]") {
  std::vector<std::uint8_t> jpeg = {0xFF, 0xD8,                                      // SOI
                                    0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00,  // APP0 (JFIF)
                                    0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
                                    0xFF, 0xC0, 0x00, 0x11, 0x08,  // SOF0, 8-bit
                                    0x4E, 0x20, 0x4E, 0x20,        // height, width: 20000
                                    0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01};
  jpeg.resize(4096, 0x5A);  // no tables or scan: a decoder would have to fail, the header is enough to refuse
  const std::string message = error_message_of([&] { talkgen::decode_image_bytes(jpeg.data(), jpeg.size()); });
  CHECK(contains(message, "20000x20000"));
  CHECK(error_code_of([&] { talkgen::decode_image_bytes(jpeg.data(), jpeg.size()); }) == ErrorCode::invalid_argument);
}

TEST_CASE("a limit of no pixels is a caller's mistake", "[media][limits][errors]") {
  const std::string path = tone("limit_args.wav", "", 0.5);
  CHECK(error_code_of([&] { talkgen::decode_audio(path, 16000, pixel_limit(0)); }) == ErrorCode::invalid_argument);
  const std::string png = scratch("limit_args.png");
  ffmpeg("-f lavfi -i testsrc2=size=32x32 -frames:v 1 '" + png + "'");
  CHECK(error_code_of([&] { talkgen::decode_image(png, pixel_limit(-1)); }) == ErrorCode::invalid_argument);
}

TEST_CASE("video: frame size from the header, and the length read bounded by max_seconds", "[media][video][limits]") {
  // 50 lossless frames (2 s at 25 fps) of 48x32 in Matroska, whose header states no per-stream length.
  const std::string mkv = scratch("limits_50.mkv");
  ffmpeg("-f lavfi -i testsrc2=size=48x32:rate=25:duration=2 -c:v png '" + mkv + "'");
  // The same in MP4, whose header states the length.
  const std::string mp4 = scratch("limits_50.mp4");
  ffmpeg("-f lavfi -i testsrc2=size=48x32:rate=25:duration=2 -c:v mpeg4 -q:v 2 -movflags +faststart '" + mp4 + "'");

  // The frame size, from the container's header (or a GIF's, read as a video), before any frame is decoded.
  const DecodeLimits frame_size = pixel_limit(48 * 32 - 1);
  const std::string gif = scratch("limits.gif");
  ffmpeg("-f lavfi -i testsrc2=size=48x32:rate=10:duration=0.5 '" + gif + "'");
  const std::string h264 = scratch("limits_h264.mp4");
  ffmpeg("-f lavfi -i testsrc2=size=48x32:rate=25:duration=0.2 -c:v libx264 '" + h264 + "'");
  for (const std::string& path : {mkv, gif, h264}) {
    INFO(path);
    const std::string message = error_message_of([&] { talkgen::decode_video_frames(path, keep_none, 0, frame_size); });
    CHECK(contains(message, "48x32"));
    CHECK(contains(message, "--max-image-pixels"));
  }
  // MPEG-4 Part 2 in MP4 states no size (FFmpeg takes it from the bitstream): its decoder refuses every frame.
  const std::string message = error_message_of([&] { talkgen::decode_video_frames(mp4, keep_none, 0, frame_size); });
  CHECK(contains(message, "1535 pixels (--max-image-pixels)"));

  DecodeLimits one_second;
  one_second.max_seconds = 1.0;
  // MP4: refused from the header; Matroska: decoding stops after 1 s of frames.
  CHECK(contains(error_message_of([&] { talkgen::decode_video_frames(mp4, keep_none, 0, one_second); }), "header"));
  CHECK(contains(error_message_of([&] { talkgen::decode_video_frames(mkv, keep_none, 0, one_second); }),
                 "more than 1 s"));
  // A frame limit that stops within the bound reads happily.
  for (const std::string& path : {mp4, mkv}) {
    INFO(path);
    const talkgen::VideoFrames video = talkgen::decode_video_frames(path, keep_none, 20, one_second);
    CHECK(video.frames_read == 20);
    CHECK(talkgen::decode_video_frames(path, keep_none).frames_read == 50);
  }
}

// --- Truncated is corrupt ---------------------------------------------------------------------------------

TEST_CASE("a WAV cut to its first 100 bytes is truncated, for files and bytes, at any rate",
          "[media][audio][truncated]") {
  const std::vector<std::uint8_t> bytes = cut(tone("whole.wav", ""), 100);
  const std::string path = write_scratch("first_100_bytes.wav", bytes);
  for (int rate : {16000, 48000}) {  // 48 kHz: what `talkgen encode` decodes its speech at
    INFO(rate);
    CHECK(error_code_of([&] { talkgen::decode_audio(path, rate); }) == ErrorCode::invalid_argument);
    CHECK(error_code_of([&] { talkgen::decode_audio_bytes(bytes.data(), bytes.size(), rate); }) ==
          ErrorCode::invalid_argument);
  }
  const std::string message = error_message_of([&] { talkgen::decode_audio(path); });
  CHECK(contains(message, path));
  CHECK(contains(message, "truncated"));
  CHECK(contains(message, "64000 bytes"));  // 2 s of 16-bit mono at 16 kHz stated
}

TEST_CASE("a WAV cut in the middle of its data is truncated", "[media][audio][truncated]") {
  const std::string whole = tone("whole_mid.wav", "", 2.0);
  const std::vector<std::uint8_t> bytes = cut(whole, media_test::read_bytes(whole).size() / 2);
  const std::string message = error_message_of([&] { talkgen::decode_audio_bytes(bytes.data(), bytes.size()); });
  CHECK(contains(message, "truncated"));
  CHECK(contains(message, "(2.000 s)"));
  CHECK(error_code_of([&] { talkgen::decode_audio(write_scratch("half.wav", bytes)); }) == ErrorCode::invalid_argument);
}

TEST_CASE("a streamed WAV (data size 0xFFFFFFFF or 0) is read to its end", "[media][audio][truncated]") {
  SECTION("as ffmpeg writes it to a pipe") {
    const std::string path = scratch("streamed_pipe.wav");
    ffmpeg("-f lavfi -i sine=frequency=440:sample_rate=16000:duration=1.5 -f wav pipe:1 | cat > '" + path + "'");
    const std::vector<std::uint8_t> bytes = media_test::read_bytes(path);
    REQUIRE(bytes[4] == 0xFF);  // the sizes were left unset
    CHECK(talkgen::decode_audio(path).duration_seconds() == Approx(1.5).margin(0.01));
  }
  SECTION("sizes patched to 0xFFFFFFFF and to 0") {
    for (std::uint32_t size : {0xFFFFFFFFu, 0u}) {
      INFO(size);
      std::vector<std::uint8_t> bytes = media_test::read_bytes(tone("to_stream.wav", "", 1.5));
      set_wav_sizes(bytes, size);
      CHECK(talkgen::decode_audio_bytes(bytes.data(), bytes.size()).duration_seconds() == Approx(1.5).margin(0.01));
    }
  }
}

TEST_CASE("FLAC, MP3 with a Xing header and M4A cut in half are truncated but whole ones are not",
          "[media][audio][truncated]") {
  struct Case {
    const char* name;
    const char* codec_args;
  };
  for (const Case c : {Case{"cut.flac", "-c:a flac"}, Case{"cut.mp3", "-c:a libmp3lame"},
                       Case{"cut.m4a", "-c:a aac -movflags +faststart"}}) {
    INFO(c.name);
    const std::string whole = tone(std::string("whole_") + c.name, c.codec_args, 4.0);
    CHECK(talkgen::decode_audio(whole).duration_seconds() == Approx(4.0).margin(0.05));
    const std::vector<std::uint8_t> half = cut(whole, media_test::read_bytes(whole).size() / 2);
    const std::string message = error_message_of([&] { talkgen::decode_audio_bytes(half.data(), half.size()); });
    CHECK(contains(message, "truncated"));
    CHECK(error_code_of([&] { talkgen::decode_audio(write_scratch(c.name, half)); }) == ErrorCode::invalid_argument);
  }
}

TEST_CASE("an MP3 without a length header, cut, is what it holds (nothing states more)", "[media][audio][truncated]") {
  const std::string whole = tone("no_xing.mp3", "-c:a libmp3lame -write_xing 0", 4.0);
  const std::vector<std::uint8_t> half = cut(whole, media_test::read_bytes(whole).size() / 2);
  const talkgen::Audio audio = talkgen::decode_audio_bytes(half.data(), half.size());
  CHECK(audio.duration_seconds() == Approx(2.0).margin(0.15));
}

TEST_CASE("a video cut short of its header's length is truncated", "[media][video][truncated]") {
  const std::string whole = scratch("whole_video.mp4");
  ffmpeg("-f lavfi -i testsrc2=size=64x48:rate=25:duration=4 -c:v mpeg4 -q:v 2 -movflags +faststart '" + whole + "'");
  CHECK(talkgen::decode_video_frames(whole, keep_none).frames_read == 100);
  const std::string path = write_scratch("half_video.mp4", cut(whole, media_test::read_bytes(whole).size() / 2));
  const std::string message = error_message_of([&] { talkgen::decode_video_frames(path, keep_none); });
  CHECK(contains(message, "truncated"));
  CHECK(error_code_of([&] { talkgen::decode_video_frames(path, keep_none); }) == ErrorCode::invalid_argument);
  // Frames before the cut can still be read when that is all the caller needs.
  CHECK(talkgen::decode_video_frames(path, keep_none, 10).frames_read == 10);
}
