// Helpers shared by the model_io tests: writing safetensors from C++ and checking typed errors.
//
// Include this before <catch2/catch.hpp>: Debian's libtorch pulls in glog, whose one-argument CHECK macro
// would otherwise replace Catch's. Here ATen comes first, glog's CHECK is dropped, then Catch defines its own.
#pragma once

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "talkgen/error.hpp"

#include "support/catch_torch.hpp"
#include "support/error_capture.hpp"
#include "support/scratch.hpp"

namespace model_io_test {

inline std::string data_path(const std::string& name) {
  return std::string(TALKGEN_TEST_DATA_DIR) + "/model_io/" + name;
}
inline std::string scratch_path(const std::string& name) { return talkgen_test::scratch_path("model_io_" + name); }

/// The fixtures' value formula (make_fixtures.py: ramp): arange(numel) / scale in float64, cast to dtype.
inline at::Tensor ramp(std::vector<int64_t> shape, at::ScalarType dtype = at::kFloat, double scale = 8.0) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  at::Tensor t = at::arange(n, at::kDouble).reshape(shape);
  if (at::isFloatingType(dtype)) t = t / scale;
  return t.to(dtype);
}

inline bool same(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() && at::equal(a, b);
}

inline std::string safetensors_dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kDouble: return "F64";
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    case at::kShort: return "I16";
    case at::kChar: return "I8";
    case at::kByte: return "U8";
    case at::kBool: return "BOOL";
    default: throw std::logic_error("no safetensors name");
  }
}

/// The bytes of a safetensors file: length prefix + `header` JSON text + `data`.
inline std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

/// Serialises named tensors as a valid safetensors file (contiguous, in the given order).
inline std::string safetensors_of(const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, t0] : tensors) {
    const at::Tensor t = t0.contiguous();
    const size_t begin = data.size();
    data.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
    header[name] = {{"dtype", safetensors_dtype_name(t.scalar_type())},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {begin, data.size()}}};
  }
  return safetensors_bytes(header.dump(), data);
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

using talkgen_test::require_error;

}  // namespace model_io_test
