// TensorSources over safetensors: one file (memory-mapped) and a sharded checkpoint (*.index.json).
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "model/io/mapped_file.hpp"
#include "model/io/safetensors_format.hpp"
#include "model/io/tensor_source.hpp"

namespace talkgen::model::io {

/// One .safetensors file. The header is read with plain reads at open; the file is mapped on the first
/// read() and each tensor's pages are released after they are copied out, so RSS stays near one tensor.
class SafetensorsFile final : public TensorSource {
 public:
  /// Throws Error(not_found) for a missing file, Error(invalid_argument) for a corrupt header.
  explicit SafetensorsFile(std::string path);

  std::vector<TensorInfo> list() const override;
  bool contains(const std::string& name) const override;
  at::Tensor read(const std::string& name) const override;
  std::string describe() const override { return path_; }

  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  /// Drops the mapping (a sharded source calls this when it moves on to the next shard).
  void unmap() const;

 private:
  std::string path_;
  SafetensorsHeader header_;
  std::unordered_map<std::string, size_t> index_;  // name -> header_.entries position
  mutable std::shared_mutex mutex_;                // readers share the mapping; map/unmap are exclusive
  mutable std::unique_ptr<MappedFile> mapping_;
};

/// A checkpoint split over shards by `*.safetensors.index.json`. Every shard named by the index must
/// exist (checked at open, Error(not_found) naming the index and the shard); shards are parsed on first
/// use and only one is kept mapped at a time.
class ShardedSafetensors final : public TensorSource {
 public:
  explicit ShardedSafetensors(std::string index_path);

  std::vector<TensorInfo> list() const override;
  bool contains(const std::string& name) const override;
  at::Tensor read(const std::string& name) const override;
  std::string describe() const override;

 private:
  const SafetensorsFile& shard(size_t i) const;
  /// The shard's entry for `name`, or Error(checkpoint_mismatch) when the index lied.
  void check_in_shard(const std::string& name, size_t shard) const;

  std::string index_path_;
  std::vector<std::string> shard_paths_;
  std::map<std::string, size_t> weight_map_;  // tensor name -> shard position
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  mutable size_t last_read_shard_ = SIZE_MAX;
};

}  // namespace talkgen::model::io
