#include "model/io/safetensors_source.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::model::io {
namespace {

// Reads exactly `n` bytes at `offset` (pread loops: one call may return less).
void read_exact(int fd, void* buf, size_t n, uint64_t offset, const std::string& path) {
  auto* p = static_cast<uint8_t*>(buf);
  while (n > 0) {
    const ssize_t got = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      fail(ErrorCode::io_error, "reading '{}' at byte {} failed: {}", path, offset,
           got == 0 ? "unexpected end of file" : std::strerror(errno));
    p += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
}

struct Fd {
  int fd;
  ~Fd() { ::close(fd); }
};

std::string folder_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

}  // namespace

// ---------------------------------------------------------------------------------------------- one file

SafetensorsFile::SafetensorsFile(std::string path) : path_(std::move(path)) {
  Fd f{::open(path_.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    const int err = errno;
    fail(err == ENOENT ? ErrorCode::not_found : ErrorCode::io_error, "cannot open safetensors file '{}': {}", path_,
         std::strerror(err));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
    fail(ErrorCode::invalid_argument, "'{}' is not a regular file; pass a .safetensors file", path_);
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  uint8_t prefix[8] = {};
  if (file_size >= 8) read_exact(f.fd, prefix, 8, 0, path_);
  const uint64_t n = parse_safetensors_length(prefix, file_size, path_);
  std::string json(n, '\0');
  read_exact(f.fd, json.data(), n, 8, path_);
  header_ = parse_safetensors_json(json, file_size - 8 - n, path_);
  header_.data_start = 8 + n;
  for (size_t i = 0; i < header_.entries.size(); ++i) index_.emplace(header_.entries[i].name, i);
}

std::vector<TensorInfo> SafetensorsFile::list() const {
  std::vector<TensorInfo> out;
  out.reserve(header_.entries.size());
  for (const SafetensorsEntry& e : header_.entries) out.push_back({e.name, e.dtype, e.shape, path_});
  return out;
}

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) != 0; }

at::Tensor SafetensorsFile::read(const std::string& name) const {
  const auto it = index_.find(name);
  if (it == index_.end())
    fail(ErrorCode::not_found, "no tensor '{}' in '{}' ({} tensors)", name, path_, header_.entries.size());
  const SafetensorsEntry& e = header_.entries[it->second];
  at::Tensor out = at::empty(e.shape, at::TensorOptions().dtype(e.dtype).device(at::kCPU));
  const size_t nbytes = e.end - e.begin;
  if (nbytes == 0) return out;

  std::shared_lock<std::shared_mutex> lock(mutex_);
  while (!mapping_) {  // map on first use, upgrading to an exclusive lock
    lock.unlock();
    {
      std::unique_lock<std::shared_mutex> exclusive(mutex_);
      if (!mapping_) mapping_ = std::make_unique<MappedFile>(path_);
    }
    lock.lock();
  }
  // The file may have shrunk since the header was read; never read past the mapping.
  const uint64_t offset = header_.data_start + e.begin;
  if (offset + nbytes > mapping_->size())
    fail(ErrorCode::invalid_argument, "'{}' is now {} bytes but tensor '{}' ends at byte {}; was the file replaced "
         "while loading?", path_, mapping_->size(), name, offset + nbytes);
  std::memcpy(out.data_ptr(), mapping_->data() + offset, nbytes);
  mapping_->release(offset, nbytes);
  return out;
}

void SafetensorsFile::unmap() const {
  std::unique_lock<std::shared_mutex> exclusive(mutex_);
  mapping_.reset();
}

// ------------------------------------------------------------------------------------------------ shards

ShardedSafetensors::ShardedSafetensors(std::string index_path) : index_path_(std::move(index_path)) {
  std::ifstream in(index_path_, std::ios::binary);
  if (!in) {
    struct stat st {};
    fail(::stat(index_path_.c_str(), &st) != 0 ? ErrorCode::not_found : ErrorCode::io_error,
         "cannot open safetensors index '{}'; check the path", index_path_);
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::map<std::string, std::string> names = parse_safetensors_index(text.str(), index_path_);

  std::map<std::string, size_t> shard_of_file;
  const std::string folder = folder_of(index_path_);
  for (const auto& [key, file] : names) {
    auto [it, added] = shard_of_file.emplace(file, shard_paths_.size());
    if (added) {
      const std::string path = folder + file;
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0)
        fail(ErrorCode::not_found, "safetensors index '{}' names shard '{}' (for '{}' and others) but '{}' does not "
             "exist; download every shard into the same folder", index_path_, file, key, path);
      shard_paths_.push_back(path);
    }
    weight_map_.emplace(key, it->second);
  }
  shards_.resize(shard_paths_.size());
}

const SafetensorsFile& ShardedSafetensors::shard(size_t i) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!shards_[i]) shards_[i] = std::make_unique<SafetensorsFile>(shard_paths_[i]);
  return *shards_[i];
}

void ShardedSafetensors::check_in_shard(const std::string& name, size_t i) const {
  if (!shard(i).contains(name))
    fail(ErrorCode::checkpoint_mismatch, "safetensors index '{}' says tensor '{}' is in '{}', but that shard does "
         "not hold it; the index and shards come from different versions, re-download them together", index_path_,
         name, shard_paths_[i]);
}

std::vector<TensorInfo> ShardedSafetensors::list() const {
  // Shards in index order, each shard's tensors in file order (the order a reader streams them best).
  std::vector<TensorInfo> out;
  out.reserve(weight_map_.size());
  for (size_t i = 0; i < shard_paths_.size(); ++i) {
    for (TensorInfo& info : shard(i).list()) {
      const auto it = weight_map_.find(info.name);
      if (it == weight_map_.end() || it->second != i) {
        log_debug("'{}' holds '{}' which its index does not name; ignored", shard_paths_[i], info.name);
        continue;
      }
      out.push_back(std::move(info));
    }
  }
  if (out.size() != weight_map_.size()) {  // some indexed key is absent from its shard: name it
    for (const auto& [name, i] : weight_map_) check_in_shard(name, i);
  }
  return out;
}

bool ShardedSafetensors::contains(const std::string& name) const { return weight_map_.count(name) != 0; }

at::Tensor ShardedSafetensors::read(const std::string& name) const {
  const auto it = weight_map_.find(name);
  if (it == weight_map_.end())
    fail(ErrorCode::not_found, "no tensor '{}' in sharded checkpoint '{}' ({} tensors)", name, index_path_,
         weight_map_.size());
  const size_t i = it->second;
  check_in_shard(name, i);
  {
    // Moving to another shard: unmap the previous one so address space and page references stay at one shard.
    std::lock_guard<std::mutex> lock(mutex_);
    if (last_read_shard_ != i && last_read_shard_ < shards_.size() && shards_[last_read_shard_])
      shards_[last_read_shard_]->unmap();
    last_read_shard_ = i;
  }
  return shard(i).read(name);
}

std::string ShardedSafetensors::describe() const {
  return fmt::format("{} ({} shard{})", index_path_, shard_paths_.size(), shard_paths_.size() == 1 ? "" : "s");
}

}  // namespace talkgen::model::io
