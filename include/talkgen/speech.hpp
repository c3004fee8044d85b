// The espeak-ng voices that synthesize_speech() (media.hpp) can use, and the rule for naming one.
//
// A voice is always a NAME chosen from espeak-ng's installed list, never a path: espeak-ng itself would
// open whatever file a voice name points to, so talkgen resolves every name against the list first and
// hands espeak-ng only the list's own identifier. Accepted, compared without regard to ASCII case:
//   - a voice file's name, the last part of its identifier: "en", "en-us", "de", "cmn", "fr-be";
//   - a voice's full name, as listed or with '_' for spaces: "English (America)", "English_(America)";
//   - a language code from the voices' language lists: "zh", "en-gb" (the voice espeak-ng prefers for it);
//   - any of these followed by "+VARIANT", a variant from espeak-ng's list: "en+f3", "de+Alex".
// Never accepted: text holding '/', '\\', "..", a control character or NUL, or over 64 bytes.
// `espeak-ng --voices` (or list_speech_voices()) shows what is installed.
#pragma once

#include <string>
#include <vector>

#include "talkgen/export.hpp"

namespace talkgen {

struct SpeechVoice {
  std::string name;                    ///< e.g. "English (America)"
  std::string identifier;              ///< e.g. "gmw/en-US" (espeak-ng's file under espeak-ng-data/lang)
  std::vector<std::string> languages;  ///< e.g. {"en-us", "en"}, the most preferred first
};

/// The installed espeak-ng voices (not variants, not MBROLA voices), in espeak-ng's order. Read once per
/// process. Error(unsupported) when espeak-ng or its data cannot be loaded.
TALKGEN_API std::vector<SpeechVoice> list_speech_voices();

/// Checks `voice` against the installed list under the rules above, without synthesising anything and
/// without espeak-ng opening any file named by it. Error(invalid_argument) naming the voice (truncated) with
/// a few installed names as a hint; Error(unsupported) when espeak-ng cannot be loaded.
TALKGEN_API void check_speech_voice(const std::string& voice);

}  // namespace talkgen
