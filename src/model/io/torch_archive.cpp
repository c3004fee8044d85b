#include "model/io/torch_archive.hpp"

#include <sys/stat.h>

#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>

#include "talkgen/error.hpp"

namespace talkgen::model::io {

TorchArchive::TorchArchive(std::string path) : path_(std::move(path)) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0)
    fail(ErrorCode::not_found, "checkpoint file '{}' does not exist; check the path", path_);
  try {
    reader_ = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path_);
  } catch (const c10::Error& e) {
    fail(ErrorCode::invalid_argument, "'{}' is not a readable PyTorch zip archive ({}); re-download it or re-save it "
         "with torch.save", path_, e.what_without_backtrace());
  }
  try {
    if (reader_->hasRecord("byteorder")) {
      auto [ptr, n] = reader_->getRecord("byteorder");
      const std::string order(static_cast<const char*>(ptr.get()), n);
      if (order != "little")
        fail(ErrorCode::unsupported, "'{}' was saved on a {}-endian machine; re-save it on a little-endian one",
             path_, order);
    }
    if (!reader_->hasRecord("data.pkl"))
      fail(ErrorCode::invalid_argument, "'{}' is a zip archive without data.pkl, not a torch.save checkpoint", path_);
    auto [pkl, pkl_size] = reader_->getRecord("data.pkl");
    tensors_ = parse_torch_pickle(static_cast<const uint8_t*>(pkl.get()), pkl_size, path_);
  } catch (const c10::Error& e) {
    fail(ErrorCode::invalid_argument, "reading '{}' failed: {}; the archive is damaged, re-download it", path_,
         e.what_without_backtrace());
  }
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].first, i);
}

TorchArchive::~TorchArchive() = default;

std::vector<TensorInfo> TorchArchive::list() const {
  std::vector<TensorInfo> out;
  out.reserve(tensors_.size());
  for (const auto& [name, ref] : tensors_) out.push_back({name, ref.dtype, ref.sizes, path_});
  return out;
}

bool TorchArchive::contains(const std::string& name) const { return index_.count(name) != 0; }

c10::Storage TorchArchive::load_storage(const TorchStorageRef& ref) const {
  const std::string record = "data/" + ref.key;
  at::DataPtr data;
  size_t nbytes = 0;
  try {
    if (!reader_->hasRecord(record))
      fail(ErrorCode::invalid_argument, "torch archive '{}' lacks record '{}' that its data.pkl refers to; the file "
           "is truncated or damaged, re-download it", path_, record);
    std::tie(data, nbytes) = reader_->getRecord(record);
  } catch (const c10::Error& e) {
    fail(ErrorCode::invalid_argument, "reading record '{}' of '{}' failed: {}; re-download the file", record, path_,
         e.what_without_backtrace());
  }
  if (nbytes < ref.nbytes)
    fail(ErrorCode::invalid_argument, "torch archive '{}': record '{}' holds {} bytes but data.pkl declares {}; the "
         "file is damaged, re-download it", path_, record, nbytes, ref.nbytes);
  return c10::Storage(c10::Storage::use_byte_size_t(), static_cast<int64_t>(nbytes), std::move(data), nullptr,
                      false);
}

at::Tensor TorchArchive::read(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end())
    fail(ErrorCode::not_found, "no tensor '{}' in '{}' ({} tensors)", name, path_, tensors_.size());
  const TorchTensorRef& ref = tensors_[it->second].second;

  c10::Storage storage;
  if (ref.storage->uses > 1) {
    // Views of one storage (tied weights, slices of a fused matrix) are usually read one after another:
    // keep the last shared storage instead of extracting it again for each view.
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cached_key_ != ref.storage->key) {
      cached_ = c10::Storage();  // free the previous one before reading the next
      cached_ = load_storage(*ref.storage);
      cached_key_ = ref.storage->key;
    }
    storage = cached_;
  } else {
    storage = load_storage(*ref.storage);
  }
  at::Tensor view = at::empty({0}, at::TensorOptions().dtype(ref.dtype).device(at::kCPU));
  view.set_(storage, ref.offset, ref.sizes, ref.strides);
  const bool owns_whole_storage = ref.storage->uses == 1 && ref.offset == 0 && view.is_contiguous() &&
                                  static_cast<size_t>(view.nbytes()) == storage.nbytes();
  // A view of part of a storage is copied out so the result never pins the whole storage.
  return owns_whole_storage ? view : view.clone(at::MemoryFormat::Contiguous);
}

}  // namespace talkgen::model::io
