#include "model/io/quant_float8.hpp"

#include <cmath>
#include <limits>

#include <ATen/Parallel.h>

#include "talkgen/error.hpp"

namespace talkgen::model::io {
namespace {

std::array<float, 256> build_e4m3fn_table() {
  std::array<float, 256> table{};
  for (int byte = 0; byte < 256; ++byte) {
    const int exponent = (byte >> 3) & 0xF;
    const int mantissa = byte & 0x7;
    float magnitude;
    if (exponent == 0xF && mantissa == 0x7) {
      magnitude = std::numeric_limits<float>::quiet_NaN();  // the only NaN encoding; there is no infinity
    } else if (exponent == 0) {
      magnitude = std::ldexp(static_cast<float>(mantissa), -9);  // subnormal: m/8 * 2^(1-7)
    } else {
      magnitude = std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
    }
    table[byte] = (byte & 0x80) ? -magnitude : magnitude;
  }
  return table;
}

}  // namespace

const std::array<float, 256>& e4m3fn_table() {
  static const std::array<float, 256> table = build_e4m3fn_table();
  return table;
}

at::Tensor decode_e4m3fn(const at::Tensor& bytes_in) {
  at::Tensor bytes = bytes_in;
#if TALKGEN_TORCH_HAS_FLOAT8
  if (bytes.scalar_type() == at::kFloat8_e4m3fn) return bytes.to(at::kFloat);  // native, any device
#endif
  if (bytes.scalar_type() != at::kByte)
    fail(ErrorCode::invalid_argument, "decode_e4m3fn needs e4m3fn bytes as uint8, got dtype {}",
         c10::toString(bytes.scalar_type()));
#if TALKGEN_TORCH_HAS_FLOAT8
  return as_float8_e4m3fn(bytes).to(at::kFloat);
#else
  bytes = bytes.contiguous();
  if (bytes.device().is_cpu()) {
    // A table lookup per byte, in parallel: no int64 index tensor eight times the weight's size.
    at::Tensor out = at::empty(bytes.sizes(), bytes.options().dtype(at::kFloat));
    const uint8_t* src = bytes.data_ptr<uint8_t>();
    float* dst = out.data_ptr<float>();
    const std::array<float, 256>& table = e4m3fn_table();
    at::parallel_for(0, bytes.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) dst[i] = table[src[i]];
    });
    return out;
  }
  // Other devices on an old torch: the table on that device, gathered by byte value.
  const std::array<float, 256>& table = e4m3fn_table();
  const at::Tensor lut = at::tensor(at::ArrayRef<float>(table.data(), table.size())).to(bytes.device());
  return at::take(lut, bytes.to(at::kLong)).view(bytes.sizes());
#endif
}

#if TALKGEN_TORCH_HAS_FLOAT8
at::Tensor as_float8_e4m3fn(const at::Tensor& bytes) {
  if (bytes.scalar_type() == at::kFloat8_e4m3fn) return bytes;
  if (bytes.scalar_type() != at::kByte)
    fail(ErrorCode::invalid_argument, "as_float8_e4m3fn needs e4m3fn bytes as uint8, got dtype {}",
         c10::toString(bytes.scalar_type()));
  return bytes.view(at::kFloat8_e4m3fn);
}
#endif

}  // namespace talkgen::model::io
