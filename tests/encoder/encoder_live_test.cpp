// Live output: fragmented MP4 delivered chunk by chunk (init segment, then one moof + mdat per chunk),
// readable whole and from any fragment on, carrying the same packets as the final MP4.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "encoder/ffprobe_cli.hpp"
#include "encoder/frame_fixtures.hpp"
#include "encoder/mp4_probe.hpp"
#include "talkgen/encoder.hpp"
#include "talkgen/error.hpp"

using talkgen::Encoder;
using talkgen::ErrorCode;
using talkgen::FragmentKind;
using talkgen::FrameChunk;
namespace test = talkgen::test;

namespace {

constexpr int kWidth = 96, kHeight = 64;
constexpr double kFps = 25.0;

struct Delivery {
  FragmentKind kind;
  std::vector<std::uint8_t> bytes;
};

struct Recorder {
  std::vector<Delivery> deliveries;
  talkgen::FragmentSink sink() {
    return [this](const std::uint8_t* data, std::size_t size, FragmentKind kind) {
      deliveries.push_back({kind, std::vector<std::uint8_t>(data, data + size)});
    };
  }
};

// Appends chunks of `sizes` frames, calling flush_fragment() after each but the last, then finish().
void encode_chunks(Encoder& encoder, const std::vector<int>& sizes, const std::vector<std::uint8_t>& pixels) {
  int start = 0;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    encoder.append(
        FrameChunk::uint8_thwc(pixels.data() + std::size_t(start) * kHeight * kWidth * 3, sizes[i], kHeight, kWidth));
    start += sizes[i];
    if (i + 1 < sizes.size()) encoder.flush_fragment();
  }
  encoder.finish();
}

std::vector<std::uint8_t> joined(const std::vector<Delivery>& deliveries, const std::vector<std::size_t>& which) {
  std::vector<std::uint8_t> bytes;
  for (std::size_t i : which) bytes.insert(bytes.end(), deliveries[i].bytes.begin(), deliveries[i].bytes.end());
  return bytes;
}

std::vector<std::size_t> all_of(const std::vector<Delivery>& deliveries) {
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < deliveries.size(); ++i) which.push_back(i);
  return which;
}

// init, then `fragments` × (moof, mdat), each delivery whole.
void check_layout(const std::vector<Delivery>& deliveries, std::size_t fragments) {
  REQUIRE(deliveries.size() == fragments + 1);
  CHECK(deliveries[0].kind == FragmentKind::init);
  CHECK(test::top_level_boxes(deliveries[0].bytes) == std::vector<std::string>{"ftyp", "moov"});
  for (std::size_t k = 1; k < deliveries.size(); ++k) {
    INFO("fragment " << k);
    CHECK(deliveries[k].kind == FragmentKind::media);
    CHECK(test::top_level_boxes(deliveries[k].bytes) == std::vector<std::string>{"moof", "mdat"});
  }
}

// The decoded audio lasts as long as the video, to within one video frame, plus up to two AAC frames:
// the last frame's padding (the decoder returns whole 1024-sample frames) and the encoder's 1024
// priming samples, which FFmpeg's demuxer drops in a faststart MP4 but not in a fragmented one (it
// shows them at a negative time instead; players skip them by the edit list).
void check_decoded_audio_seconds(const test::Mp4Info& info, double seconds) {
  REQUIRE(info.audio_rate > 0);
  const double decoded = double(info.audio_samples) / info.audio_rate;
  CHECK(decoded >= seconds - 1.0 / kFps);
  CHECK(decoded <= seconds + 1.0 / kFps + 2 * 1024.0 / info.audio_rate);
}

template <typename Call>
void check_error(Call&& call, ErrorCode code) {
  try {
    call();
  } catch (const talkgen::Error& error) {
    INFO("message: " << error.what());
    CHECK(talkgen::to_string(error.code()) == std::string(talkgen::to_string(code)));
    return;
  }
  FAIL("expected talkgen::Error(" << talkgen::to_string(code) << ")");
}

}  // namespace

