// Video decoding for dubbing: frame indexing at the file's own rate, which frames are kept, the limit,
// rotation, and errors. Inputs are made with the ffmpeg CLI from raw RGB frames.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "media_test_util.hpp"
#include "talkgen/media.hpp"

using media_test::error_code_of;
using media_test::ffmpeg;
using media_test::scratch;
using talkgen::ErrorCode;
using talkgen::Image;
using talkgen::VideoFrames;

namespace {

// Frame i: red = 20 * i everywhere, green a horizontal ramp, blue 255 in the top-left 8x8 corner (to see
// rotations), else 0.
std::vector<std::uint8_t> frame_pixels(int i, int w, int h) {
  std::vector<std::uint8_t> rgb;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      rgb.push_back(static_cast<std::uint8_t>((20 * i) & 255));
      rgb.push_back(static_cast<std::uint8_t>(255 * x / (w - 1)));
      rgb.push_back(x < 8 && y < 8 ? 255 : 0);
    }
  return rgb;
}

// `frames` frames of w x h at `fps`, encoded by ffmpeg with `codec_args` into scratch/`name`.
std::string make_video(const std::string& name, int frames, int w, int h, int fps, const std::string& codec_args) {
  std::vector<std::uint8_t> raw;
  for (int i = 0; i < frames; ++i) {
    auto f = frame_pixels(i, w, h);
    raw.insert(raw.end(), f.begin(), f.end());
  }
  const std::string raw_path = scratch(name + ".rgb");
  media_test::write_bytes(raw_path, raw);
  const std::string out = scratch(name);
  ffmpeg("-f rawvideo -pix_fmt rgb24 -s " + std::to_string(w) + "x" + std::to_string(h) + " -r " +
         std::to_string(fps) + " -i '" + raw_path + "' " + codec_args + " '" + out + "'");
  return out;
}

// Lossless: PNG pictures in Matroska decode to exactly the RGB given.
std::string lossless_video(const std::string& name, int frames, int fps = 25, int w = 48, int h = 32) {
  return make_video(name, frames, w, h, fps, "-c:v png");
}

const auto keep_all = [](std::int64_t) { return true; };
const auto keep_none = [](std::int64_t) { return false; };

}  // namespace

TEST_CASE("video decode: every frame, exact pixels, in order, at the file's own rate") {
  const std::string path = lossless_video("vd_ten.mkv", 10);
  const VideoFrames v = talkgen::decode_video_frames(path, keep_all);
  CHECK(v.width == 48);
  CHECK(v.height == 32);
  CHECK(v.fps == Approx(25.0));
  CHECK(v.frames_read == 10);
  CHECK(v.reached_end);
  REQUIRE(v.images.size() == 10);
  for (int i = 0; i < 10; ++i) {
    INFO("frame " << i);
    CHECK(v.indices[i] == i);
    CHECK(v.images[i].width == 48);
    CHECK(media_test::mismatches(v.images[i].rgb, frame_pixels(i, 48, 32)) == 0);
  }
}

TEST_CASE("video decode: a 30 fps video is read frame by frame, not converted to 25 fps") {
  // 15 frames at 30 fps (0.5 s): still 15 frames, frame i is the i-th picture.
  const std::string path = lossless_video("vd_30fps.mkv", 15, 30);
  const VideoFrames v = talkgen::decode_video_frames(path, [](std::int64_t i) { return i == 12; });
  CHECK(v.fps == Approx(30.0));
  CHECK(v.frames_read == 15);
  REQUIRE(v.indices == std::vector<std::int64_t>{12, 14});  // the kept one, then the last frame
  CHECK(media_test::mismatches(v.images[0].rgb, frame_pixels(12, 48, 32)) == 0);
  CHECK(media_test::mismatches(v.images[1].rgb, frame_pixels(14, 48, 32)) == 0);
}

TEST_CASE("video decode: only kept frames (and the last) come back, the limit stops early") {
  const std::string path = lossless_video("vd_keep.mkv", 10);
  SECTION("every third frame, plus the last") {
    const VideoFrames v = talkgen::decode_video_frames(path, [](std::int64_t i) { return i % 3 == 0; });
    CHECK(v.indices == std::vector<std::int64_t>{0, 3, 6, 9});
    CHECK(v.frames_read == 10);
  }
  SECTION("none kept: still the last frame") {
    const VideoFrames v = talkgen::decode_video_frames(path, keep_none);
    REQUIRE(v.indices == std::vector<std::int64_t>{9});
    CHECK(media_test::mismatches(v.images[0].rgb, frame_pixels(9, 48, 32)) == 0);
  }
  SECTION("limit 4: four frames read, the stream not finished") {
    const VideoFrames v = talkgen::decode_video_frames(path, [](std::int64_t i) { return i == 0; }, 4);
    CHECK(v.frames_read == 4);
    CHECK_FALSE(v.reached_end);
    CHECK(v.indices == std::vector<std::int64_t>{0, 3});
  }
  SECTION("a limit beyond the end") {
    const VideoFrames v = talkgen::decode_video_frames(path, keep_none, 50);
    CHECK(v.frames_read == 10);
    CHECK(v.reached_end);
  }
}

