// float8 e4m3fn (safetensors "F8_E4M3", torch.float8_e4m3fn) held as raw bytes.
//
// libtorch 1.13 (the CPU/CI build) has no float8 dtype, so quantized checkpoints keep their fp8 weights as
// uint8 and this file decodes them. The format (OCP 8-bit float, the "fn" variant PyTorch and
// cuBLASLt use): 1 sign bit, 4 exponent bits with bias 7, 3 mantissa bits; exponent 0 is subnormal
// (m * 2^-9); no infinities; only 0x7F / 0xFF are NaN, so 0x7E = 448 is the largest finite value.
// On libtorch >= 2.1 the same bytes can be viewed as at::kFloat8_e4m3fn (what `_scaled_mm` takes).
#pragma once

#include <array>
#include <cstdint>

#include <ATen/ATen.h>
#include <torch/version.h>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define TALKGEN_TORCH_HAS_FLOAT8 1
#else
#define TALKGEN_TORCH_HAS_FLOAT8 0
#endif

namespace talkgen::model::io {

/// The largest finite e4m3fn value (torch.finfo(torch.float8_e4m3fn).max).
constexpr float kE4m3fnMax = 448.0f;

/// The value of each of the 256 bytes, built from the format definition above (NaN for 0x7F / 0xFF).
const std::array<float, 256>& e4m3fn_table();

/// One byte's value.
inline float e4m3fn_to_float(uint8_t byte) { return e4m3fn_table()[byte]; }

/// Decodes a tensor of e4m3fn bytes (dtype uint8, or at::kFloat8_e4m3fn where torch has it) to float32
/// on the same device, exactly (every e4m3fn value is a float32). Throws Error(invalid_argument) for
/// another dtype.
at::Tensor decode_e4m3fn(const at::Tensor& bytes);

#if TALKGEN_TORCH_HAS_FLOAT8
/// The same bytes seen as at::kFloat8_e4m3fn (a view: no copy), for `_scaled_mm` and native casts.
at::Tensor as_float8_e4m3fn(const at::Tensor& bytes);
#endif

}  // namespace talkgen::model::io
