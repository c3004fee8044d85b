// Whole jobs through the real pipeline on the demo model (tiny, random weights), on the CPU.
#include "support/catch_torch.hpp"  // first: see there

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>

#include "pipeline/demo_model.hpp"
#include "pipeline/demo_tokenizer.hpp"
#include "pipeline/pipeline.hpp"
#include "talkgen/error.hpp"
#include "test_media.hpp"
#include "support/error_capture.hpp"

using namespace talkgen;
using namespace talkgen::pipeline;
using talkgen_test::code_of;
using talkgen_test::scratch;

namespace {

Pipeline& demo_pipeline() {
  static Pipeline p(make_demo_models());
  return p;
}

GenerateOptions demo_job(const std::string& audio, const std::string& out) {
  GenerateOptions o;
  o.image_path = talkgen_test::portrait_path();
  o.audio_path = audio;
  o.output_path = out;
  o.quality = Quality::draft;
  o.encoder.preset = "ultrafast";
  return o;
}


// An uncompressed 24-bit BMP of w x h mid-grey pixels.
std::vector<uint8_t> grey_bmp(int w, int h) {
  const int row = (w * 3 + 3) / 4 * 4;
  const uint32_t size = 54 + static_cast<uint32_t>(row * h);
  std::vector<uint8_t> b(size, 0);
  auto put32 = [&](size_t at, uint32_t v) { for (int i = 0; i < 4; ++i) b[at + i] = (v >> (8 * i)) & 0xFF; };
  b[0] = 'B';
  b[1] = 'M';
  put32(2, size);
  put32(10, 54);
  put32(14, 40);
  put32(18, static_cast<uint32_t>(w));
  put32(22, static_cast<uint32_t>(h));
  b[26] = 1;
  b[28] = 24;
  for (size_t i = 54; i < b.size(); ++i) b[i] = 128;
  return b;
}

bool leftovers_in(const std::string& dir, const std::string& stem) {
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().find(stem) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("demo tokenizer: special ids, words, ASCII and unknown characters") {
  auto tok = make_demo_tokenizer();
  CHECK(tok->pad_id() == 0);
  CHECK(tok->eos_id() == 1);
  CHECK(tok->unk_id() == 2);
  const auto ids = tok->encode("A person is talking!");
  REQUIRE(ids.size() >= 4);
  CHECK(ids.back() == 1);
  for (int64_t id : ids) CHECK((id >= 0 && id < tok->vocab_size()));
  const auto cjk = tok->encode("你好");
  CHECK(std::find(cjk.begin(), cjk.end(), 2) != cjk.end());
}

TEST_CASE("demo models fit together and are deterministic") {
  PipelineModels a = make_demo_models(), b = make_demo_models();
  CHECK(a.untrained);
  auto pa = a.dit->named_parameters(), pb = b.dit->named_parameters();
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) CHECK(at::equal(pa[i].value(), pb[i].value()));
  PipelineModels broken = make_demo_models();
  broken.clip.reset();
  CHECK(code_of([&] { Pipeline p(std::move(broken)); }) == ErrorCode::invalid_argument);
}

TEST_CASE("a short clip: one chunk cut to the speech, an MP4 whose length matches it") {
  const std::string wav = talkgen_test::write_wav("pipe_short.wav", talkgen_test::speech_like(2.0), 16000);
  const std::string out = scratch("pipe_short.mp4");
  std::filesystem::remove(out);
  std::vector<GenerateProgress> seen;
  RunHooks hooks;
  hooks.progress = [&](const GenerateProgress& p) {
    seen.push_back(p);
    return true;
  };
  GenerateResult r = demo_pipeline().run(demo_job(wav, out), std::move(hooks));
  CHECK(r.untrained_model);
  CHECK(r.frames == 50);
  CHECK(r.chunks == 1);
  CHECK(r.width == 80);
  CHECK(r.height == 80);
  CHECK(r.settings.steps == 4);
  REQUIRE(std::filesystem::exists(out));
  const Audio track = decode_audio(out, 16000);
  CHECK(std::abs(track.duration_seconds() - 2.0) <= 0.05);
  REQUIRE(!seen.empty());
  for (size_t i = 1; i < seen.size(); ++i) CHECK(seen[i].fraction >= seen[i - 1].fraction);
  CHECK(seen.back().stage == GenerateProgress::Stage::done);
  CHECK(seen.back().fraction == 1.0);
  bool had_eta = false;
  for (const auto& p : seen) had_eta = had_eta || p.eta_seconds >= 0;
  CHECK(had_eta);
}

TEST_CASE("streaming over two chunks: frames, dump, determinism") {
  const std::string wav = talkgen_test::write_wav("pipe_stream.wav", talkgen_test::speech_like(4.0), 16000);
  const std::string dump = scratch("pipe_stream_frames.safetensors");
  std::filesystem::remove(dump);
  auto run = [&](int64_t seed, bool with_dump) {
    GenerateOptions o = demo_job(wav, "");
    o.seed = seed;
    if (with_dump) o.dump_frames = dump;
    std::vector<at::Tensor> chunks;
    TestHooks taps;
    taps.on_frames = [&](int, const at::Tensor& f) { chunks.push_back(f.clone()); };
    GenerateResult r = demo_pipeline().run(o, {}, std::move(taps));
    CHECK(r.frames == 100);
    CHECK(r.chunks == 2);
    CHECK_FALSE(r.mp4.empty());
    REQUIRE(chunks.size() == 2);
    CHECK(chunks[0].size(1) == 81);
    CHECK(chunks[1].size(1) == 19);
    return at::cat(chunks, 1);
  };
  at::Tensor a = run(7, true);
  CHECK(a.abs().max().item<float>() <= 1.0f);
  CHECK(at::equal(a, run(7, false)));
  CHECK_FALSE(at::equal(a, run(8, false)));
  REQUIRE(std::filesystem::exists(dump));
  // 8-byte header length + JSON + 100 x 3 x 80 x 80 float32.
  CHECK(std::filesystem::file_size(dump) > 100u * 3 * 80 * 80 * 4);
}

TEST_CASE("cancelling from the progress callback stops the job and leaves no file") {
  const std::string wav = talkgen_test::write_wav("pipe_cancel.wav", talkgen_test::speech_like(1.0), 16000);
  const std::string out = scratch("pipe_cancel.mp4");
  std::filesystem::remove(out);
  GenerateOptions o = demo_job(wav, out);
  o.dump_frames = scratch("pipe_cancel_frames.safetensors");
  RunHooks hooks;
  hooks.progress = [](const GenerateProgress& p) { return !(p.stage == GenerateProgress::Stage::sampling && p.step >= 2); };
  CHECK(code_of([&] { demo_pipeline().run(o, std::move(hooks)); }) == ErrorCode::cancelled);
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK_FALSE(leftovers_in(TALKGEN_TEST_SCRATCH_DIR, "pipe_cancel.mp4"));        // the encoder's temp file
  CHECK_FALSE(leftovers_in(TALKGEN_TEST_SCRATCH_DIR, "pipe_cancel_frames"));     // the dump's temp file
}

TEST_CASE("bad jobs are refused with typed errors") {
  const std::string wav = talkgen_test::write_wav("pipe_ok.wav", talkgen_test::speech_like(1.0), 16000);
  Pipeline& p = demo_pipeline();
  GenerateOptions o = demo_job(wav, "");

  GenerateOptions no_image = o;
  no_image.image_path.clear();
  CHECK(code_of([&] { p.run(no_image); }) == ErrorCode::invalid_argument);
  GenerateOptions two_images = o;
  two_images.image_bytes = grey_bmp(100, 100);
  CHECK(code_of([&] { p.run(two_images); }) == ErrorCode::invalid_argument);
  GenerateOptions tiny = o;
  tiny.image_path.clear();
  tiny.image_bytes = grey_bmp(40, 300);
  CHECK(code_of([&] { p.run(tiny); }) == ErrorCode::invalid_argument);
  GenerateOptions video = o;
  video.image_path.clear();
  video.video_path = scratch("no_such_video.mp4");  // videos are supported (dubbing); a missing one is not found
  CHECK(code_of([&] { p.run(video); }) == ErrorCode::not_found);

  GenerateOptions silent = o;
  silent.audio_path = talkgen_test::write_wav("pipe_silent.wav", std::vector<float>(16000, 0.0f), 16000);
  CHECK(code_of([&] { p.run(silent); }) == ErrorCode::invalid_argument);
  GenerateOptions blip = o;
  blip.audio_path = talkgen_test::write_wav("pipe_blip.wav", talkgen_test::speech_like(0.02), 16000);
  CHECK(code_of([&] { p.run(blip); }) == ErrorCode::invalid_argument);
  GenerateOptions no_audio = o;
  no_audio.audio_path.clear();
  CHECK(code_of([&] { p.run(no_audio); }) == ErrorCode::invalid_argument);
  GenerateOptions missing = o;
  missing.audio_path = scratch("no_such_file.wav");
  CHECK(code_of([&] { p.run(missing); }) == ErrorCode::not_found);

  GenerateOptions bad_dir = o;
  std::filesystem::remove_all(scratch("no_such_dir"));  // an earlier run may have made it
  bad_dir.output_path = scratch("no_such_dir/out.mp4");
  CHECK(code_of([&] { p.run(bad_dir); }) == ErrorCode::io_error);
  GenerateOptions bad_steps = o;
  bad_steps.steps = 0;
  CHECK(code_of([&] { p.run(bad_steps); }) == ErrorCode::invalid_argument);
  GenerateOptions bad_chunk = o;
  bad_chunk.frames_per_chunk = 80;
  CHECK(code_of([&] { p.run(bad_chunk); }) == ErrorCode::invalid_argument);
  GenerateOptions bad_color = o;
  bad_color.color_correction = 2;
  CHECK(code_of([&] { p.run(bad_color); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { parse_resolution("1080p"); }) == ErrorCode::unsupported);
  CHECK(code_of([&] { parse_quality("best"); }) == ErrorCode::invalid_argument);
}

TEST_CASE("quality profiles need the matching LoRA on trained models") {
  PipelineModels m = make_demo_models();
  m.untrained = false;  // pretend: trained weights without the distillation LoRA
  Pipeline p(std::move(m));
  GenerateOptions o;
  o.quality = Quality::draft;
  CHECK(code_of([&] { p.resolve_settings(o); }) == ErrorCode::unsupported);
  o.quality = Quality::quality;
  CHECK(p.resolve_settings(o).steps == 40);
  o.quality = Quality::draft;
  o.steps = 6;  // explicit settings run anyway
  CHECK(p.resolve_settings(o).steps == 6);
  CHECK(quality_settings(Quality::draft, Resolution::p480).forwards_per_step() == 2);
  CHECK(quality_settings(Quality::quality, Resolution::p720).shift == 11.0);
  CHECK(quality_settings(Quality::quality, Resolution::p480).forwards_per_step() == 3);
}
