// The safetensors header parser on hand-made good and corrupt bytes (no files).
#include "model_io_test_util.hpp"  // first: see the note there about CHECK

#include <torch/version.h>

#include "model/io/safetensors_format.hpp"

using namespace talkgen::model::io;
using model_io_test::require_error;
using model_io_test::safetensors_bytes;
using talkgen::ErrorCode;

namespace {

SafetensorsHeader parse(const std::string& bytes) {
  return parse_safetensors_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "x.safetensors");
}

// A header for one F32 tensor "w" of `shape` at [begin, end), over a `data_size`-byte data section.
std::string one_tensor(const std::string& shape, uint64_t begin, uint64_t end, size_t data_size,
                       const std::string& dtype = "F32") {
  const std::string header = R"({"w":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":[)" +
                             std::to_string(begin) + "," + std::to_string(end) + "]}}";
  return safetensors_bytes(header, std::string(data_size, '\0'));
}

}  // namespace

TEST_CASE("a valid header parses to entries in file order with metadata") {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"I64","shape":[0,3],"data_offsets":[12,12]}})";
  const SafetensorsHeader h = parse(safetensors_bytes(header, std::string(12, '\0')));
  REQUIRE(h.entries.size() == 3);
  CHECK(h.entries[0].name == "a");
  CHECK(h.entries[1].name == "b");
  CHECK(h.entries[1].dtype == at::kBFloat16);
  CHECK(h.entries[2].shape == std::vector<int64_t>{0, 3});
  CHECK(h.metadata.at("format") == "pt");
  CHECK(h.data_start == 8 + header.size());
}

TEST_CASE("trailing spaces after the JSON (alignment padding) are accepted") {
  const std::string header = R"({"w":{"dtype":"U8","shape":[3],"data_offsets":[0,3]}})" + std::string(5, ' ');
  CHECK(parse(safetensors_bytes(header, "abc")).entries.size() == 1);
}

TEST_CASE("every dtype name maps to its scalar type") {
  CHECK(safetensors_dtype("F64", "f", "k") == at::kDouble);
  CHECK(safetensors_dtype("F16", "f", "k") == at::kHalf);
  CHECK(safetensors_dtype("I32", "f", "k") == at::kInt);
  CHECK(safetensors_dtype("I16", "f", "k") == at::kShort);
  CHECK(safetensors_dtype("I8", "f", "k") == at::kChar);
  CHECK(safetensors_dtype("BOOL", "f", "k") == at::kBool);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  CHECK(safetensors_dtype("F8_E4M3", "f", "k") == at::kFloat8_e4m3fn);
#else
  require_error([] { safetensors_dtype("F8_E4M3", "f.safetensors", "k"); }, ErrorCode::unsupported,
                {"F8_E4M3", "f.safetensors", "'k'"});
#endif
}