TEST_CASE("video decode: H.264 in MP4 (lossy, B-frames) keeps frame order") {
  const std::string path =
      make_video("vd_h264.mp4", 12, 64, 48, 25, "-c:v libx264 -preset ultrafast -crf 10 -pix_fmt yuv444p -bf 2");
  const VideoFrames v = talkgen::decode_video_frames(path, keep_all);
  CHECK(v.frames_read == 12);
  REQUIRE(v.images.size() == 12);
  for (int i = 0; i < 12; ++i) {
    // The red level identifies the frame: check the centre pixel within codec error.
    const auto& rgb = v.images[i].rgb;
    const int red = rgb[(24 * 64 + 32) * 3];
    INFO("frame " << i << " red " << red);
    CHECK(std::abs(red - 20 * i) <= 6);
  }
}

TEST_CASE("video decode: the display rotation turns frames upright") {
  const std::string plain = make_video("vd_plain.mp4", 3, 48, 32, 25, "-c:v libx264 -preset ultrafast -qp 0 -pix_fmt yuv444p");
  const std::string rotated = scratch("vd_rotated.mp4");
  // A display matrix of 90 degrees counter-clockwise (ffprobe: "rotation=90"), as phones write.
  ffmpeg("-i '" + plain + "' -c copy -metadata:s:v:0 rotate=90 '" + rotated + "'");
  const VideoFrames v = talkgen::decode_video_frames(rotated, keep_all);
  CHECK(v.width == 32);
  CHECK(v.height == 48);
  REQUIRE(v.images.size() == 3);
  const Image& f = v.images[0];
  REQUIRE(f.width == 32);
  // Turned counter-clockwise, the stored top-left corner (blue) is now bottom-left: where the ffmpeg CLI
  // (autorotate) shows it too.
  auto blue = [&](int x, int y) { return int(f.rgb[(static_cast<std::size_t>(y) * f.width + x) * 3 + 2]); };
  CHECK(blue(1, f.height - 2) > 200);
  CHECK(blue(1, 1) < 50);
  CHECK(blue(f.width - 2, 1) < 50);
  CHECK(blue(f.width - 2, f.height - 2) < 50);
}

TEST_CASE("video decode: files that are not videos are typed errors") {
  SECTION("missing") {
    CHECK(error_code_of([] { talkgen::decode_video_frames(scratch("vd_missing.mp4"), keep_all); }) ==
          ErrorCode::not_found);
  }
  SECTION("audio only") {
    const std::string wav = scratch("vd_tone.wav");
    ffmpeg("-f lavfi -i sine=frequency=440:duration=0.5 '" + wav + "'");
    CHECK(error_code_of([&] { talkgen::decode_video_frames(wav, keep_all); }) == ErrorCode::unsupported);
  }
  SECTION("audio with cover art") {
    const std::string cover = lossless_video("vd_cover.png", 1);  // one PNG picture
    const std::string mp3 = scratch("vd_cover.mp3");
    ffmpeg("-f lavfi -i sine=frequency=440:duration=0.5 -i '" + cover +
           "' -map 0 -map 1 -c:a libmp3lame -c:v png -disposition:v attached_pic '" + mp3 + "'");
    const std::string message = media_test::error_message_of([&] { talkgen::decode_video_frames(mp3, keep_all); });
    CHECK(message.find("cover art") != std::string::npos);
    CHECK(error_code_of([&] { talkgen::decode_video_frames(mp3, keep_all); }) == ErrorCode::unsupported);
  }
  SECTION("random bytes") {
    std::vector<std::uint8_t> junk(4096);
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::uint8_t>((i * 7919 + 13) % 251);
    const std::string path = scratch("vd_junk.mp4");
    media_test::write_bytes(path, junk);
    CHECK(error_code_of([&] { talkgen::decode_video_frames(path, keep_all); }) == ErrorCode::invalid_argument);
  }
  SECTION("an MP4 cut in half (its index at the end is lost)") {
    const std::string whole = make_video("vd_whole.mp4", 10, 64, 48, 25, "-c:v libx264 -preset ultrafast");
    auto bytes = media_test::read_bytes(whole);
    bytes.resize(bytes.size() / 2);
    const std::string cut = scratch("vd_cut.mp4");
    media_test::write_bytes(cut, bytes);
    CHECK(error_code_of([&] { talkgen::decode_video_frames(cut, keep_all); }) == ErrorCode::invalid_argument);
  }
}

TEST_CASE("video decode: a still image is a one-frame video") {
  const std::string png = lossless_video("vd_still.png", 1);
  const VideoFrames v = talkgen::decode_video_frames(png, keep_all);
  CHECK(v.frames_read == 1);
  REQUIRE(v.indices == std::vector<std::int64_t>{0});
  CHECK(media_test::mismatches(v.images[0].rgb, frame_pixels(0, 48, 32)) == 0);
}
