// The byte-level codecs ftfy's fix_encoding re-decodes text with: Python's strict UTF-8, ftfy's
// "utf-8-variants" (CESU-8 and Java's C0 80), and the single-byte charmaps (ftfy_character_tables.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/umt5/ftfy_character_tables.hpp"

namespace talkgen::model::umt5::ftfy {

/// Python's bytes.decode("utf-8") (strict): nullopt where Python raises UnicodeDecodeError.
std::optional<std::u32string> decode_utf8_strict(std::string_view bytes);

/// ftfy's bytes.decode("utf-8-variants"): UTF-8 that also accepts six-byte CESU-8 surrogate pairs and
/// C0 80 for U+0000; nullopt where it raises.
std::optional<std::u32string> decode_utf8_variants(std::string_view bytes);

/// Whether every character of `text` has a byte in `codec` (chardata.possible_encoding): the ASCII
/// characters except U+001A, and whatever bytes 80..FF and 1A decode to.
bool can_encode(std::u32string_view text, const SingleByteCodec& codec);

/// str.encode(codec); call only where can_encode is true.
std::string encode_single_byte(std::u32string_view text, const SingleByteCodec& codec);

}  // namespace talkgen::model::umt5::ftfy
