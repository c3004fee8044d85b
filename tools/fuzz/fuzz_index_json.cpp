// libFuzzer: the *.safetensors.index.json parser. Only talkgen::Error may come out, and no accepted shard
// name may point outside the index's folder.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/io/safetensors_format.hpp"
#include "talkgen/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace talkgen::model::io;
  try {
    const auto map = parse_safetensors_index(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
    for (const auto& [key, shard] : map) {
      if (shard.empty() || shard[0] == '/') __builtin_trap();
      // No ".." path component anywhere.
      size_t start = 0;
      while (start <= shard.size()) {
        const size_t slash = std::min(shard.find('/', start), shard.size());
        if (shard.compare(start, slash - start, "..") == 0) __builtin_trap();
        start = slash + 1;
      }
    }
  } catch (const talkgen::Error&) {
  }
  return 0;
}
