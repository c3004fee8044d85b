// TensorSource: a checkpoint seen as named tensors that are read only when asked for.
//
// Implementations: safetensors (one file, memory-mapped: safetensors_source.hpp), sharded safetensors
// (*.index.json, one shard mapped at a time), PyTorch zip archives (.pth / pytorch_model.bin:
// torch_archive.hpp). Loading a model asks for one tensor at a time and the pages of a copied tensor
// are released, so host memory stays near the largest tensor, never the whole checkpoint.
// Every method may be called from several threads at once.
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
  /// Reads one tensor into a fresh, contiguous CPU tensor of its stored dtype (never a view of the
  /// mapping: it outlives the source). Throws Error(not_found) for unknown names,
  /// Error(invalid_argument) when the file turns out damaged, Error(checkpoint_mismatch) when a shard
  /// index names a tensor its shard lacks.
  virtual at::Tensor read(const std::string& name) const = 0;
  /// Where the tensors come from, for messages: the path, or "<index path> (7 shards)".
  virtual std::string describe() const = 0;
};

/// Opens a checkpoint by path, choosing the format from its name and content: `*.safetensors`,
/// `*.safetensors.index.json`, a PyTorch zip archive (any name), or a folder holding one index, else one
/// .safetensors, else pytorch_model.bin. Headers are parsed and validated here (tensor data is not read).
/// Throws Error(not_found) for a missing path or shard, Error(invalid_argument) for a damaged file,
/// Error(unsupported) for other formats (the legacy pre-1.6 torch.save included) and unknown dtypes.
std::unique_ptr<TensorSource> open_checkpoint(const std::string& path);

}  // namespace talkgen::model::io
