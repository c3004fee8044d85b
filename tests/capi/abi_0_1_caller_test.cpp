// A program built against talkgen 0.1.0, run against today's library: it sees only talkgen_0_1_frozen.h
// (the 0.1.0 structs, smaller than today's), initialises them with the 0.2 *_init_sized functions passing its
// own sizes, or with the 0.1 by-value *_default() symbols, then creates a demo client, runs a tiny job and
// reads the result. This file must not include talkgen.h: it is the old program.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "capi_test_media.hpp"
#include "talkgen_0_1_frozen.h"

using namespace talkgen_0_1;

namespace {

// A 0.1 struct followed by bytes that belong to something else in the old program.
template <typename T>
struct Guarded {
  Guarded() { std::memset(static_cast<void*>(this), 0xAB, sizeof(*this)); }
  T value;
  unsigned char next[32];
  bool next_untouched() const {
    for (unsigned char b : next) {
      if (b != 0xAB) return false;
    }
    return true;
  }
};

// The 0.1 program's job: 1 s of speech, draft, one chunk; returns the finished result (or fails the test).
talkgen_result* run_tiny_job(talkgen_client* client, talkgen_job_params& params, const char* job_id) {
  static const std::vector<std::uint8_t> audio = capi_test::tone_wav(1.0);
  params.image_path = capi_test::portrait_path().c_str();
  params.audio_data = audio.data();
  params.audio_size = audio.size();
  params.quality = "draft";
  params.mode = "clip";
  params.preset = "ultrafast";
  params.job_id = job_id;
  talkgen_result* result = nullptr;
  const talkgen_status status = talkgen_client_generate(client, &params, nullptr, nullptr, &result);
  INFO(talkgen_last_error());
  REQUIRE(status == TALKGEN_OK);
  REQUIRE(result != nullptr);
  return result;
}

void check_result(const talkgen_result& r, const char* job_id) {
  CHECK(r.struct_size >= sizeof(talkgen_result));  // the library's own, at least the 0.1.0 one
  CHECK(std::string(r.job_id) == job_id);
  CHECK(r.state == TALKGEN_JOB_SUCCEEDED);
  CHECK(r.error_code == TALKGEN_OK);
  CHECK(r.frames == 25);
  CHECK(r.fps == 25.0);
  CHECK(r.chunks == 1);
  CHECK(r.seed == 42);
  CHECK(std::string(r.quality) == "draft");
  CHECK(r.steps == 4);
  CHECK(r.untrained_model);
  REQUIRE(r.device_count == 1);
  CHECK(std::string(r.devices[0]) == "cpu");
  REQUIRE(r.video.size > 1000);
  CHECK(std::string(reinterpret_cast<const char*>(r.video.data) + 4, 4) == "ftyp");
  CHECK(r.timings.total_sec >= r.timings.sampling_sec);
  CHECK(r.cost_usd == 0.0);
}

}  // namespace

TEST_CASE("a 0.1.0 caller initialises its structs with init_sized and runs a demo job") {
  Guarded<talkgen_client_options> options;
  REQUIRE(talkgen_client_options_init_sized(&options.value, sizeof(options.value)) == TALKGEN_OK);
  CHECK(options.value.struct_size == 136);
  CHECK(options.next_untouched());  // exactly the caller's 136 bytes, not today's larger struct
  CHECK(options.value.model == nullptr);
  CHECK(options.value.cpu_ranks == 1);
  CHECK(options.value.max_attempts == 3);
  CHECK(options.value.calibration_directory == nullptr);
  options.value.model = "demo";
  options.value.device = "cpu";
  options.value.max_attempts = 1;
  talkgen_client* client = nullptr;
  const talkgen_status created = talkgen_client_create(&options.value, &client);
  INFO(talkgen_last_error());
  REQUIRE(created == TALKGEN_OK);

  Guarded<talkgen_job_params> params;
  REQUIRE(talkgen_job_params_init_sized(&params.value, sizeof(params.value)) == TALKGEN_OK);
  CHECK(params.value.struct_size == 248);
  CHECK(params.next_untouched());
  CHECK(params.value.seed == 42);
  CHECK(params.value.crf == 17);
  CHECK(params.value.color_correction == 1.0);
  CHECK(params.value.quality == nullptr);
  CHECK_FALSE(params.value.use_nvenc);

  talkgen_result* result = run_tiny_job(client, params.value, "abi-0-1-init-sized");
  check_result(*result, "abi-0-1-init-sized");
  CHECK(params.next_untouched());  // the library read no further than struct_size either
  talkgen_result_free(result);
  talkgen_client_free(client);

  // A size below even 0.1.0's is no struct of any release.
  CHECK(talkgen_job_params_init_sized(&params.value, 240) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_client_options_init_sized(&options.value, 128) == TALKGEN_INVALID_ARGUMENT);
}

TEST_CASE("the 0.1 *_default symbols return the 0.1.0 structs, which run a demo job") {
  const talkgen_encode_params encode = talkgen_encode_params_default();
  CHECK(encode.struct_size == 72);
  CHECK(encode.fps == 25.0);
  CHECK(encode.crf == 17);
  CHECK(encode.image_path == nullptr);
  CHECK(encode.preset == nullptr);

  talkgen_client_options options = talkgen_client_options_default();
  CHECK(options.struct_size == 136);
  CHECK(options.model == nullptr);
  CHECK(options.device == nullptr);
  CHECK(options.cpu_ranks == 1);
  CHECK(options.max_attempts == 3);
  CHECK(options.retry_base_delay_sec == Approx(0.5));
  CHECK(options.retry_max_delay_sec == Approx(30.0));
  CHECK(options.collective_timeout_sec == Approx(300.0));
  CHECK(options.job_timeout_sec == 0.0);
  CHECK(options.calibration_directory == nullptr);

  talkgen_job_params params = talkgen_job_params_default();
  CHECK(params.struct_size == 248);
  CHECK(params.seed == 42);
  CHECK(params.crf == 17);
  CHECK(params.color_correction == 1.0);
  CHECK(params.quality == nullptr);
  CHECK(params.output_path == nullptr);

  options.model = "demo";
  options.device = "cpu";
  options.max_attempts = 1;
  talkgen_client* client = nullptr;
  const talkgen_status created = talkgen_client_create(&options, &client);
  INFO(talkgen_last_error());
  REQUIRE(created == TALKGEN_OK);
  talkgen_result* result = run_tiny_job(client, params, "abi-0-1-default");
  check_result(*result, "abi-0-1-default");
  talkgen_result_free(result);
  talkgen_client_free(client);
}
