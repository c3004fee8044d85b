// Python's html.unescape on code points: the reference cleans every prompt with it (twice).
#pragma once

#include <string>

namespace talkgen::model::umt5 {

/// Replaces named (HTML5, with the standard's longest-prefix rule for names without ';') and numeric
/// character references exactly as Python 3.11's html.unescape does, invalid references included.
std::u32string html_unescape(const std::u32string& text);

}  // namespace talkgen::model::umt5