TEST_CASE("a live encode of 3 chunks is an init segment and 3 fragments that play whole and from any fragment",
          "[encoder][live]") {
  const std::vector<int> sizes = {20, 15, 15};
  const int frames = 50;
  const auto pixels = test::make_frames_thwc(frames, kHeight, kWidth);
  const auto dir = test::fresh_scratch_dir("live_three_chunks");
  Recorder recorder;
  auto encoder = Encoder::to_fragments(recorder.sink());
  encoder.set_audio(test::make_tone(2.0, 16000));

  // Nothing is delivered before the first chunk ends; then the init segment and fragment 1 at once.
  encoder.append(FrameChunk::uint8_thwc(pixels.data(), sizes[0], kHeight, kWidth));
  CHECK(recorder.deliveries.empty());
  encoder.flush_fragment();
  CHECK(recorder.deliveries.size() == 2);
  encoder.append(
      FrameChunk::uint8_thwc(pixels.data() + std::size_t(20) * kHeight * kWidth * 3, sizes[1], kHeight, kWidth));
  encoder.flush_fragment();
  CHECK(recorder.deliveries.size() == 3);
  encoder.append(
      FrameChunk::uint8_thwc(pixels.data() + std::size_t(35) * kHeight * kWidth * 3, sizes[2], kHeight, kWidth));
  encoder.finish();
  CHECK_THROWS_AS(encoder.take_buffer(), talkgen::Error);  // the bytes went to the sink
  const auto& deliveries = recorder.deliveries;
  check_layout(deliveries, 3);

  // The whole stream: both tracks, every frame, the right length.
  const auto stream = joined(deliveries, all_of(deliveries));
  const auto info = test::probe_mp4_bytes(stream, false);
  CHECK(info.video_codec == "h264");
  CHECK(info.audio_codec == "aac");
  CHECK(info.frames == frames);
  CHECK(info.video_seconds == Approx(frames / kFps).margin(0.001));
  check_decoded_audio_seconds(info, frames / kFps);
  const auto path = dir + "/live.mp4";
  test::write_file_bytes(path, stream);
  CHECK(test::ffprobe_lines("-count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0",
                            path) == std::vector<std::string>{std::to_string(frames)});
  CHECK(test::ffprobe_lines("-show_entries stream=codec_type -of csv=p=0", path) ==
        std::vector<std::string>{"video", "audio"});
  // Both tracks end with the video. (FFmpeg's demuxer shows a fragmented track's AAC priming samples,
  // which the edit list hides from playback, as a negative start time, so compare ends, not durations.)
  const auto streams = test::ffprobe_lines("-show_entries stream=codec_type,start_time,duration -of csv=p=0", path);
  REQUIRE(streams.size() == 2);
  for (const auto& line : streams) {
    INFO(line);
    const auto first = line.find(','), second = line.find(',', first + 1);
    const double start_time = std::stod(line.substr(first + 1, second - first - 1));
    const double end_time = start_time + std::stod(line.substr(second + 1));
    CHECK(end_time == Approx(frames / kFps).margin(1.0 / kFps));
    if (line.rfind("video", 0) == 0) CHECK(start_time == 0.0);
  }

  // Each fragment starts with a keyframe (ffprobe's K comes from the trun's sample flags), at its chunk's time.
  const auto packets = test::ffprobe_packets(path, "v");
  REQUIRE(packets.size() == std::size_t(frames));
  int start = 0;
  for (int size : sizes) {
    bool found = false;
    for (const auto& packet : packets) {
      if (std::abs(packet.pts_seconds - start / kFps) < 1e-3) {
        found = true;
        CHECK(packet.keyframe);
      }
    }
    CHECK(found);
    start += size;
  }

  // A late joiner: the init segment and fragment k alone decode to fragment k's frames at their times.
  start = 0;
  for (std::size_t k = 1; k <= sizes.size(); ++k) {
    INFO("init + fragment " << k);
    const auto late = joined(deliveries, {0, k});
    const auto late_info = test::probe_mp4_bytes(late, false);  // decodes every frame; fails on corrupt data
    CHECK(late_info.frames == sizes[k - 1]);
    CHECK(late_info.audio_samples > 0);
    const auto late_path = dir + "/late" + std::to_string(k) + ".mp4";
    test::write_file_bytes(late_path, late);
    const auto late_packets = test::ffprobe_packets(late_path, "v");
    REQUIRE(!late_packets.empty());
    CHECK(late_packets.front().keyframe);
    double first_pts = late_packets.front().pts_seconds;
    for (const auto& packet : late_packets) first_pts = std::min(first_pts, packet.pts_seconds);
    CHECK(first_pts == Approx(start / kFps).margin(1e-3));
    CHECK(!test::ffprobe_packets(late_path, "a").empty());
    start += sizes[k - 1];
  }
}

