#include "model/io/safetensors_format.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <torch/version.h>

#include "talkgen/error.hpp"

namespace talkgen::model::io {
namespace {

using nlohmann::json;

// The deepest well-formed header: {"name": {"shape": [..]}} is depth 3. Deeper input is rejected while
// parsing, so hostile nesting never builds a large tree.
constexpr int kMaxJsonDepth = 4;

json parse_json(std::string_view text, const std::string& file, const char* what) {
  const json::parser_callback_t limit_depth = [&](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth)
      fail(ErrorCode::invalid_argument, "corrupt {} '{}': JSON nested deeper than {} levels", what, file,
           kMaxJsonDepth);
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), limit_depth);
  } catch (const json::exception& e) {
    fail(ErrorCode::invalid_argument, "corrupt {} '{}': its JSON does not parse ({}); re-download or re-export the file",
         what, file, e.what());
  }
}

uint64_t as_unsigned(const json& v, const std::string& file, const std::string& key, const char* field) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': tensor '{}' has {} entry {} (expected a "
       "non-negative integer)", file, key, field, v.dump());
}

}  // namespace

at::ScalarType safetensors_dtype(std::string_view name, const std::string& file, const std::string& key) {
  if (name == "F64") return at::kDouble;
  if (name == "F32") return at::kFloat;
  if (name == "F16") return at::kHalf;
  if (name == "BF16") return at::kBFloat16;
  if (name == "I64") return at::kLong;
  if (name == "I32") return at::kInt;
  if (name == "I16") return at::kShort;
  if (name == "I8") return at::kChar;
  if (name == "U8") return at::kByte;
  if (name == "BOOL") return at::kBool;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  if (name == "F8_E4M3") return at::kFloat8_e4m3fn;
  if (name == "F8_E5M2") return at::kFloat8_e5m2;
#else
  if (name == "F8_E4M3" || name == "F8_E5M2")
    fail(ErrorCode::unsupported, "tensor '{}' in '{}' has dtype {}, which needs libtorch >= 2.1 (this build has {}); "
         "convert the checkpoint to BF16", key, file, name, TORCH_VERSION);
#endif
  fail(ErrorCode::unsupported, "tensor '{}' in '{}' has dtype '{}'; supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 "
       "BOOL F8_E4M3 F8_E5M2; convert the checkpoint", key, file, name);
}

