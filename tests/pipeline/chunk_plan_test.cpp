// Expected plans come from the reference's generate_infinitetalk loop run with its model calls removed.
#include "support/catch_torch.hpp"  // first: see there

#include "pipeline/chunk_plan.hpp"
#include "talkgen/error.hpp"

using namespace talkgen::pipeline;

namespace {
ChunkSettings streaming(int64_t max_frames = 1000) {
  ChunkSettings s;
  s.max_frames = max_frames;
  return s;
}
}  // namespace

TEST_CASE("streaming plans follow the reference loop") {
  struct Case {
    int64_t audio, max_frames;
    size_t chunks;
    int64_t last_start, last_end, output, padding;
  };
  const Case cases[] = {
      {82, 1000, 2, 72, 153, 82, 74},     {100, 1000, 2, 72, 153, 100, 56},  {153, 1000, 2, 72, 153, 153, 3},
      {154, 1000, 3, 144, 225, 154, 74},  {300, 1000, 5, 288, 369, 300, 72}, {1500, 1000, 14, 936, 1017, 1000, 0},
      {1500, 0, 21, 1440, 1521, 1500, 24}, {200, 100, 2, 72, 153, 100, 0},   {300, 50, 1, 0, 81, 50, 0},
      {500, 81, 1, 0, 81, 81, 0},
  };
  for (const auto& c : cases) {
    INFO("audio " << c.audio << " frames, max " << c.max_frames);
    const ChunkPlan plan = plan_chunks(c.audio, streaming(c.max_frames));
    REQUIRE(plan.chunks.size() == c.chunks);
    CHECK(plan.chunks.back().audio_start == c.last_start);
    CHECK(plan.chunks.back().audio_end == c.last_end);
    CHECK(plan.output_frames == c.output);
    CHECK(plan.padding_frames == c.padding);
    CHECK(plan.chunks.front().motion_frames == 1);
    CHECK(plan.chunks.front().keep_from == 0);
    for (size_t i = 1; i < plan.chunks.size(); ++i) {
      CHECK(plan.chunks[i].audio_start == plan.chunks[i - 1].audio_start + 72);
      CHECK(plan.chunks[i].motion_frames == 9);
      CHECK(plan.chunks[i].keep_from == 9);
      CHECK(plan.chunks[i].index == static_cast<int>(i));
    }
    CHECK(plan.generated_frames() == 81 + 72 * static_cast<int64_t>(plan.chunks.size() - 1));
  }
}

TEST_CASE("small chunks with 5 motion frames") {
  ChunkSettings s;
  s.frame_num = 17;
  s.motion_frames = 5;
  ChunkPlan plan = plan_chunks(40, s);
  REQUIRE(plan.chunks.size() == 3);
  CHECK(plan.chunks[1].audio_start == 12);
  CHECK(plan.chunks[2].audio_end == 41);
  CHECK(plan.output_frames == 40);
  CHECK(plan.padding_frames == 4);
  plan = plan_chunks(30, s);
  CHECK(plan.chunks.size() == 3);  // chunk 1 ends at 29 < 30: one more chunk
  CHECK(plan.output_frames == 30);
}

TEST_CASE("clip mode is one chunk of frame_num frames") {
  ChunkSettings s;
  s.streaming = false;
  ChunkPlan plan = plan_chunks(500, s);
  REQUIRE(plan.chunks.size() == 1);
  CHECK(plan.output_frames == 81);
  CHECK(plan.padding_frames == 0);
}

TEST_CASE("audio shorter than a chunk gives one chunk cut to the audio") {
  for (bool streaming_mode : {true, false}) {
    ChunkSettings s;
    s.streaming = streaming_mode;
    for (int64_t n : {1, 30, 81}) {
      const ChunkPlan plan = plan_chunks(n, s);
      CHECK(plan.chunks.size() == 1);
      CHECK(plan.output_frames == n);
    }
  }
}

TEST_CASE("bad chunk settings and empty audio are errors") {
  ChunkSettings s;
  CHECK_THROWS_AS(plan_chunks(0, s), talkgen::Error);
  s.frame_num = 80;
  CHECK_THROWS_AS(plan_chunks(100, s), talkgen::Error);
  s.frame_num = 81;
  s.motion_frames = 8;
  CHECK_THROWS_AS(plan_chunks(100, s), talkgen::Error);
  s.motion_frames = 81;
  CHECK_THROWS_AS(plan_chunks(100, s), talkgen::Error);
  s.motion_frames = 9;
  s.max_frames = -1;
  CHECK_THROWS_AS(plan_chunks(100, s), talkgen::Error);
  try {
    plan_chunks(100, s);
  } catch (const talkgen::Error& e) {
    CHECK(e.code() == talkgen::ErrorCode::invalid_argument);
  }
}
