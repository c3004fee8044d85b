// The C ABI: only talkgen_* symbols exported, params defaults and struct_size, errors through last_error.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "talkgen.h"

namespace {

std::string run_command(const std::string& command) {
  std::array<char, 4096> chunk{};
  std::string output;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  REQUIRE(pipe);
  while (fgets(chunk.data(), chunk.size(), pipe.get())) output += chunk.data();
  return output;
}

}  // namespace

TEST_CASE("libtalkgen_c exports only talkgen_* symbols") {
  const std::string library = TALKGEN_C_LIBRARY;
  REQUIRE(std::filesystem::exists(library));
  const std::string symbols = run_command("nm -D --defined-only --format=posix '" + library + "' | cut -d' ' -f1");
  REQUIRE_FALSE(symbols.empty());
  size_t exported = 0;
  size_t start = 0;
  while (start < symbols.size()) {
    const size_t end = symbols.find('\n', start);
    const std::string name = symbols.substr(start, end - start);
    start = end == std::string::npos ? symbols.size() : end + 1;
    if (name.empty()) continue;
    INFO("exported symbol: " << name);
    CHECK(name.rfind("talkgen_", 0) == 0);
    ++exported;
  }
  CHECK(exported >= 8);
}

TEST_CASE("params defaults carry their struct size and documented values") {
  talkgen_encode_params p;
  REQUIRE(talkgen_encode_params_init(&p) == TALKGEN_OK);
  CHECK(p.struct_size == sizeof(talkgen_encode_params));
  CHECK(p.fps == 25.0);
  CHECK(p.crf == 17);
  CHECK(p.image_path == nullptr);
}

TEST_CASE("failures return a status and keep the message for talkgen_last_error") {
  talkgen_encode_params p;
  REQUIRE(talkgen_encode_params_init(&p) == TALKGEN_OK);
  p.image_path = "/nonexistent/face.png";
  p.audio_path = "/nonexistent/speech.wav";
  const std::string out = std::string(TALKGEN_TEST_SCRATCH_DIR) + "/capi_never_written.mp4";
  CHECK(talkgen_encode_to_file(&p, out.c_str()) == TALKGEN_NOT_FOUND);
  CHECK(std::string(talkgen_last_error()).find("face.png") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK(std::string(talkgen_status_name(TALKGEN_NOT_FOUND)) == "not_found");

  p.struct_size = 0;
  CHECK(talkgen_encode_to_file(&p, out.c_str()) == TALKGEN_INVALID_ARGUMENT);
  CHECK(std::string(talkgen_last_error()).find("struct_size") != std::string::npos);
  CHECK(talkgen_encode_to_file(nullptr, out.c_str()) == TALKGEN_INVALID_ARGUMENT);
}

TEST_CASE("encode to a library-owned buffer and free it") {
  talkgen_encode_params p;
  REQUIRE(talkgen_encode_params_init(&p) == TALKGEN_OK);
  const std::string image = std::string(TALKGEN_SOURCE_DIR) + "/examples/portrait.png";
  p.image_path = image.c_str();
  p.text = "Hi.";
  talkgen_buffer buffer{};
  REQUIRE(talkgen_encode_to_buffer(&p, &buffer) == TALKGEN_OK);
  REQUIRE(buffer.size > 1000);
  CHECK(std::string(reinterpret_cast<const char*>(buffer.data) + 4, 4) == "ftyp");
  talkgen_buffer_free(&buffer);
  CHECK(buffer.data == nullptr);
  CHECK(buffer.size == 0);
  talkgen_buffer_free(&buffer);  // freeing twice is harmless
}
