// The safetensors file format, parsed from bytes (no files, so the fuzzers can drive it directly).
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON, then the data section. The JSON maps
// each tensor name to {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]} (offsets relative to
// the data section) plus an optional "__metadata__" map of strings. A sharded checkpoint adds an
// `*.safetensors.index.json` whose "weight_map" maps each tensor name to its shard file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <c10/core/ScalarType.h>

namespace talkgen::model::io {

/// Largest JSON header accepted (the reference implementation's limit too).
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

struct SafetensorsEntry {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the start of the data section
  uint64_t end = 0;
};

struct SafetensorsHeader {
  uint64_t data_start = 0;                // byte offset of the data section in the file
  std::vector<SafetensorsEntry> entries;  // sorted by data offset, i.e. file order
  std::map<std::string, std::string> metadata;
};

/// Validates the 8-byte length prefix against the file size; returns N (the JSON length).
/// Throws Error(invalid_argument) naming `file` when the file is too short or N is out of range.
uint64_t parse_safetensors_length(const uint8_t* prefix8, uint64_t file_size, const std::string& file);

/// Parses and validates the JSON header against a data section of `data_size` bytes. Every entry is
/// checked: known dtype (else Error(unsupported)), non-negative shape, offsets inside the data section
/// whose length equals numel * itemsize, no two tensors overlapping (else Error(invalid_argument)).
SafetensorsHeader parse_safetensors_json(std::string_view json, uint64_t data_size, const std::string& file);

/// Both of the above over a whole file held in memory (`size` = file size).
SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size, const std::string& file);

/// Parses a `*.safetensors.index.json`: tensor name -> shard file name (relative to the index's folder).
/// Shard names must be relative paths without ".." (an index never points outside its folder).
std::map<std::string, std::string> parse_safetensors_index(std::string_view json, const std::string& file);

/// "BF16" -> at::kBFloat16. Throws Error(unsupported) for names this build cannot hold.
at::ScalarType safetensors_dtype(std::string_view name, const std::string& file, const std::string& key);

}  // namespace talkgen::model::io
