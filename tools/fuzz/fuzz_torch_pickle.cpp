// libFuzzer: the data.pkl interpreter of PyTorch archives (pickle VM + torch tensor rebuilding). Only
// talkgen::Error may come out; every tensor it accepts must lie inside its storage.
#include <cstddef>
#include <cstdint>

#include "model/io/torch_pickle.hpp"
#include "talkgen/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace talkgen::model::io;
  try {
    for (const auto& [name, t] : parse_torch_pickle(data, size, "fuzz.pth")) {
      if (!t.storage || t.offset < 0 || t.sizes.size() != t.strides.size()) __builtin_trap();
      bool empty = false;
      __int128 last = t.offset;
      for (size_t d = 0; d < t.sizes.size(); ++d) {
        if (t.sizes[d] < 0 || t.strides[d] < 0) __builtin_trap();
        empty |= t.sizes[d] == 0;
        if (t.sizes[d] > 0) last += static_cast<__int128>(t.sizes[d] - 1) * t.strides[d];
      }
      if (!empty && (last + 1) * static_cast<__int128>(c10::elementSize(t.dtype)) > t.storage->nbytes) __builtin_trap();
    }
  } catch (const talkgen::Error&) {
  }
  return 0;
}