TEST_CASE("the live stream and the final MP4 carry the same packets (encoded once)", "[encoder][live]") {
  const auto pixels = test::make_frames_thwc(40, kHeight, kWidth);
  const auto dir = test::fresh_scratch_dir("live_same_packets");
  Recorder recorder;
  auto encoder = Encoder::to_file(dir + "/final.mp4");
  encoder.add_live_output(recorder.sink());
  encoder.set_audio(test::make_tone(1.6, 16000));
  encode_chunks(encoder, {16, 12, 12}, pixels);
  check_layout(recorder.deliveries, 3);
  test::write_file_bytes(dir + "/live.mp4", joined(recorder.deliveries, all_of(recorder.deliveries)));

  for (const char* type : {"v", "a"}) {
    INFO("stream " << type);
    const auto live = test::ffprobe_packets(dir + "/live.mp4", type);
    const auto final = test::ffprobe_packets(dir + "/final.mp4", type);
    REQUIRE(live.size() == final.size());
    for (std::size_t i = 0; i < live.size(); ++i) {
      INFO("packet " << i);
      CHECK(live[i].size == final[i].size);
      CHECK(live[i].keyframe == final[i].keyframe);
      CHECK(live[i].pts_seconds == Approx(final[i].pts_seconds).margin(1e-3));
    }
  }
  const auto info = test::probe_mp4_file(dir + "/final.mp4", false);
  CHECK(info.frames == 40);
  CHECK(test::list_dir(dir) == std::vector<std::string>{"final.mp4", "live.mp4"});
}

TEST_CASE("one-frame chunks and a flush after the last chunk still make a valid live stream", "[encoder][live]") {
  const std::vector<int> sizes = {1, 1, 6, 1};
  const auto pixels = test::make_frames_thwc(9, kHeight, kWidth);
  const auto dir = test::fresh_scratch_dir("live_tiny_chunks");
  Recorder recorder;
  auto encoder = Encoder::to_memory();
  encoder.add_live_output(recorder.sink());
  encoder.set_audio(test::make_tone(0.36, 16000));
  int start = 0;
  for (int size : sizes) {
    encoder.append(
        FrameChunk::uint8_thwc(pixels.data() + std::size_t(start) * kHeight * kWidth * 3, size, kHeight, kWidth));
    encoder.flush_fragment();  // after the last chunk too: finish() adds the audio's end as one more fragment
    start += size;
  }
  check_error([&] { encoder.flush_fragment(); }, ErrorCode::invalid_argument);  // no new frame
  encoder.finish();
  check_layout(recorder.deliveries, sizes.size() + 1);
  const auto stream = joined(recorder.deliveries, all_of(recorder.deliveries));
  const auto info = test::probe_mp4_bytes(stream, false);
  CHECK(info.frames == 9);
  CHECK(info.audio_codec == "aac");
  const auto final = test::probe_mp4_bytes(encoder.take_buffer(), false);
  CHECK(final.frames == 9);
  test::write_file_bytes(dir + "/live.mp4", stream);
  const auto packets = test::ffprobe_packets(dir + "/live.mp4", "v");
  REQUIRE(packets.size() == 9);
  int keyframes = 0;
  for (const auto& packet : packets) keyframes += packet.keyframe ? 1 : 0;
  CHECK(keyframes >= int(sizes.size()));
}

