// One Linear's weight as a quantized checkpoint stores it: 8-bit data plus one scale per output channel.
//
// Formats (the layouts are read by quant_checkpoint.hpp; tests/data/parity/README.md cites the sources):
//   quanto_int8 / quanto_fp8_e4m3   optimum-quanto's WeightQBytesTensor (qint8 / qfloat8_e4m3fn), as in
//                                   InfiniteTalk's quant_models/*.safetensors: `<m>.weight._data` [out, in]
//                                   (I8 / F8_E4M3) and `<m>.weight._scale` [out, 1] in the dtype of the
//                                   weights it was made from (F32 or BF16 ...); a one-row weight has one
//                                   scalar scale. Dequantised as quanto's QBytesTensor.dequantize: the data
//                                   cast to the scale dtype times the scale, result in the scale dtype.
//   lightx2v_int8 / lightx2v_fp8_e4m3  LightX2V's per-channel symmetric weights (dit_quant_scheme int8-* /
//                                   fp8-*): `<m>.weight` [out, in] (I8 / F8_E4M3) and `<m>.weight_scale`
//                                   [out, 1]; LightX2V casts the scale to float32 at load
//                                   (MMWeightQuantTemplate.scale_force_fp32), so the dequantised weight is
//                                   float32 (FloatQuantizer.dequant).
// Both are w[o, i] = data[o, i] * scale[o]. An 8-bit value (<= 7 significant bits) times a BF16 / F16 scale
// (<= 11) is exact in float32, so one float32 product rounded once to the scale dtype is the correctly
// rounded product the reference's BF16 / F16 multiply gives; with F32 scales both sides compute the same
// single float32 product. Either way the dequantised bits equal the reference's.
#pragma once

#include <cstdint>
#include <string>

#include <ATen/ATen.h>

namespace talkgen::model::io {

enum class QuantFormat { quanto_int8, quanto_fp8_e4m3, lightx2v_int8, lightx2v_fp8_e4m3 };

/// "quanto_int8", ... (for messages and logs).
const char* to_string(QuantFormat format);
/// Whether the data are e4m3fn bytes (else int8).
bool is_float8(QuantFormat format);

struct QuantizedWeight {
  QuantFormat format = QuantFormat::quanto_int8;
  /// [out, in]: int8 values (at::kChar) or e4m3fn bytes (at::kByte; as_float8_e4m3fn() views them as
  /// float8 where libtorch has it).
  at::Tensor data;
  /// Per output channel, as stored: [out, 1] (quanto may store a one-row weight's scale as a scalar;
  /// LightX2V files may store [out]). Floating point.
  at::Tensor scale;

  int64_t out_features() const { return data.size(0); }
  int64_t in_features() const { return data.size(1); }

  /// The dtype the reference dequantises to: the scale's dtype for quanto, float32 for LightX2V.
  at::ScalarType reference_dtype() const;
  /// The scales as a float32 column [out, 1] (what `_scaled_mm` wants as the weight scale, transposed).
  at::Tensor scale_column() const;
  /// The dequantised weight [out, in] in reference_dtype(), bit for bit what the reference computes, on
  /// the data's device.
  at::Tensor dequantize() const;
  /// dequantize(), then rounded once to `dtype` (e.g. the DiT's bf16).
  at::Tensor dequantize(at::ScalarType dtype) const;
  /// Both tensors moved to `device` (non_blocking where the source is pinned).
  QuantizedWeight to(const at::Device& device, bool non_blocking = false) const;
};

}  // namespace talkgen::model::io
