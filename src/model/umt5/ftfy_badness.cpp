#include "model/umt5/ftfy_badness.hpp"

#include <cstdint>
#include <vector>

#include "model/umt5/ftfy_character_tables.hpp"

namespace talkgen::model::umt5::ftfy {
namespace {

// BADNESS_RE is only ever searched (is_bad), so it is true iff one of its alternatives matches at some
// position. Each alternative below is one branch of the regex, in its order, with its character classes
// written as unions of categories (the MOJIBAKE_CATEGORIES names) plus the literal characters it lists.
class BadnessScan {
 public:
  explicit BadnessScan(std::u32string_view text) : t_(text), cats_(text.size()) {
    for (size_t i = 0; i < text.size(); ++i) cats_[i] = mojibake_categories(text[i]);
  }

  bool matches_anywhere() const {
    for (size_t i = 0; i < t_.size(); ++i)
      if (matches_at(i)) return true;
    return false;
  }

 private:
  bool in(size_t i, uint32_t categories) const { return i < t_.size() && (cats_[i] & categories); }
  bool is(size_t i, char32_t c) const { return i < t_.size() && t_[i] == c; }
  bool one_of(size_t i, std::u32string_view chars) const {
    return i < t_.size() && chars.find(t_[i]) != std::u32string_view::npos;
  }
  bool ascii_lower(size_t i) const { return i < t_.size() && t_[i] >= U'a' && t_[i] <= U'z'; }
  bool ascii_letter(size_t i) const {
    return i < t_.size() && ((t_[i] >= U'a' && t_[i] <= U'z') || (t_[i] >= U'A' && t_[i] <= U'Z'));
  }
  bool space(size_t i) const { return i < t_.size() && is_regex_space(t_[i]); }
  bool word(size_t i) const { return i < t_.size() && is_regex_word(t_[i]); }

