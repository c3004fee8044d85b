#include "model/io/quant_weight.hpp"

#include "model/io/quant_float8.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::io {

const char* to_string(QuantFormat format) {
  switch (format) {
    case QuantFormat::quanto_int8: return "quanto_int8";
    case QuantFormat::quanto_fp8_e4m3: return "quanto_fp8_e4m3";
    case QuantFormat::lightx2v_int8: return "lightx2v_int8";
    case QuantFormat::lightx2v_fp8_e4m3: return "lightx2v_fp8_e4m3";
  }
  return "unknown";
}

bool is_float8(QuantFormat format) {
  return format == QuantFormat::quanto_fp8_e4m3 || format == QuantFormat::lightx2v_fp8_e4m3;
}

at::ScalarType QuantizedWeight::reference_dtype() const {
  const bool quanto = format == QuantFormat::quanto_int8 || format == QuantFormat::quanto_fp8_e4m3;
  return quanto ? scale.scalar_type() : at::kFloat;
}

at::Tensor QuantizedWeight::scale_column() const {
  return scale.to(at::kFloat).reshape({scale.numel() == 1 ? 1 : out_features(), 1});
}

at::Tensor QuantizedWeight::dequantize() const {
  const at::Tensor values = is_float8(format) ? decode_e4m3fn(data) : data.to(at::kFloat);
  // float32 product, one rounding to the result dtype: equal to quanto's product in the scale dtype and to
  // LightX2V's float32 product (see quant_weight.hpp). A scalar or [out] scale broadcasts per row.
  const at::Tensor per_row = scale_column().to(values.device());
  return (values * per_row).to(reference_dtype());
}

at::Tensor QuantizedWeight::dequantize(at::ScalarType dtype) const { return dequantize().to(dtype); }

QuantizedWeight QuantizedWeight::to(const at::Device& device, bool non_blocking) const {
  QuantizedWeight out = *this;
  out.data = data.to(device, /*non_blocking=*/non_blocking);
  out.scale = scale.to(device, /*non_blocking=*/non_blocking);
  return out;
}

}  // namespace talkgen::model::io
