// The character tables ftfy 6.3.1 builds for fix_text (ftfy_tables.inc, made by tools/parity/gen_ftfy_tables.py
// from Python 3.11 + ftfy 6.3.1): mojibake categories, UTF-8 clue classes, Python re's \s \w \d, the
// single-byte codecs fix_encoding tries, and the translate maps for width and ligatures.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace talkgen::model::umt5::ftfy {

/// badness.py's MOJIBAKE_CATEGORIES, one bit each (a character may be in several).
enum MojibakeCategory : uint32_t {
  kCommon = 1u << 0,
  kC1 = 1u << 1,
  kBad = 1u << 2,
  kLaw = 1u << 3,
  kCurrency = 1u << 4,
  kStartPunctuation = 1u << 5,
  kEndPunctuation = 1u << 6,
  kNumeric = 1u << 7,
  kKaomoji = 1u << 8,
  kUpperAccented = 1u << 9,
  kLowerAccented = 1u << 10,
  kUpperCommon = 1u << 11,
  kLowerCommon = 1u << 12,
  kBox = 1u << 13,
};
/// The categories `c` belongs to (0 for most characters, every ASCII one included).
uint32_t mojibake_categories(char32_t c);

/// chardata.py's UTF8_CLUES: characters that single-byte codecs decode UTF-8 lead/continuation bytes to.
enum class Utf8Clue { first_of_2, first_of_3, first_of_4, continuation, continuation_strict };
bool is_utf8_clue(Utf8Clue clue, char32_t c);

/// Python `re` on str patterns: \s (str.isspace), \w (str.isalnum or '_'), \d (str.isdecimal).
bool is_regex_space(char32_t c);
bool is_regex_word(char32_t c);
bool is_regex_digit(char32_t c);

/// A single-byte codec as Python decodes it: byte -> code point, -1 where strict decoding fails.
struct SingleByteCodec {
  const char* name;
  int32_t decode[256];
};
/// chardata.CHARMAP_ENCODINGS in ftfy's order ("latin-1", "sloppy-windows-1252", ..., "cp437").
size_t charmap_encoding_count();
const SingleByteCodec& charmap_encoding(size_t index);
/// Python's strict "windows-1252" (bytes 81 8D 8F 90 9D undefined).
const SingleByteCodec& strict_windows_1252();

/// chardata.WIDTH_MAP and LIGATURES (str.translate tables); nullptr where the character maps to itself.
const char32_t* width_replacement(char32_t c);
const char32_t* latin_ligature_replacement(char32_t c);

/// ftfy's upper-case forms of lower-case HTML5 entity names ("NTILDE;" -> U"Ñ"); nullptr if not one.
const char32_t* upper_case_entity(std::string_view name_with_semicolon);

}  // namespace talkgen::model::umt5::ftfy
