#include "model/umt5/ftfy_character_tables.hpp"

#include <algorithm>
#include <iterator>

namespace talkgen::model::umt5::ftfy {
namespace {

struct CodepointRange {
  char32_t first, last;
};
struct CharReplacement {
  char32_t from;
  const char32_t* to;
};
struct UpperCaseEntity {
  const char* name;
  const char32_t* value;
};

#include "model/umt5/ftfy_tables.inc"

template <size_t N>
bool in_ranges(const CodepointRange (&ranges)[N], char32_t c) {
  const auto* it = std::upper_bound(std::begin(ranges), std::end(ranges), c,
                                    [](char32_t v, const CodepointRange& r) { return v < r.first; });
  return it != std::begin(ranges) && c <= std::prev(it)->last;
}

template <size_t N>
const char32_t* find_replacement(const CharReplacement (&table)[N], char32_t c) {
  const auto* it = std::lower_bound(std::begin(table), std::end(table), c,
                                    [](const CharReplacement& r, char32_t v) { return r.from < v; });
  return it != std::end(table) && it->from == c ? it->to : nullptr;
}

}  // namespace

uint32_t mojibake_categories(char32_t c) {
  if (c < 0x80) return 0;  // no category holds an ASCII character (the generator's tables say so)
  uint32_t m = 0;
  if (in_ranges(kMojibake_common, c)) m |= kCommon;
  if (in_ranges(kMojibake_c1, c)) m |= kC1;
  if (in_ranges(kMojibake_bad, c)) m |= kBad;
  if (in_ranges(kMojibake_law, c)) m |= kLaw;
  if (in_ranges(kMojibake_currency, c)) m |= kCurrency;
  if (in_ranges(kMojibake_start_punctuation, c)) m |= kStartPunctuation;
  if (in_ranges(kMojibake_end_punctuation, c)) m |= kEndPunctuation;
  if (in_ranges(kMojibake_numeric, c)) m |= kNumeric;
  if (in_ranges(kMojibake_kaomoji, c)) m |= kKaomoji;
  if (in_ranges(kMojibake_upper_accented, c)) m |= kUpperAccented;
  if (in_ranges(kMojibake_lower_accented, c)) m |= kLowerAccented;
  if (in_ranges(kMojibake_upper_common, c)) m |= kUpperCommon;
  if (in_ranges(kMojibake_lower_common, c)) m |= kLowerCommon;
  if (in_ranges(kMojibake_box, c)) m |= kBox;
  return m;
}

bool is_utf8_clue(Utf8Clue clue, char32_t c) {
  switch (clue) {
    case Utf8Clue::first_of_2: return in_ranges(kUtf8Clue_utf8_first_of_2, c);
    case Utf8Clue::first_of_3: return in_ranges(kUtf8Clue_utf8_first_of_3, c);
    case Utf8Clue::first_of_4: return in_ranges(kUtf8Clue_utf8_first_of_4, c);
    case Utf8Clue::continuation: return in_ranges(kUtf8Clue_utf8_continuation, c);
    case Utf8Clue::continuation_strict: return in_ranges(kUtf8Clue_utf8_continuation_strict, c);
  }
  return false;
}

bool is_regex_space(char32_t c) { return in_ranges(kRegexSpace, c); }
bool is_regex_word(char32_t c) { return in_ranges(kRegexWord, c); }
bool is_regex_digit(char32_t c) { return in_ranges(kRegexDigit, c); }

// The generated table ends with strict windows-1252, which fix_encoding uses but does not try in turn.
size_t charmap_encoding_count() { return std::size(kCharmapCodecs) - 1; }
const SingleByteCodec& charmap_encoding(size_t index) { return kCharmapCodecs[index]; }
const SingleByteCodec& strict_windows_1252() { return kCharmapCodecs[std::size(kCharmapCodecs) - 1]; }

const char32_t* width_replacement(char32_t c) { return find_replacement(kWidthMap, c); }
const char32_t* latin_ligature_replacement(char32_t c) { return find_replacement(kLatinLigatures, c); }

const char32_t* upper_case_entity(std::string_view name) {
  const auto by_name = [](const UpperCaseEntity& e, std::string_view n) { return std::string_view(e.name) < n; };
  const auto* it = std::lower_bound(std::begin(kUpperCaseEntities), std::end(kUpperCaseEntities), name, by_name);
  return it != std::end(kUpperCaseEntities) && it->name == name ? it->value : nullptr;
}

}  // namespace talkgen::model::umt5::ftfy