TEST_CASE("corrupt headers throw invalid_argument naming the file and the key") {
  SECTION("shorter than the length prefix") {
    require_error([] { parse("abc"); }, ErrorCode::invalid_argument, {"x.safetensors", "8-byte"});
  }
  SECTION("header length past the end of the file") {
    std::string bytes = safetensors_bytes("{}", "");
    bytes[0] = 100;
    require_error([&] { parse(bytes); }, ErrorCode::invalid_argument, {"truncated", "100"});
  }
  SECTION("huge header length") {
    std::string bytes = safetensors_bytes("{}", "");
    for (int i = 0; i < 8; ++i) bytes[i] = '\xff';
    require_error([&] { parse(bytes); }, ErrorCode::invalid_argument, {"exceeds", "limit"});
  }
  SECTION("bad JSON") {
    require_error([] { parse(safetensors_bytes(R"({"w":{"dtype":)", "")); }, ErrorCode::invalid_argument,
                  {"does not parse", "x.safetensors"});
  }
  SECTION("JSON that is not an object") {
    require_error([] { parse(safetensors_bytes("[1,2]", "")); }, ErrorCode::invalid_argument, {"expected a JSON object"});
  }
  SECTION("deeply nested JSON") {
    const std::string deep = R"({"w":)" + std::string(1000, '[') + std::string(1000, ']') + "}";
    require_error([&] { parse(safetensors_bytes(deep, "")); }, ErrorCode::invalid_argument, {"nested deeper"});
  }
  SECTION("entry without data_offsets") {
    require_error([] { parse(safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1]}})", "1234")); },
                  ErrorCode::invalid_argument, {"'w'", "data_offsets"});
  }
  SECTION("negative dimension") {
    require_error([] { parse(one_tensor("[-1]", 0, 4, 4)); }, ErrorCode::invalid_argument, {"'w'", "-1"});
  }
  SECTION("fractional dimension") {
    require_error([] { parse(one_tensor("[1.5]", 0, 4, 4)); }, ErrorCode::invalid_argument, {"'w'", "1.5"});
  }
  SECTION("offsets past the data section") {
    require_error([] { parse(one_tensor("[2]", 0, 8, 4)); }, ErrorCode::invalid_argument, {"'w'", "outside", "4-byte"});
  }
  SECTION("offsets that overflow 64 bits") {
    require_error([] { parse(one_tensor("[2]", 18446744073709551615ull, 8, 4)); }, ErrorCode::invalid_argument,
                  {"'w'"});
  }
  SECTION("begin after end") {
    require_error([] { parse(one_tensor("[0]", 4, 0, 4)); }, ErrorCode::invalid_argument, {"'w'", "[4, 0]"});
  }
  SECTION("size that disagrees with the shape") {
    require_error([] { parse(one_tensor("[3]", 0, 8, 12)); }, ErrorCode::invalid_argument, {"'w'", "needs 12 bytes"});
  }
  SECTION("shape whose element count overflows") {
    require_error([] { parse(one_tensor("[4294967296,4294967296,4]", 0, 8, 8)); }, ErrorCode::invalid_argument,
                  {"'w'", "overflowing"});
  }
  SECTION("overlapping tensors") {
    const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
    require_error([&] { parse(safetensors_bytes(header, std::string(12, '\0'))); }, ErrorCode::invalid_argument,
                  {"'a'", "'b'", "overlap"});
  }
  SECTION("metadata that is not a string map") {
    require_error([] { parse(safetensors_bytes(R"({"__metadata__":{"n":3}})", "")); }, ErrorCode::invalid_argument,
                  {"__metadata__", "'n'"});
  }
}

TEST_CASE("an unknown dtype is unsupported, not corrupt") {
  require_error([] { parse(one_tensor("[2]", 0, 8, 8, "C64")); }, ErrorCode::unsupported, {"'w'", "C64", "x.safetensors"});
}

TEST_CASE("index JSON is validated") {
  const auto index = [](const std::string& text) { return parse_safetensors_index(text, "m.index.json"); };
  CHECK(index(R"({"metadata":{},"weight_map":{"a":"s1.safetensors","b":"sub/s2.safetensors"}})").size() == 2);
  require_error([&] { index(R"({"weight_map":[]})"); }, ErrorCode::invalid_argument, {"weight_map", "m.index.json"});
  require_error([&] { index(R"({"weight_map":{}})"); }, ErrorCode::invalid_argument, {"empty"});
  require_error([&] { index(R"({"weight_map":{"a":3}})"); }, ErrorCode::invalid_argument, {"'a'"});
  require_error([&] { index(R"({"weight_map":{"a":"../x.safetensors"}})"); }, ErrorCode::invalid_argument,
                {"'a'", "../x.safetensors"});
  require_error([&] { index(R"({"weight_map":{"a":"/etc/passwd"}})"); }, ErrorCode::invalid_argument, {"/etc/passwd"});
  require_error([&] { index("not json"); }, ErrorCode::invalid_argument, {"does not parse"});
}
