// TensorSource over a PyTorch zip archive (torch.save since 1.6: .pth, pytorch_model.bin).
//
// data.pkl is interpreted at open (no code runs) to find every tensor's storage record, dtype, offset,
// shape and strides; a tensor's storage record is read from the zip only in read().
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <c10/core/Storage.h>

#include "model/io/tensor_source.hpp"
#include "model/io/torch_pickle.hpp"

namespace caffe2::serialize {
class PyTorchStreamReader;
}

namespace talkgen::model::io {

class TorchArchive final : public TensorSource {
 public:
  /// Throws Error(not_found) for a missing file, Error(invalid_argument) for a damaged archive,
  /// Error(unsupported) for the legacy (pre-1.6) format or tensor kinds other than dense.
  explicit TorchArchive(std::string path);
  ~TorchArchive() override;

  std::vector<TensorInfo> list() const override;
  bool contains(const std::string& name) const override;
  at::Tensor read(const std::string& name) const override;
  std::string describe() const override { return path_; }

 private:
  c10::Storage load_storage(const TorchStorageRef& ref) const;

  std::string path_;
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader_;
  std::vector<std::pair<std::string, TorchTensorRef>> tensors_;
  std::map<std::string, size_t> index_;
  mutable std::mutex cache_mutex_;
  mutable std::string cached_key_;  // the last shared storage read, kept for its other views
  mutable c10::Storage cached_;
};

}  // namespace talkgen::model::io
