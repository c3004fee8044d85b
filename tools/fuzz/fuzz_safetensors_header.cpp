// libFuzzer: the safetensors header parser on arbitrary file bytes. Only talkgen::Error may come out,
// and whatever parses must honour the parser's promises (entries inside the data, sized, disjoint).
#include <cstddef>
#include <cstdint>

#include "model/io/safetensors_format.hpp"
#include "talkgen/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace talkgen::model::io;
  SafetensorsHeader header;
  try {
    header = parse_safetensors_header(data, size, "fuzz.safetensors");
  } catch (const talkgen::Error&) {
    return 0;  // a typed rejection is the expected outcome for most inputs
  }
  if (header.data_start > size) __builtin_trap();
  const uint64_t data_size = size - header.data_start;
  uint64_t previous_end = 0;
  for (const SafetensorsEntry& e : header.entries) {
    uint64_t numel = 1;
    for (int64_t d : e.shape) {
      if (d < 0) __builtin_trap();
      numel *= static_cast<uint64_t>(d);
    }
    if (e.begin > e.end || e.end > data_size) __builtin_trap();
    if (numel * c10::elementSize(e.dtype) != e.end - e.begin) __builtin_trap();
    if (e.begin != e.end) {
      if (e.begin < previous_end) __builtin_trap();
      previous_end = e.end;
    }
    // Touch the bytes the reader would copy: ASan reports any read outside the input.
    volatile uint8_t sink = 0;
    if (e.end > e.begin) sink = data[header.data_start + e.end - 1] ^ data[header.data_start + e.begin];
    (void)sink;
  }
  return 0;
}
