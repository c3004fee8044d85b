#include "model/dit/dit_speed.hpp"

#include <cstdlib>

#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::model::dit {

DitSpeedOptions DitSpeedOptions::parse(std::string_view text) {
  if (text == "default" || text.empty()) return fast();
  if (text == "all") return all();
  if (text == "none") return plain();
  DitSpeedOptions o = plain();
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const auto item = text.substr(start, end - start);
    if (item == "fused") {
      o.fused_elementwise = true;
    } else if (item == "kernels") {
      o.fused_elementwise = true;
      o.row_kernels = true;
    } else if (item == "gelu") {
      o.gelu_in_gemm = true;
    } else {
      fail(ErrorCode::invalid_argument,
           "DiT speed option '{}' in '{}' not understood; expected default, all, none or a comma list of "
           "fused, kernels, gelu", item,
           text);
    }
    start = end + 1;
  }
  return o;
}

const DitSpeedOptions& DitSpeedOptions::from_env() {
  static const DitSpeedOptions options = [] {
    const char* v = std::getenv("TALKGEN_DIT_FAST");
    if (!v) return fast();
    try {
      return parse(v);
    } catch (const Error& e) {
      log_warn("TALKGEN_DIT_FAST: {}; using default", e.what());
      return fast();
    }
  }();
  return options;
}

std::string DitSpeedOptions::describe() const {
  return fmt::format("fused elementwise {}, row kernels {}, GELU in GEMM {}", fused_elementwise ? "on" : "off",
                     fused_elementwise && row_kernels ? "on (CUDA bf16)" : "off", gelu_in_gemm ? "on" : "off");
}

}  // namespace talkgen::model::dit
