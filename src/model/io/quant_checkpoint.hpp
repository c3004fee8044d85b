// Quantized checkpoints, loaded unchanged: optimum-quanto files (+ their quantization map) as InfiniteTalk
// publishes them, and LightX2V's per-channel int8 / fp8 files.
//
// quanto (the reference: wan/multitalk.py loads `--quant_dir x.safetensors`, reads the map from the same
// path with "safetensors" replaced by "json", and calls optimum.quanto.requantize(model, state_dict, map)):
//   map  {"blocks.0.self_attn.q": {"weights": "qint8" | "qfloat8_e4m3fn" | "none", "activations": "none"}, ...}
//        (quanto/quantize.py quantization_map: one entry per quantized module, by module name)
//   file per mapped Linear m: m.weight._data, m.weight._scale (quanto/tensor/weights/qbytes.py
//        WeightQBytesTensor.__tensor_flatten__), m.bias, m.input_scale, m.output_scale (scalar ones:
//        quanto/nn/qmodule.py QModuleMixin._save_to_state_dict); every other tensor as in the bf16 files.
// LightX2V (tools/convert/converter.py quantize_model, lightx2v/common/ops/mm/mm_weight.py
//   MMWeightQuantTemplate): per quantized Linear m, m.weight is I8 / F8_E4M3 and m.weight_scale holds the
//   per-channel scales; no map: a Linear is quantized exactly when its weight_scale is there.
//
// Everything is checked from the headers, before any tensor is read: a map naming a module the model has
// no Linear of, a missing _data / _scale / weight_scale, a wrong dtype or shape, quantized tensors the map
// does not list — all reported together as one Error(checkpoint_mismatch) naming the keys. Formats the
// files could hold but talkgen does not run (quanto's 2/4-bit or e5m2 weights, quantized activations) are
// Error(unsupported).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/io/quant_weight.hpp"
#include "model/io/tensor_source.hpp"

namespace talkgen::model::io {

/// A Linear the model has, by its module name (e.g. "blocks.0.self_attn.q"); the weight is [out, in].
struct ExpectedLinear {
  std::string module;
  int64_t out_features = 0;
  int64_t in_features = 0;
};

/// One entry of a quanto quantization map.
struct QuantoModuleConfig {
  std::string weights;      ///< "qint8", "qfloat8_e4m3fn", ..., or "none"
  std::string activations;  ///< "none" for weight-only quantization
};

/// Parses a quanto quantization map (JSON object: module -> {"weights", "activations"}). Throws
/// Error(invalid_argument) naming `file` when it is not such an object.
std::map<std::string, QuantoModuleConfig> parse_quanto_qmap(std::string_view json, const std::string& file);

/// Where one quantized Linear's tensors are (from the headers).
struct QuantizedLinearInfo {
  std::string module;
  QuantFormat format = QuantFormat::quanto_int8;
  std::string data_key;   ///< m.weight._data (quanto) / m.weight (LightX2V)
  std::string scale_key;  ///< m.weight._scale / m.weight_scale
  int64_t out_features = 0, in_features = 0;
  at::ScalarType scale_dtype = at::kFloat;
  std::vector<std::string> unused_keys;  ///< quanto's input_scale / output_scale: ones, unused weight-only
};

class QuantizedCheckpoint {
 public:
  /// A quanto file and its map. `linears` are every Linear of the model that may be quantized.
  static QuantizedCheckpoint from_quanto(std::shared_ptr<const TensorSource> source, std::string_view qmap_json,
                                         const std::string& qmap_file, const std::vector<ExpectedLinear>& linears);
  /// A LightX2V file.
  static QuantizedCheckpoint from_lightx2v(std::shared_ptr<const TensorSource> source,
                                           const std::vector<ExpectedLinear>& linears);
  /// Opens a .safetensors file: quanto when its map (the path with ".safetensors" replaced by ".json")
  /// exists, else LightX2V when it has `*.weight_scale` tensors. A quanto file without its map is
  /// Error(not_found) naming the map; a file with neither layout is Error(invalid_argument).
  static QuantizedCheckpoint open(const std::string& path, const std::vector<ExpectedLinear>& linears);

  /// The quantized Linears, by module name.
  const std::map<std::string, QuantizedLinearInfo>& quantized() const;
  bool is_quantized(const std::string& module) const;
  /// Reads one quantized Linear's data and scale (CPU tensors, as stored). Error(not_found) for a
  /// module that is not quantized.
  QuantizedWeight read(const std::string& module) const;

  /// The checkpoint without the quantized Linears' tensors: what the model's usual loader reads
  /// (biases, norms, embeddings, Linears left unquantized).
  std::shared_ptr<const TensorSource> rest() const;
  /// The checkpoint with each quantized Linear shown as a plain `m.weight` [out, in], dequantised when
  /// read (in the reference's dtype, or `dtype` when given): a bf16-checkpoint look-alike for loaders
  /// that take plain weights (the CPU path and parity tests).
  std::shared_ptr<const TensorSource> dequantized(std::optional<at::ScalarType> dtype = std::nullopt) const;

  struct State;

 private:
  explicit QuantizedCheckpoint(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  std::shared_ptr<const State> state_;
};

}  // namespace talkgen::model::io
