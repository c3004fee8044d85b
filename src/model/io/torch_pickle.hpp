// What torch.save writes into an archive's data.pkl, read as tensor references (no tensor data).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <c10/core/ScalarType.h>

namespace talkgen::model::io {

struct TorchStorageRef {
  std::string key;      // record name under data/
  uint64_t nbytes = 0;  // size the pickle declares (elements x item size of its storage class)
  int uses = 0;         // tensors viewing it (a shared storage is cached while its views are read)
};

struct TorchTensorRef {
  std::shared_ptr<TorchStorageRef> storage;
  /// The tensor's dtype: its typed storage's (torch.BFloat16Storage, _rebuild_tensor_v2), or named
  /// beside an untyped storage (_rebuild_tensor_v3, which PyTorch 2.x writes for dtypes such as float8).
  at::ScalarType dtype = at::kFloat;
  int64_t offset = 0;  // in elements of dtype
  std::vector<int64_t> sizes, strides;
};

/// Interprets a torch.save data.pkl and returns its tensors flattened to dotted names in pickle order.
/// Nested dicts join with '.', lists and tuples use their index. A top-level dict without tensors of its
/// own whose "state_dict" / "model_state_dict" / "model" / "module" entry holds tensors is unwrapped to
/// that entry. Exposed on bytes for the tests and the fuzzer.
std::vector<std::pair<std::string, TorchTensorRef>> parse_torch_pickle(const uint8_t* data, size_t size,
                                                                       const std::string& file);

}  // namespace talkgen::model::io
