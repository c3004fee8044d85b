// A demo client and the smallest job for the C ABI tests (1 s of speech, draft, one chunk: seconds on a CPU).
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "capi_test_media.hpp"
#include "talkgen.h"

namespace capi_test {

// Owns a demo client on the CPU for one test case.
struct DemoClient {
  DemoClient() {
    talkgen_client_options o;
    REQUIRE(talkgen_client_options_init(&o) == TALKGEN_OK);
    o.model = "demo";
    o.device = "cpu";
    o.max_attempts = 1;
    const talkgen_status s = talkgen_client_create(&o, &client);
    INFO(talkgen_last_error());
    REQUIRE(s == TALKGEN_OK);
    REQUIRE(client != nullptr);
  }
  ~DemoClient() { talkgen_client_free(client); }
  DemoClient(const DemoClient&) = delete;
  DemoClient& operator=(const DemoClient&) = delete;
  talkgen_client* client = nullptr;
};

// The smallest job: 1 s of speech (from memory), draft, one chunk, the fastest x264 preset.
struct TinyJob {
  TinyJob() {
    REQUIRE(talkgen_job_params_init(&params) == TALKGEN_OK);
    params.image_path = portrait_path().c_str();
    params.audio_data = audio.data();
    params.audio_size = audio.size();
    params.quality = "draft";
    params.mode = "clip";
    params.preset = "ultrafast";
  }
  TinyJob(const TinyJob&) = delete;
  TinyJob& operator=(const TinyJob&) = delete;
  std::vector<std::uint8_t> audio = tone_wav(1.0);
  talkgen_job_params params;
};

struct ResultGuard {
  ~ResultGuard() { talkgen_result_free(r); }
  talkgen_result* r = nullptr;
};

}  // namespace capi_test
