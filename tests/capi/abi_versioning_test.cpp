// talkgen.h's versioning rules: the ABI version is the library's version, the *_init macros write exactly
// the caller's struct size, shorter and longer structs are read by their struct_size, out structs are filled
// no further than the caller's.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>

#include "capi_test_client.hpp"
#include "talkgen.h"

namespace {

// A struct followed by bytes the library must not touch (or must zero, for a longer caller's struct).
template <typename T, size_t Extra>
struct Padded {
  Padded() { std::memset(static_cast<void*>(this), 0xAB, sizeof(*this)); }
  T value;
  unsigned char extra[Extra];
  bool extra_all(unsigned char byte) const {
    for (unsigned char b : extra) {
      if (b != byte) return false;
    }
    return true;
  }
};

}  // namespace

TEST_CASE("the ABI version is the library's version and the header's") {
  CHECK(talkgen_abi_version() == TALKGEN_ABI_VERSION);
  CHECK(TALKGEN_ABI_VERSION == ((TALKGEN_ABI_VERSION_MAJOR << 16) | (TALKGEN_ABI_VERSION_MINOR << 8) |
                                TALKGEN_ABI_VERSION_PATCH));
  const uint32_t v = talkgen_abi_version();
  char text[32];
  std::snprintf(text, sizeof(text), "%u.%u.%u", v >> 16, (v >> 8) & 0xFF, v & 0xFF);
  CHECK(std::string(talkgen_version()) == text);
  CHECK(std::string(talkgen_version()) == "0.2.0");
}

TEST_CASE("init writes exactly the caller's size: defaults, struct_size, nothing beyond") {
  Padded<talkgen_job_params, 16> job;
  REQUIRE(talkgen_job_params_init(&job.value) == TALKGEN_OK);
  CHECK(job.value.struct_size == sizeof(talkgen_job_params));
  CHECK(job.value.seed == 42);
  CHECK(job.value.crf == 17);
  CHECK(job.value.quality == nullptr);
  CHECK(job.value.image_path == nullptr);
  CHECK(job.extra_all(0xAB));

  Padded<talkgen_client_options, 16> options;
  REQUIRE(talkgen_client_options_init(&options.value) == TALKGEN_OK);
  CHECK(options.value.struct_size == sizeof(talkgen_client_options));
  CHECK(options.value.max_attempts == 3);
  CHECK(options.extra_all(0xAB));

  Padded<talkgen_encode_params, 16> encode;
  REQUIRE(talkgen_encode_params_init(&encode.value) == TALKGEN_OK);
  CHECK(encode.value.struct_size == sizeof(talkgen_encode_params));
  CHECK(encode.value.fps == 25.0);
  CHECK(encode.extra_all(0xAB));
}

TEST_CASE("init for a newer caller's longer struct zeroes the fields this library does not know") {
  Padded<talkgen_job_params, 24> job;
  REQUIRE(talkgen_job_params_init_sized(&job.value, sizeof(job.value) + 16) == TALKGEN_OK);
  CHECK(job.value.struct_size == sizeof(talkgen_job_params) + 16);
  CHECK(job.value.seed == 42);
  CHECK(job.extra[0] == 0);
  CHECK(job.extra[15] == 0);
  CHECK(job.extra[16] == 0xAB);  // exactly caller_size bytes were written
}

TEST_CASE("init refuses a NULL struct and a size below the first release's") {
  talkgen_job_params job;
  std::memset(&job, 0xAB, sizeof(job));
  CHECK(talkgen_job_params_init_sized(&job, 100) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("sizeof(*p)") != std::string::npos);
  CHECK(job.struct_size != 100);  // nothing written
  CHECK(talkgen_job_params_init_sized(&job, 0) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_job_params_init_sized(nullptr, sizeof(job)) == TALKGEN_INVALID_ARGUMENT);
  talkgen_client_options options;
  CHECK(talkgen_client_options_init_sized(&options, sizeof(size_t)) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_client_options_init_sized(nullptr, sizeof(options)) == TALKGEN_INVALID_ARGUMENT);
  talkgen_encode_params encode;
  CHECK(talkgen_encode_params_init_sized(&encode, sizeof(encode) - 8) == TALKGEN_INVALID_ARGUMENT);
  CHECK(talkgen_encode_params_init_sized(nullptr, sizeof(encode)) == TALKGEN_INVALID_ARGUMENT);
}

TEST_CASE("a newer caller's longer options are read when the unknown fields are zero, refused otherwise") {
  Padded<talkgen_client_options, 16> options;
  REQUIRE(talkgen_client_options_init_sized(&options.value, sizeof(options.value) + 16) == TALKGEN_OK);
  options.value.model = "demo";
  options.value.device = "cpu";
  talkgen_client* client = nullptr;
  REQUIRE(talkgen_client_create(&options.value, &client) == TALKGEN_OK);
  talkgen_client_free(client);

  options.extra[3] = 1;  // a field of a newer talkgen.h, set
  CHECK(talkgen_client_create(&options.value, &client) == TALKGEN_UNSUPPORTED);
  CHECK(client == nullptr);
  const std::string message = talkgen_last_error();
  CHECK(message.find("byte " + std::to_string(sizeof(talkgen_client_options) + 3)) != std::string::npos);
  CHECK(message.find("newer talkgen.h") != std::string::npos);
}

TEST_CASE("an options struct_size below the first release's is refused") {
  talkgen_client_options options;
  REQUIRE(talkgen_client_options_init(&options) == TALKGEN_OK);
  options.model = "demo";
  options.struct_size = 64;
  talkgen_client* client = nullptr;
  CHECK(talkgen_client_create(&options, &client) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("struct_size is 64") != std::string::npos);
  CHECK(client == nullptr);
}

TEST_CASE("out structs are filled up to the caller's struct_size, which then says how much was filled") {
  capi_test::DemoClient demo;
  Padded<talkgen_stats, 16> longer;
  longer.value.struct_size = sizeof(talkgen_stats) + 16;  // a newer caller's
  REQUIRE(talkgen_client_stats(demo.client, &longer.value) == TALKGEN_OK);
  CHECK(longer.value.struct_size == sizeof(talkgen_stats));
  CHECK(longer.value.jobs == 0);
  CHECK(longer.extra_all(0xAB));

  // A shorter (older) one: only its prefix.
  Padded<talkgen_device_pool, 8> pool;
  pool.value.struct_size = offsetof(talkgen_device_pool, devices);
  REQUIRE(talkgen_client_devices(demo.client, &pool.value) == TALKGEN_OK);
  CHECK(pool.value.struct_size == offsetof(talkgen_device_pool, devices));
  CHECK(std::string(pool.value.device_policy) == "cpu");
  unsigned char devices_bytes[sizeof(pool.value.devices)];
  std::memcpy(devices_bytes, &pool.value.devices, sizeof(devices_bytes));
  for (unsigned char b : devices_bytes) CHECK(b == 0xAB);  // beyond its struct_size: untouched
}
