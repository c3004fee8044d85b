// TensorSource: a checkpoint seen as named tensors that are read only when asked for.
//
// Implementations: safetensors (one file, memory-mapped), sharded safetensors (*.index.json),
// PyTorch zip archives (.pth / pytorch_model.bin). Loading a model asks for one tensor at a time, so
// host memory stays near the largest tensor (or the one mapped shard), never the whole checkpoint.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace talkgen::model::io {

struct TensorInfo {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  std::string file;  // the file that holds it (for error messages)
};

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  /// Every tensor name, in file order.
  virtual std::vector<TensorInfo> list() const = 0;
  virtual bool contains(const std::string& name) const = 0;
  /// Reads one tensor into a fresh CPU tensor of its stored dtype (never a view of the mapping that
  /// outlives the source). Throws Error(not_found) for unknown names.
  virtual at::Tensor read(const std::string& name) const = 0;
  /// A human-readable description of where the tensors come from (a path, or "a.safetensors + 6 more").
  virtual std::string describe() const = 0;
};

/// Opens a checkpoint by path, choosing the format from its content and name:
/// `*.safetensors`, `*.safetensors.index.json`, a folder with one of those, or a PyTorch zip archive.
std::unique_ptr<TensorSource> open_checkpoint(const std::string& path);

}  // namespace talkgen::model::io