TEST_CASE("a live sink that throws stops the encoder: the exception propagates and nothing is left",
          "[encoder][live]") {
  struct SinkFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  const auto pixels = test::make_frames_thwc(20, kHeight, kWidth);
  const auto dir = test::fresh_scratch_dir("live_throwing_sink");
  int calls = 0;
  const int throw_at = GENERATE(1, 2, 3);  // on the init segment, on fragment 1, on the last fragment (finish)
  CAPTURE(throw_at);
  {
    auto encoder = Encoder::to_file(dir + "/out.mp4");
    encoder.add_live_output([&](const std::uint8_t*, std::size_t, FragmentKind) {
      if (++calls == throw_at) throw SinkFailure("viewer went away");
    });
    encoder.set_audio(test::make_tone(0.8, 16000));
    encoder.append(FrameChunk::uint8_thwc(pixels.data(), 10, kHeight, kWidth));
    if (throw_at <= 2) {
      CHECK_THROWS_AS(encoder.flush_fragment(), SinkFailure);
    } else {
      encoder.flush_fragment();
      encoder.append(
          FrameChunk::uint8_thwc(pixels.data() + std::size_t(10) * kHeight * kWidth * 3, 10, kHeight, kWidth));
      CHECK_THROWS_AS(encoder.finish(), SinkFailure);
    }
    CHECK(calls == throw_at);
    // The encoder is stopped: later calls are refused, the sink hears nothing more.
    check_error([&] { encoder.append(FrameChunk::uint8_thwc(pixels.data(), 10, kHeight, kWidth)); },
                ErrorCode::invalid_argument);
    check_error([&] { encoder.finish(); }, ErrorCode::invalid_argument);
    CHECK(test::list_dir(dir).empty());  // the final MP4's temporary file is gone already
  }
  CHECK(calls == throw_at);
  CHECK(test::list_dir(dir).empty());
}

TEST_CASE("destroying a live encoder mid-stream leaves nothing and calls the sink no more", "[encoder][live]") {
  const auto pixels = test::make_frames_thwc(30, kHeight, kWidth);
  const auto dir = test::fresh_scratch_dir("live_destroyed");
  Recorder recorder;
  {
    auto encoder = Encoder::to_file(dir + "/out.mp4");
    encoder.add_live_output(recorder.sink());
    encoder.set_audio(test::make_tone(1.2, 16000));
    encoder.append(FrameChunk::uint8_thwc(pixels.data(), 10, kHeight, kWidth));
    encoder.flush_fragment();
    encoder.append(FrameChunk::uint8_thwc(pixels.data() + std::size_t(10) * kHeight * kWidth * 3, 10, kHeight, kWidth));
    CHECK(recorder.deliveries.size() == 2);
    CHECK(test::list_dir(dir).size() == 1);  // the temporary file of the final MP4
  }
  CHECK(recorder.deliveries.size() == 2);  // init + fragment 1; the unfinished fragment 2 is dropped
  CHECK(test::list_dir(dir).empty());
  // What was delivered before is still a valid stream on its own.
  const auto info = test::probe_mp4_bytes(joined(recorder.deliveries, {0, 1}), false);
  CHECK(info.frames == 10);
}

TEST_CASE("live output misuse is refused with invalid_argument", "[encoder][live]") {
  const auto pixels = test::make_frames_thwc(4, kHeight, kWidth);
  const auto chunk = FrameChunk::uint8_thwc(pixels.data(), 4, kHeight, kWidth);
  Recorder recorder;

  check_error([] { Encoder::to_fragments(nullptr); }, ErrorCode::invalid_argument);
  auto plain = Encoder::to_memory();
  check_error([&] { plain.add_live_output(nullptr); }, ErrorCode::invalid_argument);
  plain.append(chunk);
  check_error([&] { plain.flush_fragment(); }, ErrorCode::invalid_argument);                  // no live output
  check_error([&] { plain.add_live_output(recorder.sink()); }, ErrorCode::invalid_argument);  // after append

  auto live = Encoder::to_fragments(recorder.sink());
  check_error([&] { live.add_live_output(recorder.sink()); }, ErrorCode::invalid_argument);  // already has one
  check_error([&] { live.flush_fragment(); }, ErrorCode::invalid_argument);                  // no frame yet
  live.append(chunk);
  live.flush_fragment();  // no audio given: the live stream is silent from here on
  check_error([&] { live.set_audio(test::make_tone(1.0, 16000)); }, ErrorCode::invalid_argument);
  live.append(chunk);
  live.finish();
  check_layout(recorder.deliveries, 2);
  const auto info = test::probe_mp4_bytes(joined(recorder.deliveries, all_of(recorder.deliveries)), false);
  CHECK(info.frames == 8);
  CHECK(info.audio_codec.empty());
}
