#include "model/io/quant_safetensors_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "model/io/quant_float8.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::io {
namespace {

using nlohmann::json;

// Same depth bound as the shared format layer ({"name": {"shape": [..]}} is depth 3), so hostile nesting
// never builds a large tree here either.
constexpr int kMaxJsonDepth = 4;

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

// Rewrites the header so float8 tensors read as "U8" (itemsize 1, like float8), returning which ones were.
std::string bytes_for_float8(const std::string& text, const std::string& path,
                             std::unordered_map<std::string, Float8Kind>& float8) {
  const json::parser_callback_t limit_depth = [&](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth)
      fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': JSON nested deeper than {} levels", path,
           kMaxJsonDepth);
    return true;
  };
  json root;
  try {
    root = json::parse(text, limit_depth);
  } catch (const json::exception& e) {
    fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': its JSON does not parse ({}); re-download "
         "or re-export the file", path, e.what());
  }
  if (!root.is_object()) return text;  // the format layer reports it
  for (auto& [key, value] : root.items()) {
    if (key == "__metadata__" || !value.is_object() || !value.contains("dtype") || !value["dtype"].is_string())
      continue;
    const std::string& dtype = value["dtype"].get_ref<const std::string&>();
    const Float8Kind kind = dtype == "F8_E4M3" ? Float8Kind::e4m3fn
                            : dtype == "F8_E5M2" ? Float8Kind::e5m2
                                                 : Float8Kind::none;
    if (kind == Float8Kind::none) continue;
    float8.emplace(key, kind);
    value["dtype"] = "U8";
  }
  return float8.empty() ? text : root.dump();
}

}  // namespace

QuantSafetensorsFile::QuantSafetensorsFile(std::string path) : path_(std::move(path)) {
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
  std::string text(n, '\0');
  read_exact(f.fd, text.data(), n, 8, path_);
  header_ = parse_safetensors_json(bytes_for_float8(text, path_, float8_), file_size - 8 - n, path_);
  header_.data_start = 8 + n;
  for (size_t i = 0; i < header_.entries.size(); ++i) index_.emplace(header_.entries[i].name, i);
}

std::vector<TensorInfo> QuantSafetensorsFile::list() const {
  std::vector<TensorInfo> out;
  out.reserve(header_.entries.size());
  for (const SafetensorsEntry& e : header_.entries) out.push_back({e.name, e.dtype, e.shape, path_});
  return out;
}

bool QuantSafetensorsFile::contains(const std::string& name) const { return index_.count(name) != 0; }

Float8Kind QuantSafetensorsFile::float8_kind(const std::string& name) const {
  const auto it = float8_.find(name);
  return it == float8_.end() ? Float8Kind::none : it->second;
}

at::Tensor QuantSafetensorsFile::read(const std::string& name) const {
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
  const uint64_t offset = header_.data_start + e.begin;
  if (offset + nbytes > mapping_->size())
    fail(ErrorCode::invalid_argument, "'{}' is now {} bytes but tensor '{}' ends at byte {}; was the file replaced "
         "while loading?", path_, mapping_->size(), name, offset + nbytes);
  std::memcpy(out.data_ptr(), mapping_->data() + offset, nbytes);
  mapping_->release(offset, nbytes);
  return out;
}

Float8Kind float8_kind_of(const TensorSource& source, const TensorInfo& info) {
#if TALKGEN_TORCH_HAS_FLOAT8
  if (info.dtype == at::kFloat8_e4m3fn) return Float8Kind::e4m3fn;
  if (info.dtype == at::kFloat8_e5m2) return Float8Kind::e5m2;
#endif
  if (const auto* raw = dynamic_cast<const Float8Source*>(&source)) return raw->float8_kind(info.name);
  return Float8Kind::none;
}

std::string declared_dtype_name(const TensorSource& source, const TensorInfo& info) {
  switch (float8_kind_of(source, info)) {
    case Float8Kind::e4m3fn: return "F8_E4M3";
    case Float8Kind::e5m2: return "F8_E5M2";
    case Float8Kind::none: break;
  }
  switch (info.dtype) {
    case at::kDouble: return "F64";
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kLong: return "I64";
    case at::kInt: return "I32";
    case at::kShort: return "I16";
    case at::kChar: return "I8";
    case at::kByte: return "U8";
    case at::kBool: return "BOOL";
    default: return c10::toString(info.dtype);
  }
}

}  // namespace talkgen::model::io
