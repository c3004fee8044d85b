// Python's html.unescape on code points: the reference cleans every prompt with it (twice).
#pragma once

#include <string>

namespace talkgen::model::umt5 {

/// Replaces named (HTML5, with the standard's longest-prefix rule for names without ';') and numeric
/// character references exactly as Python 3.11's html.unescape does, invalid references included.
std::u32string html_unescape(const std::u32string& text);

/// The value of an entry of Python's html.entities.html5 ("amp;" -> "&", UTF-8), or nullptr if there is none.
const char* html5_entity(const std::string& name);

}  // namespace talkgen::model::umt5
