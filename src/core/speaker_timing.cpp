// SpeakerTiming names (include/talkgen/generate.hpp): ours and the reference's audio_type values.
#include <algorithm>
#include <cctype>
#include <string>

#include "talkgen/error.hpp"
#include "talkgen/generate.hpp"

namespace talkgen {

SpeakerTiming parse_speaker_timing(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n == "together" || n == "para") return SpeakerTiming::together;
  if (n == "one-after-another" || n == "one_after_another" || n == "add") return SpeakerTiming::one_after_another;
  fail(ErrorCode::invalid_argument, "unknown speaker timing '{}'; expected together (para) or one-after-another (add)",
       name);
}

const char* to_string(SpeakerTiming timing) noexcept {
  return timing == SpeakerTiming::together ? "together" : "one-after-another";
}

}  // namespace talkgen
