// Two speakers (GenerateOptions::audio2_*): the tracks laid out in time as the reference's
// audio_prepare_multi, the speaker masks as its generate_infinitetalk builds ref_target_masks, the checks on
// the inputs, and whole jobs on the demo model.
#include "support/catch_torch.hpp"  // first: see there

#include <filesystem>

#include "support/error_capture.hpp"
#include "pipeline/demo_model.hpp"
#include "pipeline/job_inputs.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/speaker_masks.hpp"
#include "talkgen/error.hpp"
#include "test_media.hpp"

using namespace talkgen;
using namespace talkgen::pipeline;
using talkgen_test::code_of;
using talkgen_test::scratch;

namespace {

Audio audio_of(std::vector<float> samples, int rate = 16000) {
  Audio a;
  a.sample_rate = rate;
  a.samples = std::move(samples);
  return a;
}

// The reference's masks on a source the size of the target (no resize, no crop) and a latent grid of the
// same size: rows [r0, r1) x columns [c0, c1) of ones.
at::Tensor box_mask(int64_t h, int64_t w, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  auto m = at::zeros({h, w});
  m.slice(0, r0, r1).slice(1, c0, c1).fill_(1);
  return m;
}

GenerateOptions two_speaker_job(const std::string& a1, const std::string& a2) {
  GenerateOptions o;
  o.image_path = talkgen_test::portrait_path();
  o.audio_path = a1;
  o.audio2_path = a2;
  o.quality = Quality::draft;
  o.encoder.preset = "ultrafast";
  return o;
}

}  // namespace

TEST_CASE("two speakers' tracks: one after another, or together padded to the longer") {
  Audio a = audio_of({0.5f, -0.25f, 0.75f}), b = audio_of({0.125f, -0.5f});
  arrange_speakers(a, b, SpeakerTiming::one_after_another);
  CHECK(a.samples == std::vector<float>{0.5f, -0.25f, 0.75f, 0, 0});
  CHECK(b.samples == std::vector<float>{0, 0, 0, 0.125f, -0.5f});
  const Audio mixed = mix_tracks(a, b);
  CHECK(mixed.samples == std::vector<float>{0.5f, -0.25f, 0.75f, 0.125f, -0.5f});

  Audio c = audio_of({0.75f, 0.5f}), d = audio_of({0.5f, -0.25f, 0.125f});
  arrange_speakers(c, d, SpeakerTiming::together);
  CHECK(c.samples == std::vector<float>{0.75f, 0.5f, 0});
  CHECK(d.samples == std::vector<float>{0.5f, -0.25f, 0.125f});
  CHECK(mix_tracks(c, d).samples == std::vector<float>{1.0f, 0.25f, 0.125f});  // 1.25 clipped to 1

  Audio e = audio_of({1}, 48000);
  CHECK(code_of([&] { arrange_speakers(a, e, SpeakerTiming::together); }) == ErrorCode::internal);
  CHECK(parse_speaker_timing("para") == SpeakerTiming::together);
  CHECK(parse_speaker_timing("add") == SpeakerTiming::one_after_another);
  CHECK(parse_speaker_timing("One-After-Another") == SpeakerTiming::one_after_another);
  CHECK(code_of([] { parse_speaker_timing("interleaved"); }) == ErrorCode::invalid_argument);
}

TEST_CASE("speaker masks: the reference's default halves and boxes, resized and cropped like the portrait") {
  SECTION("default halves, source = target = latent grid: the reference's slices") {
    // src 40 x 60: rows int(40*0.05)=2 .. int(40*0.95)=38; half 30: columns int(30*0.05)=1 .. int(30*0.95)=28
    // and int(1.5 + 30)=31 .. int(28.5 + 30)=58.
    const auto m = speaker_masks({60, 40}, std::nullopt, std::nullopt, {60, 40}, 40, 60);
    REQUIRE(m.sizes() == at::IntArrayRef{3, 40, 60});
    CHECK(at::equal(m[0], box_mask(40, 60, 2, 38, 1, 28)));
    CHECK(at::equal(m[1], box_mask(40, 60, 2, 38, 31, 58)));
    CHECK(at::equal(m[2], (m[0] + m[1]).eq(0).to(at::kFloat)));
  }
  SECTION("boxes: x counts columns, y rows; coordinates truncated") {
    const auto m = speaker_masks({60, 40}, PixelBox{3.9, 5.2, 20.7, 30.1}, PixelBox{35, 0, 60, 40}, {60, 40}, 40, 60);
    CHECK(at::equal(m[0], box_mask(40, 60, 5, 30, 3, 20)));
    CHECK(at::equal(m[1], box_mask(40, 60, 0, 40, 35, 60)));
  }
  SECTION("a wide source covering a square target: scaled, centre-cropped, then cut to the latent grid") {
    // 200 x 100 -> scale 1 (target 100 x 100): final 200 x 100, crop columns 50..150; latent 10 x 10.
    const auto m = speaker_masks({200, 100}, PixelBox{60, 0, 100, 100}, PixelBox{100, 0, 140, 100}, {100, 100}, 10, 10);
    REQUIRE(m.sizes() == at::IntArrayRef{3, 10, 10});
    CHECK(at::equal(m[0], box_mask(10, 10, 0, 10, 1, 5)));  // columns 60..100 of the source = 10..50 of the crop
    CHECK(at::equal(m[1], box_mask(10, 10, 0, 10, 5, 9)));
    CHECK(at::equal(m[2], (m[0] + m[1]).eq(0).to(at::kFloat)));
  }
  CHECK(code_of([] { speaker_masks({60, 40}, PixelBox{0, 0, 10, 10}, std::nullopt, {60, 40}, 40, 60); }) ==
        ErrorCode::invalid_argument);
}

