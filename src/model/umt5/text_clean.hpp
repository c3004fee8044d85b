// The reference's prompt cleaning for umT5 (HuggingfaceTokenizer with clean='whitespace').
#pragma once

#include <string>

namespace talkgen::model::umt5 {

/// whitespace_clean(basic_clean(text)) from wan/modules/tokenizers.py: ftfy.fix_text with its default
/// configuration (ftfy_fix_text.hpp: curly quotes, widths, ligatures, control characters, line breaks,
/// mojibake, NFC, ...), html.unescape twice, str.strip(), every run of regex `\s` (Unicode White_Space)
/// replaced by one space, str.strip() again.
/// UTF-8 in and out; throws Error(invalid_argument) for invalid UTF-8.
std::string clean_prompt(const std::string& text);

}  // namespace talkgen::model::umt5
