// ftfy's mojibake heuristic (badness.py): is_bad(text) is true when BADNESS_RE matches anywhere.
#pragma once

#include <string_view>

namespace talkgen::model::umt5::ftfy {

/// True iff ftfy 6.3.1's badness.is_bad(text): some sequence of characters that UTF-8 mojibake makes and
/// real text rarely does (an accented lower-case letter before a currency sign, a C1 control, "Ã©", ...).
bool looks_like_mojibake(std::u32string_view text);

}  // namespace talkgen::model::umt5::ftfy