TEST_CASE("two-speaker inputs: the length follows the timing, and bad combinations are refused") {
  const std::string a1 = talkgen_test::write_wav("two_a1.wav", talkgen_test::speech_like(1.0), 16000);
  const std::string a2 = talkgen_test::write_wav("two_a2.wav", talkgen_test::speech_like(0.6), 16000);
  auto o = two_speaker_job(a1, a2);
  const JobInputs after = load_job_inputs(o, 8);
  CHECK(after.two_speakers());
  CHECK(after.audio_frames == 40);  // 1.0 s + 0.6 s at 25 fps
  CHECK(after.speech.samples.size() == after.speech2.samples.size());
  CHECK(after.track.duration_seconds() == Approx(1.6).margin(0.01));
  o.speaker_timing = SpeakerTiming::together;
  CHECK(load_job_inputs(o, 8).audio_frames == 25);  // the longer one

  auto one_box = two_speaker_job(a1, a2);
  one_box.speaker1_box = PixelBox{0, 0, 10, 10};
  CHECK(code_of([&] { load_job_inputs(one_box, 8); }) == ErrorCode::invalid_argument);
  auto outside = two_speaker_job(a1, a2);
  outside.speaker1_box = PixelBox{0, 0, 10, 10};
  outside.speaker2_box = PixelBox{0, 0, 100000, 10};
  CHECK(code_of([&] { load_job_inputs(outside, 8); }) == ErrorCode::invalid_argument);
  auto text = two_speaker_job("", a2);
  text.speech_text = "hello";
  CHECK(code_of([&] { load_job_inputs(text, 8); }) == ErrorCode::invalid_argument);
  auto boxes_alone = two_speaker_job(a1, "");
  boxes_alone.speaker1_box = PixelBox{0, 0, 10, 10};
  boxes_alone.speaker2_box = PixelBox{10, 0, 20, 10};
  CHECK(code_of([&] { load_job_inputs(boxes_alone, 8); }) == ErrorCode::invalid_argument);
  auto missing = two_speaker_job(a1, scratch("no_such_speaker2.wav"));
  CHECK(code_of([&] { load_job_inputs(missing, 8); }) != ErrorCode::ok);
}

TEST_CASE("a two-speaker job on the demo model: both tracks in the video, speaker 2's speech moves the frames") {
  static Pipeline pipeline(make_demo_models());
  const std::string a1 = talkgen_test::write_wav("two_job_a1.wav", talkgen_test::speech_like(1.2), 16000);
  std::vector<float> other = talkgen_test::speech_like(0.8);
  for (size_t i = 0; i < other.size(); ++i) other[i] *= (i / 400) % 2 ? 1.0f : -0.5f;  // a different voice
  const std::string a2 = talkgen_test::write_wav("two_job_a2.wav", other, 16000);
  const std::string out = scratch("two_job.mp4");
  std::filesystem::remove(out);
  auto o = two_speaker_job(a1, a2);
  o.output_path = out;
  o.mode = GenerationMode::clip;
  at::Tensor frames;
  TestHooks taps;
  taps.on_frames = [&](int, const at::Tensor& f) { frames = f.clone(); };
  const GenerateResult r = pipeline.run(o, {}, std::move(taps));
  CHECK(r.frames == 50);  // 1.2 s + 0.8 s one after another
  REQUIRE(std::filesystem::exists(out));
  CHECK(decode_audio(out, 16000).duration_seconds() == Approx(2.0).margin(0.05));

  // The same job with only speaker 2's waveform changed (reversed in time): other frames.
  auto changed = o;
  changed.output_path.clear();
  const std::vector<float> reversed(other.rbegin(), other.rend());
  changed.audio2_path = talkgen_test::write_wav("two_job_a2_reversed.wav", reversed, 16000);
  at::Tensor changed_frames;
  TestHooks changed_taps;
  changed_taps.on_frames = [&](int, const at::Tensor& f) { changed_frames = f.clone(); };
  pipeline.run(changed, {}, std::move(changed_taps));
  REQUIRE(frames.defined());
  REQUIRE(changed_frames.defined());
  CHECK_FALSE(at::equal(frames, changed_frames));
}

TEST_CASE("an injected audio embedding on a two-speaker job is refused before any output is opened") {
  static Pipeline pipeline(make_demo_models());
  const std::string a1 = talkgen_test::write_wav("two_inject_a1.wav", talkgen_test::speech_like(1.0), 16000);
  const std::string a2 = talkgen_test::write_wav("two_inject_a2.wav", talkgen_test::speech_like(0.5), 16000);
  const std::string out = scratch("two_inject.mp4");
  std::filesystem::remove(out);
  auto o = two_speaker_job(a1, a2);
  o.output_path = out;
  const auto& d = pipeline.models().dit->config();
  TestHooks taps;
  taps.audio_embedding = at::zeros({40, d.audio_blocks, d.audio_channels});
  bool progressed = false;
  RunHooks hooks;
  hooks.progress = [&](const GenerateProgress&) { return progressed = true; };
  CHECK(code_of([&] { pipeline.run(o, std::move(hooks), std::move(taps)); }) == ErrorCode::invalid_argument);
  CHECK_FALSE(progressed);  // refused while checking the job: no stage was reported
  CHECK_FALSE(std::filesystem::exists(out));
  for (const auto& e : std::filesystem::directory_iterator(TALKGEN_TEST_SCRATCH_DIR))
    CHECK(e.path().filename().string().find("two_inject.mp4") == std::string::npos);  // nor a temporary file
}
