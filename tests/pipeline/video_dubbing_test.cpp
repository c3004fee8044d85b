// Dubbing a video: which frame conditions each chunk (the pure rule and end to end on the demo model),
// and bad videos refused before any model runs.
#include "support/catch_torch.hpp"  // first: see there

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pipeline/chunk_plan.hpp"
#include "pipeline/demo_model.hpp"
#include "pipeline/job_inputs.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/video_condition.hpp"
#include "talkgen/error.hpp"
#include "talkgen/media.hpp"
#include "test_media.hpp"

using namespace talkgen;
using namespace talkgen::pipeline;
using talkgen_test::scratch;

namespace {

ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    INFO(e.what());
    return e.code();
  }
  return ErrorCode::ok;
}

void run_ffmpeg(const std::string& args) {
  const std::string command = "ffmpeg -nostdin -hide_banner -y -v error " + args;
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

// The demo portrait at 96x96 (P) and its negative (Q): two clearly different condition frames.
const Image& frame_p() {
  static const Image p = resize_and_center_crop(decode_image(talkgen_test::portrait_path()), {96, 96});
  return p;
}
const Image& frame_q() {
  static const Image q = [] {
    Image q = frame_p();
    for (auto& v : q.rgb) v = static_cast<uint8_t>(255 - v);
    return q;
  }();
  return q;
}

// A lossless video (PNG pictures in Matroska, 25 fps) of `frames`, so decoded frames equal the given ones.
std::string write_video(const std::string& name, const std::vector<const Image*>& frames, const std::string& extra = "") {
  std::vector<uint8_t> raw;
  for (const Image* f : frames) raw.insert(raw.end(), f->rgb.begin(), f->rgb.end());
  const std::string raw_path = scratch(name + ".rgb");
  {
    std::ofstream out(raw_path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
  }
  const std::string path = scratch(name);
  run_ffmpeg("-f rawvideo -pix_fmt rgb24 -s " + std::to_string(frames.front()->width) + "x" +
             std::to_string(frames.front()->height) + " -r 25 -i '" + raw_path + "' " + extra + " -c:v png '" + path + "'");
  return path;
}

// `n` frames of P with Q at the given indices.
std::vector<const Image*> p_with_q_at(int n, std::vector<int> q_at) {
  std::vector<const Image*> frames(static_cast<size_t>(n), &frame_p());
  for (int i : q_at) frames.at(static_cast<size_t>(i)) = &frame_q();
  return frames;
}

Pipeline& demo_pipeline() {
  static Pipeline p(make_demo_models());
  return p;
}

// 21-frame chunks with 5 motion frames: chunks start at audio frames 0 and 16 for 1.5 s of speech (37 frames).
GenerateOptions dub_job(const std::string& video) {
  GenerateOptions o;
  o.video_path = video;
  o.audio_path = talkgen_test::write_wav("dub_speech.wav", talkgen_test::speech_like(1.5), 16000);
  o.quality = Quality::draft;
  o.frames_per_chunk = 21;
  o.motion_frames = 5;
  o.encoder.preset = "ultrafast";
  return o;
}

struct Run {
  GenerateResult result;
  std::map<int, at::Tensor> chunks;  // new frames per chunk
};

Run run_job(const GenerateOptions& o) {
  Run r;
  TestHooks taps;
  taps.on_frames = [&](int chunk, const at::Tensor& frames) { r.chunks[chunk] = frames.clone(); };
  r.result = demo_pipeline().run(o, {}, std::move(taps));
  return r;
}

}  // namespace

TEST_CASE("dubbing: a chunk is conditioned on the video frame at its start, else the last frame") {
  CHECK(condition_frame_index(0, 100) == 0);
  CHECK(condition_frame_index(72, 100) == 72);
  CHECK(condition_frame_index(99, 100) == 99);
  CHECK(condition_frame_index(100, 100) == 99);  // decord: frame_id < num_frames ? vr[frame_id] : vr[-1]
  CHECK(condition_frame_index(144, 100) == 99);
  CHECK(condition_frame_index(72, 1) == 0);      // a still image: one frame
  CHECK(code_of([] { condition_frame_index(-1, 10); }) == ErrorCode::internal);
  CHECK(code_of([] { condition_frame_index(0, 0); }) == ErrorCode::internal);
}

TEST_CASE("dubbing: the frames kept cover every chunk start of the plan") {
  SECTION("the reference's defaults") {
    const ConditionFrameNeeds needs = condition_frame_needs(ChunkSettings{}, 5000);
    CHECK(needs.stride == 72);
    CHECK(needs.limit == 1000);  // max_frames
    CHECK(needs.needed(0));
    CHECK(needs.needed(144));
    CHECK_FALSE(needs.needed(73));
    CHECK_FALSE(needs.needed(1008));
    CHECK(condition_frame_needs(ChunkSettings{}, 300).limit == 300);  // the speech ends first
  }
  SECTION("one chunk: clip mode, max_frames within one chunk, or speech within one chunk") {
    ChunkSettings clip;
    clip.streaming = false;
    CHECK(condition_frame_needs(clip, 5000).limit == 1);
    ChunkSettings short_cap;
    short_cap.max_frames = 81;
    CHECK(condition_frame_needs(short_cap, 5000).limit == 1);
    CHECK(condition_frame_needs(ChunkSettings{}, 81).limit == 1);
    ChunkSettings unlimited;
    unlimited.max_frames = 0;
    CHECK(condition_frame_needs(unlimited, 100000).limit == 100000);
    CHECK(code_of([] { condition_frame_needs(ChunkSettings{}, 0); }) == ErrorCode::internal);
  }
  SECTION("against plan_chunks") {
    for (int frame_num : {21, 81}) {
      for (int motion : {1, 5, 9}) {
        for (int64_t max_frames : {int64_t{0}, int64_t{50}, int64_t{81}, int64_t{300}, int64_t{1000}}) {
          for (bool streaming : {true, false}) {
            ChunkSettings s;
            s.frame_num = frame_num;
            s.motion_frames = motion;
            s.max_frames = max_frames;
            s.streaming = streaming;
            for (int64_t audio : {int64_t{1}, int64_t{10}, int64_t{81}, int64_t{82}, int64_t{200}, int64_t{777},
                                  int64_t{1500}}) {
              const ConditionFrameNeeds needs = condition_frame_needs(s, audio);
              for (const ChunkSpec& c : plan_chunks(audio, s).chunks) {
                INFO("F " << frame_num << " M " << motion << " max " << max_frames << " streaming " << streaming
                          << " audio " << audio << " chunk " << c.index << " start " << c.audio_start);
                CHECK(needs.needed(c.audio_start));
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("dubbing: VideoCondition hands each chunk its frame") {
  auto solid = [](uint8_t v) {
    Image im;
    im.width = 8;
    im.height = 8;
    im.rgb.assign(8 * 8 * 3, v);
    return im;
  };
  VideoFrames v;
  v.width = v.height = 8;
  v.frames_read = 40;
  v.reached_end = true;
  v.indices = {0, 16, 32, 39};
  for (int64_t i : v.indices) v.images.push_back(solid(static_cast<uint8_t>(i)));
  const VideoCondition c(v, {8, 8});
  CHECK(c.frame_for_chunk(0).rgb[0] == 0);
  CHECK(c.frame_for_chunk(16).rgb[0] == 16);
  CHECK(c.frame_for_chunk(32).rgb[0] == 32);
  CHECK(c.frame_for_chunk(48).rgb[0] == 39);  // past the end: the last frame
  CHECK(code_of([&] { c.frame_for_chunk(8); }) == ErrorCode::internal);  // never a chunk start: not kept

  v.reached_end = false;  // read up to a limit: the video goes on, frame 48 exists but was not kept
  const VideoCondition partial(v, {8, 8});
  CHECK(partial.frame_for_chunk(32).rgb[0] == 32);
  CHECK(code_of([&] { partial.frame_for_chunk(48); }) == ErrorCode::internal);
}

TEST_CASE("dubbing: load_job_inputs takes the bucket and the portrait from frame 0") {
  const std::string video = write_video("dub_inputs.mkv", p_with_q_at(20, {16}));
  GenerateOptions o = dub_job(video);
  const JobInputs in = load_job_inputs(o, 8);
  REQUIRE(in.video != nullptr);
  CHECK(in.size.width == in.video->size().width);
  CHECK(in.portrait.rgb == resize_and_center_crop(frame_p(), in.size).rgb);
  CHECK(in.video->frame_for_chunk(16).rgb == resize_and_center_crop(frame_q(), in.size).rgb);
  CHECK(in.video->frame_for_chunk(32).rgb == resize_and_center_crop(frame_p(), in.size).rgb);  // the last, frame 19
}

TEST_CASE("dubbing on the demo model: per-chunk condition frames, exact frame index, determinism") {
  const Image& p = frame_p();
  const std::string png = scratch("dub_portrait.png");
  write_video("dub_portrait.mkv", {&p});
  run_ffmpeg("-i '" + scratch("dub_portrait.mkv") + "' -frames:v 1 '" + png + "'");

  GenerateOptions image_job = dub_job("");
  image_job.image_path = png;
  const Run still = run_job(image_job);
  REQUIRE(still.chunks.size() == 2);

  // A video of the portrait alone: the same video as the image (the per-chunk path recomputes the same conditions).
  const Run same = run_job(dub_job(write_video("dub_same.mkv", p_with_q_at(40, {}))));
  CHECK(same.result.frames == 37);  // 1.5 s of speech at 25 fps
  CHECK(same.result.chunks == 2);
  REQUIRE(same.chunks.size() == 2);
  CHECK(at::equal(same.chunks.at(0), still.chunks.at(0)));
  CHECK(at::equal(same.chunks.at(1), still.chunks.at(1)));

  // Frame 16 (the second chunk's start) changed: the first chunk is untouched, the second differs.
  const std::string at_start = write_video("dub_q16.mkv", p_with_q_at(40, {16}));
  const Run changed = run_job(dub_job(at_start));
  CHECK(changed.result.frames == 37);
  CHECK(at::equal(changed.chunks.at(0), same.chunks.at(0)));
  CHECK_FALSE(at::allclose(changed.chunks.at(1), same.chunks.at(1)));
  // ... and the same video again gives the same frames.
  const Run again = run_job(dub_job(at_start));
  CHECK(at::equal(again.chunks.at(1), changed.chunks.at(1)));

  // Frames next to the chunk start do not condition anything.
  const Run neighbours = run_job(dub_job(write_video("dub_q15_17.mkv", p_with_q_at(40, {1, 15, 17, 32}))));
  CHECK(at::equal(neighbours.chunks.at(1), same.chunks.at(1)));

  // A 10-frame video (shorter than the speech): the second chunk holds the LAST frame.
  const Run last_q = run_job(dub_job(write_video("dub_short_q9.mkv", p_with_q_at(10, {9}))));
  CHECK(last_q.result.frames == 37);
  CHECK(at::equal(last_q.chunks.at(0), same.chunks.at(0)));
  CHECK(at::equal(last_q.chunks.at(1), changed.chunks.at(1)));  // Q conditions it, as in the frame-16 video
  const Run last_p = run_job(dub_job(write_video("dub_short_q8.mkv", p_with_q_at(10, {8}))));
  CHECK(at::equal(last_p.chunks.at(1), same.chunks.at(1)));
}

TEST_CASE("dubbing: the video can also be the speech (its audio track), as the reference allows") {
  const std::string wav = talkgen_test::write_wav("dub_track.wav", talkgen_test::speech_like(0.6), 16000);
  const std::string video = write_video("dub_with_audio.mkv", p_with_q_at(30, {}), "-i '" + wav + "' -c:a pcm_s16le");
  GenerateOptions o = dub_job(video);
  o.audio_path = video;
  o.mode = GenerationMode::clip;
  const Run r = run_job(o);
  CHECK(r.result.frames == 15);  // the track's 0.6 s, not the video's 1.2 s
}

TEST_CASE("dubbing: bad videos are refused before any model runs") {
  const GenerateOptions base = dub_job("");
  bool progressed = false;
  auto code = [&](const GenerateOptions& o) {
    RunHooks hooks;
    hooks.progress = [&](const GenerateProgress&) { return progressed = true; };
    return code_of([&] { demo_pipeline().run(o, std::move(hooks)); });
  };

  GenerateOptions missing = base;
  missing.video_path = scratch("dub_no_such.mp4");
  CHECK(code(missing) == ErrorCode::not_found);

  GenerateOptions audio_only = base;
  audio_only.video_path = base.audio_path;  // a WAV: no video stream
  CHECK(code(audio_only) == ErrorCode::unsupported);

  GenerateOptions corrupt = base;
  corrupt.video_path = scratch("dub_corrupt.mp4");
  {
    std::ofstream f(corrupt.video_path, std::ios::binary | std::ios::trunc);
    for (int i = 0; i < 5000; ++i) f.put(static_cast<char>((i * 7919 + 3) % 253));
  }
  CHECK(code(corrupt) == ErrorCode::invalid_argument);

  Image tiny;
  tiny.width = tiny.height = 32;
  tiny.rgb.assign(32 * 32 * 3, 128);
  GenerateOptions small = base;
  small.video_path = write_video("dub_tiny.mkv", {&tiny, &tiny, &tiny});
  CHECK(code(small) == ErrorCode::invalid_argument);

  GenerateOptions both = base;
  both.video_path = write_video("dub_both.mkv", p_with_q_at(3, {}));
  both.image_path = talkgen_test::portrait_path();
  CHECK(code(both) == ErrorCode::invalid_argument);

  CHECK_FALSE(progressed);
}
