// A .safetensors file whose float8 tensors are read as raw bytes, whatever the libtorch version.
//
// The shared safetensors reader (safetensors_source.hpp) maps "F8_E4M3" to at::kFloat8_e4m3fn, which
// libtorch 1.13 lacks: there it refuses the whole file at open. Quantized checkpoints (quanto's
// `weight._data`, LightX2V's fp8 `weight`) are mostly float8, so this reader presents every "F8_E4M3" /
// "F8_E5M2" tensor as at::kByte (same size, bytes unchanged) and remembers which ones they were. All other
// validation (offsets, sizes, overlaps, other dtypes) is the shared format layer's.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "model/io/mapped_file.hpp"
#include "model/io/safetensors_format.hpp"
#include "model/io/tensor_source.hpp"

namespace talkgen::model::io {

/// What a tensor holds as the file declares it, where that differs from its at::ScalarType here.
enum class Float8Kind { none, e4m3fn, e5m2 };

/// A source that holds float8 tensors as bytes says which they are. A TensorSource that wraps such a source
/// (a filter, a counter) implements this too and forwards it, or its float8 tensors read as plain uint8.
class Float8Source {
 public:
  virtual ~Float8Source() = default;
  /// The declared float8 type of `name` (Float8Kind::none for every other tensor and unknown names).
  virtual Float8Kind float8_kind(const std::string& name) const = 0;
};

class QuantSafetensorsFile final : public TensorSource, public Float8Source {
 public:
  /// Reads and validates the header (no tensor data). Throws Error(not_found) for a missing file,
  /// Error(invalid_argument) for a corrupt one, Error(unsupported) for dtypes other than float8 that the
  /// shared reader does not know.
  explicit QuantSafetensorsFile(std::string path);

  /// Float8 tensors are listed and read as at::kByte; float8_kind() tells which they are.
  std::vector<TensorInfo> list() const override;
  bool contains(const std::string& name) const override;
  at::Tensor read(const std::string& name) const override;
  std::string describe() const override { return path_; }

  Float8Kind float8_kind(const std::string& name) const override;

 private:
  std::string path_;
  SafetensorsHeader header_;
  std::unordered_map<std::string, size_t> index_;  // name -> header_.entries position
  std::unordered_map<std::string, Float8Kind> float8_;
  mutable std::shared_mutex mutex_;  // readers share the mapping; mapping it is exclusive
  mutable std::unique_ptr<MappedFile> mapping_;
};

/// The declared float8 type of a listed tensor from any source: at::kFloat8_e4m3fn / kFloat8_e5m2 where
/// libtorch has them, or what a Float8Source (QuantSafetensorsFile) recorded.
Float8Kind float8_kind_of(const TensorSource& source, const TensorInfo& info);

/// The safetensors name of a tensor's declared dtype ("F8_E4M3", "I8", "BF16", ...), for messages.
std::string declared_dtype_name(const TensorSource& source, const TensorInfo& info);

}  // namespace talkgen::model::io