uint64_t parse_safetensors_length(const uint8_t* prefix8, uint64_t file_size, const std::string& file) {
  if (file_size < 8)
    fail(ErrorCode::invalid_argument, "'{}' is not a safetensors file: {} bytes, shorter than the 8-byte header "
         "length; re-download it", file, file_size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | prefix8[i];  // little-endian whatever the host
  if (n > kMaxSafetensorsHeaderBytes)
    fail(ErrorCode::invalid_argument, "corrupt safetensors file '{}': header length {} exceeds the {} byte limit",
         file, n, kMaxSafetensorsHeaderBytes);
  if (n > file_size - 8)
    fail(ErrorCode::invalid_argument, "truncated safetensors file '{}': header says {} bytes of JSON but only {} "
         "follow; re-download it", file, n, file_size - 8);
  if (n < 2)
    fail(ErrorCode::invalid_argument, "corrupt safetensors file '{}': header length {} cannot hold a JSON object",
         file, n);
  return n;
}

SafetensorsHeader parse_safetensors_json(std::string_view text, uint64_t data_size, const std::string& file) {
  const json root = parse_json(text, file, "safetensors header in");
  if (!root.is_object())
    fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': expected a JSON object, found {}", file,
         root.type_name());
  SafetensorsHeader header;
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      if (!value.is_object())
        fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': __metadata__ is a {}, expected an "
             "object of strings", file, value.type_name());
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': __metadata__ entry '{}' is a {}, "
               "expected a string", file, mk, mv.type_name());
        header.metadata.emplace(mk, mv.get<std::string>());
      }
      continue;
    }
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
        !value.contains("data_offsets"))
      fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': tensor '{}' needs an object with dtype, "
           "shape and data_offsets, found {}", file, key, value.dump().substr(0, 200));
    const json& dtype = value["dtype"];
    const json& shape = value["shape"];
    const json& offsets = value["data_offsets"];
    if (!dtype.is_string())
      fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': tensor '{}' has dtype {} (expected a "
           "string such as \"BF16\")", file, key, dtype.dump());
    if (!shape.is_array())
      fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': tensor '{}' has shape {} (expected an "
           "array)", file, key, shape.dump());
    if (!offsets.is_array() || offsets.size() != 2)
      fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': tensor '{}' has data_offsets {} "
           "(expected [begin, end])", file, key, offsets.dump());

    SafetensorsEntry entry;
    entry.name = key;
    entry.dtype = safetensors_dtype(dtype.get_ref<const std::string&>(), file, key);
    uint64_t numel = 1;
    bool numel_overflow = false;
    for (const json& d : shape) {
      const uint64_t dim = as_unsigned(d, file, key, "shape");
      if (dim > static_cast<uint64_t>(INT64_MAX))
        fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': tensor '{}' has dimension {} out of "
             "range", file, key, dim);
      entry.shape.push_back(static_cast<int64_t>(dim));
      numel_overflow |= __builtin_mul_overflow(numel, dim, &numel);
    }
    entry.begin = as_unsigned(offsets[0], file, key, "data_offsets");
    entry.end = as_unsigned(offsets[1], file, key, "data_offsets");
    if (entry.begin > entry.end || entry.end > data_size)
      fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': tensor '{}' has data_offsets [{}, {}] "
           "outside the {}-byte data section; the file is truncated or damaged, re-download it", file, key,
           entry.begin, entry.end, data_size);
    uint64_t nbytes = 0;
    if (numel_overflow || __builtin_mul_overflow(numel, c10::elementSize(entry.dtype), &nbytes) ||
        nbytes != entry.end - entry.begin)
      fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': tensor '{}' of dtype {} and shape {} "
           "needs {} bytes but data_offsets [{}, {}] hold {}", file, key, dtype.get<std::string>(), shape.dump(),
           numel_overflow ? std::string("an overflowing number of") : std::to_string(nbytes), entry.begin,
           entry.end, entry.end - entry.begin);
    header.entries.push_back(std::move(entry));
  }
  std::sort(header.entries.begin(), header.entries.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  // Sorted by begin, two non-empty ranges overlap exactly when one starts before the previous ends.
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry& e : header.entries) {
    if (e.begin == e.end) continue;  // empty tensors own no bytes
    if (previous && e.begin < previous->end)
      fail(ErrorCode::invalid_argument, "corrupt safetensors header in '{}': tensors '{}' [{}, {}) and '{}' [{}, {}) "
           "overlap; the file is damaged, re-export it", file, previous->name, previous->begin, previous->end, e.name,
           e.begin, e.end);
    previous = &e;
  }
  return header;
}

SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size, const std::string& file) {
  if (size < 8) parse_safetensors_length(bytes, size, file);  // throws the "too short" error
  const uint64_t n = parse_safetensors_length(bytes, size, file);
  std::string_view json(reinterpret_cast<const char*>(bytes) + 8, n);
  SafetensorsHeader header = parse_safetensors_json(json, size - 8 - n, file);
  header.data_start = 8 + n;
  return header;
}

std::map<std::string, std::string> parse_safetensors_index(std::string_view text, const std::string& file) {
  const json root = parse_json(text, file, "safetensors index");
  if (!root.is_object() || !root.contains("weight_map") || !root["weight_map"].is_object())
    fail(ErrorCode::invalid_argument, "corrupt safetensors index '{}': expected a JSON object with a \"weight_map\" "
         "object (tensor name -> shard file); re-download it", file);
  std::map<std::string, std::string> map;
  for (const auto& [key, value] : root["weight_map"].items()) {
    if (!value.is_string())
      fail(ErrorCode::invalid_argument, "corrupt safetensors index '{}': weight_map entry '{}' is a {}, expected a "
           "shard file name", file, key, value.type_name());
    const std::string& shard = value.get_ref<const std::string&>();
    const bool escapes = shard.empty() || shard.front() == '/' || shard == ".." ||
                         shard.rfind("../", 0) == 0 || shard.find("/../") != std::string::npos ||
                         (shard.size() >= 3 && shard.compare(shard.size() - 3, 3, "/..") == 0) ||
                         shard.find('\0') != std::string::npos;
    if (escapes)
      fail(ErrorCode::invalid_argument, "safetensors index '{}' maps '{}' to shard '{}', which is not a file name "
           "inside the index's folder", file, key, shard);
    map.emplace(key, shard);
  }
  if (map.empty())
    fail(ErrorCode::invalid_argument, "safetensors index '{}' has an empty weight_map; re-download it", file);
  return map;
}

}  // namespace talkgen::model::io
