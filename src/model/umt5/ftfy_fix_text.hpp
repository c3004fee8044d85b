// ftfy 6.3.1's fix_text with its default TextFixerConfig, the first step of the reference's prompt cleaning
// (wan/modules/tokenizers.py basic_clean). Written from ftfy's __init__.py, fixes.py, chardata.py and
// badness.py; the tables it builds from unicodedata come from the same Python (ftfy_character_tables.hpp).
#pragma once

#include <string>
#include <string_view>

namespace talkgen::model::umt5::ftfy {

/// ftfy.fix_text(text): line by line (and at most 1,000,000 characters at a time), repeats until nothing
/// changes: HTML entities (unless a '<' has been seen: "auto"), mojibake (fix_encoding), C1 controls,
/// Latin ligatures, fullwidth/halfwidth forms, curly quotes, line breaks, surrogates, terminal escapes,
/// control characters, then NFC (Unicode 14.0, as Python 3.11's unicodedata).
std::u32string fix_text(std::u32string_view text);

/// ftfy.fix_encoding(text): only the mojibake repair, until it changes nothing.
std::u32string fix_encoding(std::u32string_view text);

}  // namespace talkgen::model::umt5::ftfy
