// float8 e4m3fn decoding and the float8-tolerant safetensors reader (src/model/io/quant_float8.hpp,
// quant_safetensors_file.hpp).
#include "model_io_test_util.hpp"

#include <array>
#include <cmath>

#include "model/io/quant_float8.hpp"
#include "model/io/quant_safetensors_file.hpp"

using namespace talkgen::model::io;
using model_io_test::require_error;
using model_io_test::safetensors_bytes;
using model_io_test::scratch_path;
using model_io_test::write_file;
using talkgen::ErrorCode;

namespace {

std::string quant_data(const std::string& name) { return std::string(TALKGEN_TEST_DATA_DIR) + "/parity/quant/" + name; }

struct RawTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

// A safetensors file with explicit dtype strings (the shared test helper knows no float8 name).
std::string file_with(const std::vector<RawTensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const RawTensor& t : tensors) {
    const size_t begin = data.size();
    data += t.bytes;
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  return safetensors_bytes(header.dump(), data);
}

}  // namespace

TEST_CASE("e4m3fn table follows the format definition", "[quant]") {
  CHECK(e4m3fn_to_float(0x00) == 0.0f);
  CHECK(std::signbit(e4m3fn_to_float(0x80)));
  CHECK(e4m3fn_to_float(0x01) == std::ldexp(1.0f, -9));  // smallest subnormal
  CHECK(e4m3fn_to_float(0x07) == 7 * std::ldexp(1.0f, -9));
  CHECK(e4m3fn_to_float(0x08) == std::ldexp(1.0f, -6));  // smallest normal
  CHECK(e4m3fn_to_float(0x38) == 1.0f);                  // exponent 7 = bias
  CHECK(e4m3fn_to_float(0x3C) == 1.5f);
  CHECK(e4m3fn_to_float(0x78) == 256.0f);  // exponent 15 is finite (no infinities in e4m3fn)
  CHECK(e4m3fn_to_float(0x7E) == kE4m3fnMax);
  CHECK(e4m3fn_to_float(0xFE) == -kE4m3fnMax);
  CHECK(std::isnan(e4m3fn_to_float(0x7F)));
  CHECK(std::isnan(e4m3fn_to_float(0xFF)));
  int nans = 0;
  for (int b = 0; b < 256; ++b) nans += std::isnan(e4m3fn_to_float(static_cast<uint8_t>(b)));
  CHECK(nans == 2);
}

TEST_CASE("e4m3fn table equals the generator's independent decoder on all 256 bytes", "[quant]") {
  QuantSafetensorsFile expected(quant_data("expected.safetensors"));
  const at::Tensor values = expected.read("e4m3fn/values");
  REQUIRE(values.numel() == 256);
  const at::Tensor decoded = decode_e4m3fn(at::arange(256, at::kInt).to(at::kByte));
  REQUIRE(decoded.scalar_type() == at::kFloat);
  for (int b = 0; b < 256; ++b) {
    const float want = values[b].item<float>();
    const float got = decoded[b].item<float>();
    INFO("byte " << b);
    if (std::isnan(want)) {
      CHECK(std::isnan(got));
    } else {
      CHECK(got == want);
      CHECK(std::signbit(got) == std::signbit(want));
    }
  }
}

TEST_CASE("decode_e4m3fn keeps the shape and refuses other dtypes", "[quant]") {
  const at::Tensor bytes = at::tensor({0x38, 0xB8, 0x7E, 0x01, 0x00, 0x3C}, at::kInt).to(at::kByte).reshape({2, 3});
  const at::Tensor values = decode_e4m3fn(bytes);
  CHECK(values.sizes() == at::IntArrayRef{2, 3});
  CHECK(at::equal(values, at::tensor({1.0f, -1.0f, 448.0f, std::ldexp(1.0f, -9), 0.0f, 1.5f}).reshape({2, 3})));
  require_error([&] { decode_e4m3fn(at::zeros({2}, at::kChar)); }, ErrorCode::invalid_argument, {"uint8"});
}

TEST_CASE("QuantSafetensorsFile reads float8 tensors as bytes and validates the rest as usual", "[quant]") {
  const std::string path = scratch_path("quant_f8.safetensors");
  const std::string f8("\x38\xB8\x7E\x01", 4);
  const std::array<float, 2> f32_values{0.5f, -2.0f};
  const std::string f32(reinterpret_cast<const char*>(f32_values.data()), sizeof(f32_values));
  write_file(path, file_with({{"w.weight", "F8_E4M3", {2, 2}, f8},
                              {"w.e5", "F8_E5M2", {2}, std::string("\x3C\x40", 2)},
                              {"w.bias", "F32", {2}, f32}}));
  QuantSafetensorsFile file(path);
  CHECK(file.float8_kind("w.weight") == Float8Kind::e4m3fn);
  CHECK(file.float8_kind("w.e5") == Float8Kind::e5m2);
  CHECK(file.float8_kind("w.bias") == Float8Kind::none);
  CHECK(file.float8_kind("absent") == Float8Kind::none);
  bool listed = false;
  for (const TensorInfo& info : file.list()) {
    if (info.name != "w.weight") continue;
    listed = true;
    CHECK(info.dtype == at::kByte);
    CHECK(info.shape == std::vector<int64_t>{2, 2});
    CHECK(declared_dtype_name(file, info) == "F8_E4M3");
  }
  CHECK(listed);
  const at::Tensor bytes = file.read("w.weight");
  CHECK(bytes.scalar_type() == at::kByte);
  CHECK(at::equal(decode_e4m3fn(bytes), at::tensor({1.0f, -1.0f, 448.0f, std::ldexp(1.0f, -9)}).reshape({2, 2})));
  CHECK(at::equal(file.read("w.bias"), at::tensor({0.5f, -2.0f})));

  // A float8 tensor whose byte count disagrees with its shape is still refused by the format layer.
  write_file(path, file_with({{"w.weight", "F8_E4M3", {2, 3}, f8}}));
  require_error([&] { QuantSafetensorsFile bad(path); }, ErrorCode::invalid_argument, {"w.weight", "needs 6 bytes"});
  // Unknown dtypes keep the shared reader's error.
  write_file(path, file_with({{"w.weight", "F4", {2, 2}, f8}}));
  require_error([&] { QuantSafetensorsFile bad(path); }, ErrorCode::unsupported, {"w.weight", "F4"});
}
