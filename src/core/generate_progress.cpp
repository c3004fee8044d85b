#include "talkgen/generate.hpp"

namespace talkgen {

const char* to_string(GenerateProgress::Stage stage) noexcept {
  switch (stage) {
    case GenerateProgress::Stage::preparing: return "preparing";
    case GenerateProgress::Stage::sampling: return "sampling";
    case GenerateProgress::Stage::decoding: return "decoding";
    case GenerateProgress::Stage::encoding: return "encoding";
    case GenerateProgress::Stage::done: return "done";
  }
  return "preparing";
}

}  // namespace talkgen
