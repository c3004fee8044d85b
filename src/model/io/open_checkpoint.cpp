// open_checkpoint: picks the reader from what the path is (folder, index, safetensors, torch zip).
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "model/io/safetensors_source.hpp"
#include "model/io/tensor_source.hpp"
#include "model/io/torch_archive.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::io {
namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

std::vector<std::string> folder_entries(const std::string& folder) {
  std::vector<std::string> names;
  if (DIR* dir = ::opendir(folder.c_str())) {
    while (const dirent* e = ::readdir(dir)) names.emplace_back(e->d_name);
    ::closedir(dir);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A folder holds one checkpoint: an index, else a single .safetensors, else pytorch_model.bin.
std::string checkpoint_in_folder(const std::string& folder) {
  std::vector<std::string> indexes, safetensors;
  bool has_bin = false;
  for (const std::string& name : folder_entries(folder)) {
    if (ends_with(name, ".safetensors.index.json")) indexes.push_back(name);
    else if (ends_with(name, ".safetensors")) safetensors.push_back(name);
    else if (name == "pytorch_model.bin") has_bin = true;
  }
  const std::string base = ends_with(folder, "/") ? folder : folder + "/";
  const auto ambiguous = [&](const std::vector<std::string>& names) {
    fail(ErrorCode::invalid_argument, "folder '{}' holds {} candidate checkpoints ({}); pass the file to load", folder,
         names.size(), fmt::join(names, ", "));
  };
  if (indexes.size() > 1) ambiguous(indexes);
  if (indexes.size() == 1) return base + indexes[0];
  if (safetensors.size() > 1) ambiguous(safetensors);
  if (safetensors.size() == 1) return base + safetensors[0];
  if (has_bin) return base + "pytorch_model.bin";
  fail(ErrorCode::not_found, "folder '{}' holds no checkpoint (*.safetensors.index.json, *.safetensors or "
       "pytorch_model.bin); check --model-dir", folder);
}

}  // namespace

std::unique_ptr<TensorSource> open_checkpoint(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    fail(ErrorCode::not_found, "checkpoint '{}' does not exist; check the path", path);
  if (S_ISDIR(st.st_mode)) return open_checkpoint(checkpoint_in_folder(path));
  if (ends_with(path, ".json")) return std::make_unique<ShardedSafetensors>(path);
  if (ends_with(path, ".safetensors")) return std::make_unique<SafetensorsFile>(path);

  // Other names: decide by content.
  unsigned char magic[8] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(magic), sizeof magic);
  const std::streamsize got = in.gcount();
  if (got >= 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0) return std::make_unique<TorchArchive>(path);
  if (got >= 2 && magic[0] == 0x80 && magic[1] <= 5)
    fail(ErrorCode::unsupported, "'{}' uses the legacy torch.save format (PyTorch < 1.6); re-save it with "
         "torch.save in PyTorch >= 1.6 or convert it to safetensors", path);
  if (got == 8) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | magic[i];
    if (n >= 2 && n <= static_cast<uint64_t>(st.st_size) - 8) {
      char first = 0;
      in.read(&first, 1);
      if (first == '{') return std::make_unique<SafetensorsFile>(path);
    }
  }
  fail(ErrorCode::unsupported, "'{}' is neither safetensors, a safetensors index nor a PyTorch zip archive; "
       "talkgen loads *.safetensors, *.safetensors.index.json, .pth and pytorch_model.bin", path);
}

}  // namespace talkgen::model::io