  bool matches_at(size_t i) const {
    constexpr uint32_t la = kLowerAccented, ua = kUpperAccented, lc = kLowerCommon, uc = kUpperCommon;
    constexpr uint32_t box = kBox, sp = kStartPunctuation, ep = kEndPunctuation, cur = kCurrency;
    constexpr uint32_t num = kNumeric, law = kLaw, bad = kBad, c1 = kC1, common = kCommon;
    // Characters the regex names literally (escaped so Latin, Greek and Cyrillic look-alikes stay apart).
    constexpr std::u32string_view kAHatEtc = U"\u00C2\u00C3\u00CE\u00D0";          // ÂÃÎÐ
    constexpr std::u32string_view kAfterAHat =                                     // €œŠš¢£Ÿž nbsp shy ®©°·» –—´
        U"\u20AC\u0153\u0160\u0161\u00A2\u00A3\u0178\u017E\u00A0\u00AD\u00AE\u00A9\u00B0\u00B7\u00BB\u2013\u2014\u00B4";
    constexpr std::u32string_view kArabicLead = U"\u00D8\u00D9";                   // ØÙ
    constexpr std::u32string_view kArabicExtra = U"\u0178\u0160\u00AE\u00B0\u00B5\u00BB";  // ŸŠ®°µ»
    constexpr std::u32string_view kCyrillicLead = U"\u0412\u0413\u0420\u0421";     // ВГРС (Cyrillic)
    constexpr std::u32string_view kGreekLead = U"\u0392\u0393\u039E\u039F";        // ΒΓΞΟ (Greek)
    constexpr std::u32string_view kATildeOrHat = U"\u00C3\u00C2";                  // ÃÂ

    const auto arabic_second = [&](size_t k) {
      return in(k, common | cur | bad | num | sp) || one_of(k, kArabicExtra);
    };
    return in(i, c1) ||
           (in(i, bad | la | ua | box | sp | ep | cur | num | law) && in(i + 1, bad)) ||
           (ascii_letter(i) && in(i + 1, lc | uc) && in(i + 2, bad)) ||
           (in(i, bad) && in(i + 1, la | ua | box | sp | ep | cur | num | law)) ||
           (in(i, la | lc | box | ep | cur | num) && in(i + 1, ua)) ||
           (in(i, box | ep | cur | num) && in(i + 1, la)) ||
           (in(i, la | box | ep) && in(i + 1, cur)) ||
           (space(i) && in(i + 1, ua) && in(i + 2, cur)) ||
           (in(i, ua | box) && in(i + 1, num | law)) ||
           (in(i, la | ua | box | cur | ep) && in(i + 1, sp) && in(i + 2, num)) ||
           (in(i, la | ua | cur | num | box | law) && in(i + 1, ep) && in(i + 2, sp)) ||
           (in(i, cur | num | box) && in(i + 1, sp)) ||
           (ascii_lower(i) && in(i + 1, ua) && in(i + 2, sp | cur)) ||
           (in(i, box) && in(i + 1, kKaomoji)) ||
           (in(i, la | ua | cur | num | sp | ep | law) && in(i + 1, box)) ||
           (in(i, box) && in(i + 1, ep)) ||
           (in(i, la | ua) && in(i + 1, sp | ep) && word(i + 2)) ||
           // the ligature œ when not followed by an unaccented Latin letter
           (one_of(i, U"\u0152\u0153") && i + 1 < t_.size() && !ascii_letter(i + 1)) ||
           (in(i, ua) && is(i + 1, U'\u00B0')) ||  // degree sign after a capital letter
           (one_of(i, kAHatEtc) && (one_of(i + 1, kAfterAHat) || in(i + 1, sp | ep))) ||
           (is(i, U'\u00D7') && one_of(i + 1, U"\u00B2\u00B3")) ||  // ×²
           (one_of(i, kArabicLead) && arabic_second(i + 1) && one_of(i + 2, kArabicLead) && arabic_second(i + 3)) ||
           (is(i, U'\u00E0') && one_of(i + 1, U"\u00B2\u00B5\u00B9\u00BC\u00BD\u00BE")) ||  // à[²µ¹¼½¾]
           // MacRoman: √[±∂†≠®™´≤≥¥µø]  ≈[°¢]  ‚Ä[ìîïòôúùû†°¢π]  ‚[âó][àä°ê]
           (is(i, U'\u221A') &&
            one_of(i + 1, U"\u00B1\u2202\u2020\u2260\u00AE\u2122\u00B4\u2264\u2265\u00A5\u00B5\u00F8")) ||
           (is(i, U'\u2248') && one_of(i + 1, U"\u00B0\u00A2")) ||
           (is(i, U'\u201A') && is(i + 1, U'\u00C4') &&
            one_of(i + 2, U"\u00EC\u00EE\u00EF\u00F2\u00F4\u00FA\u00F9\u00FB\u2020\u00B0\u00A2\u03C0")) ||
           (is(i, U'\u201A') && one_of(i + 1, U"\u00E2\u00F3") && one_of(i + 2, U"\u00E0\u00E4\u00B0\u00EA")) ||
           (is(i, U'\u0432') && is(i + 1, U'\u0402')) ||  // вЂ (windows-1251)
           (one_of(i, kCyrillicLead) && (in(i + 1, c1 | bad | sp | ep | cur) || one_of(i + 1, U"\u00B0\u00B5")) &&
            one_of(i + 2, kCyrillicLead)) ||
           // ГўВЂВ.[A-Za-z ]  ('.' is any character but a newline)
           (t_.substr(i, 5) == U"\u0413\u045E\u0412\u0402\u0412" && i + 5 < t_.size() && t_[i + 5] != U'\n' &&
            (ascii_letter(i + 6) || is(i + 6, U' '))) ||
           (is(i, U'\u00C3') && one_of(i + 1, U"\u00A0\u00A1")) ||  // Ã[nbsp ¡]
           // [a-z]\s?[ÃÂ][ ]
           (ascii_lower(i) && ((space(i + 1) && one_of(i + 2, kATildeOrHat) && is(i + 3, U' ')) ||
                               (one_of(i + 1, kATildeOrHat) && is(i + 2, U' ')))) ||
           (i == 0 && one_of(0, kATildeOrHat) && is(1, U' ')) ||  // ^[ÃÂ][ ]
           // [a-z.,?!{end_punctuation}] Â [ {start_punctuation}{end_punctuation}]
           ((ascii_lower(i) || one_of(i, U".,?!") || in(i, ep)) && is(i + 1, U'\u00C2') &&
            (is(i + 2, U' ') || in(i + 2, sp | ep))) ||
           // β€[™ nbsp Ά shy ®°] (windows-1253)
           (is(i, U'\u03B2') && is(i + 1, U'\u20AC') && one_of(i + 2, U"\u2122\u00A0\u0386\u00AD\u00AE\u00B0")) ||
           (one_of(i, kGreekLead) && (in(i + 1, c1 | bad | sp | ep | cur) || is(i + 1, U'\u00B0')) &&
            one_of(i + 2, kGreekLead)) ||
           (is(i, U'\u0101') && is(i + 1, U'\u20AC'));  // ā€ (windows-1257)
  }

  std::u32string_view t_;
  std::vector<uint32_t> cats_;
};

}  // namespace

bool looks_like_mojibake(std::u32string_view text) { return BadnessScan(text).matches_anywhere(); }

}  // namespace talkgen::model::umt5::ftfy
