#include "model/umt5/ftfy_fix_text.hpp"

#include <unicode/unorm2.h>
#include <unicode/uset.h>
#include <unicode/utypes.h>

#include <algorithm>

#include "model/umt5/ftfy_badness.hpp"
#include "model/umt5/ftfy_character_tables.hpp"
#include "model/umt5/ftfy_codecs.hpp"
#include "model/umt5/html_unescape.hpp"
#include "model/umt5/utf8.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::umt5::ftfy {
namespace {

constexpr size_t kMaxDecodeLength = 1000000;  // TextFixerConfig.max_decode_length

bool is_ascii_alnum(char32_t c) {
  return (c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z');
}
bool is_ascii_letter(char32_t c) { return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z'); }

// ---- fixes.unescape_html: HTML_ENTITY_RE = &#?[0-9A-Za-z]{1,24}; ----------------------------------------

// The length of an HTML_ENTITY_RE match at `i` (a '&'), 0 if none. The name run cannot backtrack to a ';'
// (it is all alphanumerics), so a match is "&", an optional "#", 1..24 alphanumerics and ";".
size_t html_entity_match(std::u32string_view t, size_t i) {
  size_t k = i + 1;
  if (k < t.size() && t[k] == U'#') ++k;
  size_t run = 0;
  while (k + run < t.size() && is_ascii_alnum(t[k + run])) ++run;
  if (run >= 1 && run <= 24 && k + run < t.size() && t[k + run] == U';') return k + run + 1 - i;
  return 0;  // without the '#', [0-9A-Za-z] would have to match '#' itself
}

// fixes._unescape_fixup
std::u32string unescape_entity(const std::u32string& entity) {
  const std::string name = utf8_encode(std::u32string_view(entity).substr(1));
  if (const char* value = html5_entity(name)) return utf8_decode(value);
  if (const char32_t* value = upper_case_entity(name)) return value;
  if (entity.size() > 1 && entity[1] == U'#') {
    std::u32string unescaped = html_unescape(entity);
    // html.unescape decoding only part of it (its ';' left over) is not what we want.
    return unescaped.find(U';') != std::u32string::npos ? entity : unescaped;
  }
  return entity;
}

std::u32string unescape_html(std::u32string_view t) {
  std::u32string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size();) {
    const size_t len = t[i] == U'&' ? html_entity_match(t, i) : 0;
    if (len == 0) {
      out.push_back(t[i++]);
      continue;
    }
    out += unescape_entity(std::u32string(t.substr(i, len)));
    i += len;
  }
  return out;
}

// ---- byte-level transcoders used inside fix_encoding ------------------------------------------------------

bool byte_in(std::string_view b, size_t i, unsigned lo, unsigned hi) {
  return i < b.size() && static_cast<unsigned char>(b[i]) >= lo && static_cast<unsigned char>(b[i]) <= hi;
}
bool byte_is(std::string_view b, size_t i, unsigned char v) {
  return i < b.size() && static_cast<unsigned char>(b[i]) == v;
}
// [\x80-\x84\x86-\x9f\xa1-\xbf]: a continuation byte other than 85 (…) and A0 (the space stand-in)
bool continuation_not_85_a0(std::string_view b, size_t i) {
  return byte_in(b, i, 0x80, 0xBF) && !byte_is(b, i, 0x85) && !byte_is(b, i, 0xA0);
}

// chardata.ALTERED_UTF8_RE: the length of the first alternative matching at `i`, 0 if none.
size_t altered_utf8_match(std::string_view b, size_t i) {
  const auto lead2 = [&](size_t k) {
    return byte_is(b, k, 0xC2) || byte_is(b, k, 0xC3) || byte_is(b, k, 0xC5) || byte_is(b, k, 0xCE) ||
           byte_is(b, k, 0xD0) || byte_is(b, k, 0xD9);
  };
  if (lead2(i) && byte_is(b, i + 1, ' ')) return 2;
  if (byte_in(b, i, 0xE2, 0xE3) && byte_is(b, i + 1, ' ') && continuation_not_85_a0(b, i + 2)) return 3;
  if (byte_in(b, i, 0xE0, 0xE3) && continuation_not_85_a0(b, i + 1) && byte_is(b, i + 2, ' ')) return 3;
  if (byte_is(b, i, 0xF0)) {
    const auto cont = [&](size_t k) { return byte_in(b, k, 0x80, 0xBF); };
    if (byte_is(b, i + 1, ' ') && cont(i + 2) && cont(i + 3)) return 4;
    if (cont(i + 1) && byte_is(b, i + 2, ' ') && cont(i + 3)) return 4;
    if (cont(i + 1) && cont(i + 2) && byte_is(b, i + 3, ' ')) return 4;
  }
  return 0;
}

bool altered_utf8_search(std::string_view b) {
  for (size_t i = 0; i < b.size(); ++i)
    if (altered_utf8_match(b, i)) return true;
  return false;
}

// fixes.restore_byte_a0: first A_GRAVE_WORD_RE (C3 ' ' not before ' ', "quele", "quela", "quilo", "s ")
// becomes C3 A0 ' ', then each ALTERED_UTF8_RE match has its spaces turned into A0.
std::string restore_byte_a0(std::string_view b) {
  std::string step;
  step.reserve(b.size() + 8);
  for (size_t i = 0; i < b.size(); ++i) {
    if (byte_is(b, i, 0xC3) && byte_is(b, i + 1, ' ')) {
      const std::string_view rest = b.substr(i + 2);
      const bool excepted = rest.rfind(" ", 0) == 0 || rest.rfind("quele", 0) == 0 || rest.rfind("quela", 0) == 0 ||
                            rest.rfind("quilo", 0) == 0 || rest.rfind("s ", 0) == 0;
      if (!excepted) {
        step += "\xc3\xa0 ";
        ++i;
        continue;
      }
    }
    step.push_back(b[i]);
  }
  std::string out;
  out.reserve(step.size());
  for (size_t i = 0; i < step.size();) {
    const size_t len = altered_utf8_match(step, i);
    if (len == 0) {
      out.push_back(step[i++]);
      continue;
    }
    for (size_t k = i; k < i + len; ++k) out.push_back(step[k] == ' ' ? '\xa0' : step[k]);
    i += len;
  }
  return out;
}

// chardata.LOSSY_UTF8_RE: UTF-8 (or CESU-8) sequences with bytes lost to 1A (a sloppy codec's U+FFFD) or,
// once per sequence, '?'. Returns the length of the first alternative matching at `i`.
size_t lossy_utf8_match(std::string_view b, size_t i) {
  const auto sub = [&](size_t k) { return byte_is(b, k, 0x1A); };
  const auto sub_or_q = [&](size_t k) { return sub(k) || byte_is(b, k, '?'); };
  const auto sub_or_cont = [&](size_t k) { return sub(k) || byte_in(b, k, 0x80, 0xBF); };
  const auto any_of_three = [&](size_t k) { return sub_or_q(k) || byte_in(b, k, 0x80, 0xBF); };
  if (byte_in(b, i, 0xC2, 0xDF) && sub(i + 1)) return 2;
  if (byte_in(b, i, 0xC2, 0xC3) && byte_is(b, i + 1, '?')) return 2;
  if (byte_is(b, i, 0xED) && byte_in(b, i + 1, 0xA0, 0xAF) && sub_or_q(i + 2) && byte_is(b, i + 3, 0xED) &&
      byte_in(b, i + 4, 0xB0, 0xBF) && any_of_three(i + 5))
    return 6;
  if (byte_is(b, i, 0xED) && byte_in(b, i + 1, 0xA0, 0xAF) && any_of_three(i + 2) && byte_is(b, i + 3, 0xED) &&
      byte_in(b, i + 4, 0xB0, 0xBF) && sub_or_q(i + 5))
    return 6;
  if (byte_in(b, i, 0xE0, 0xEF)) {
    if (sub_or_q(i + 1) && sub_or_cont(i + 2)) return 3;
    if (sub_or_cont(i + 1) && sub_or_q(i + 2)) return 3;
  }
  if (byte_in(b, i, 0xF0, 0xF4)) {
    if (sub_or_q(i + 1) && sub_or_cont(i + 2) && sub_or_cont(i + 3)) return 4;
    if (sub_or_cont(i + 1) && sub_or_q(i + 2) && sub_or_cont(i + 3)) return 4;
    if (sub_or_cont(i + 1) && sub_or_cont(i + 2) && sub_or_q(i + 3)) return 4;
  }
  return sub(i) ? 1 : 0;
}

// fixes.replace_lossy_sequences: each LOSSY_UTF8_RE match becomes the UTF-8 of U+FFFD.
std::string replace_lossy_sequences(std::string_view b) {
  std::string out;
  out.reserve(b.size());
  for (size_t i = 0; i < b.size();) {
    const size_t len = lossy_utf8_match(b, i);
    if (len == 0) {
      out.push_back(b[i++]);
      continue;
    }
    out += "\xef\xbf\xbd";
    i += len;
  }
  return out;
}

// ---- decode_inconsistent_utf8: UTF8_DETECTOR_RE ------------------------------------------------------------
//   (?<![continuation_strict]) ( [first_of_2][continuation] | [first_of_3][continuation]{2}
//                                | [first_of_4][continuation]{3} )+
// Nothing follows the '+', so the regex's first answer is the greedy one with the alternatives tried in order.
size_t utf8_detector_match(std::u32string_view t, size_t i) {
  if (i > 0 && is_utf8_clue(Utf8Clue::continuation_strict, t[i - 1])) return 0;
  const auto cont = [&](size_t k, size_t count) {
    for (size_t j = 0; j < count; ++j)
      if (k + j >= t.size() || !is_utf8_clue(Utf8Clue::continuation, t[k + j])) return false;
    return true;
  };
  size_t pos = i;
  while (pos < t.size()) {
    if (is_utf8_clue(Utf8Clue::first_of_2, t[pos]) && cont(pos + 1, 1)) pos += 2;
    else if (is_utf8_clue(Utf8Clue::first_of_3, t[pos]) && cont(pos + 1, 2)) pos += 3;
    else if (is_utf8_clue(Utf8Clue::first_of_4, t[pos]) && cont(pos + 1, 3)) pos += 4;
    else break;
  }
  return pos - i;
}

bool utf8_detector_search(std::u32string_view t) {
  for (size_t i = 0; i < t.size(); ++i)
    if (utf8_detector_match(t, i)) return true;
  return false;
}

std::u32string decode_inconsistent_utf8(std::u32string_view t) {
  std::u32string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size();) {
    const size_t len = utf8_detector_match(t, i);
    if (len == 0) {
      out.push_back(t[i++]);
      continue;
    }
    const std::u32string_view piece = t.substr(i, len);
    // Only a shorter piece, so that this cannot recurse forever.
    if (len < t.size() && looks_like_mojibake(piece)) out += fix_encoding(piece);
    else out += piece;
    i += len;
  }
  return out;
}

// fixes.fix_c1_controls: U+0080..U+009F read as sloppy-windows-1252 bytes.
std::u32string fix_c1_controls(std::u32string_view t) {
  const SingleByteCodec& sloppy1252 = charmap_encoding(1);
  std::u32string out(t);
  for (char32_t& c : out)
    if (c >= 0x80 && c <= 0x9F) c = static_cast<char32_t>(sloppy1252.decode[c]);
  return out;
}

bool has_c1_control(std::u32string_view t) {
  return std::any_of(t.begin(), t.end(), [](char32_t c) { return c >= 0x80 && c <= 0x9F; });
}

// ftfy._fix_encoding_one_step_and_explain (the explanation dropped).
std::u32string fix_encoding_one_step(std::u32string_view text) {
  if (text.empty()) return std::u32string(text);
  const bool ascii = std::all_of(text.begin(), text.end(), [](char32_t c) { return c < 0x80; });
  if (ascii || !looks_like_mojibake(text)) return std::u32string(text);

  bool latin1_possible = false;
  for (size_t e = 0; e < charmap_encoding_count(); ++e) {
    const SingleByteCodec& codec = charmap_encoding(e);
    if (!can_encode(text, codec)) continue;
    const std::string_view name = codec.name;
    if (name == "latin-1") latin1_possible = true;
    std::string bytes = encode_single_byte(text, codec);
    // Would this be UTF-8 but for a b' ' where b'\xa0' belongs? (Not in MacRoman, where that is "– ".)
    if (name != "macroman" && altered_utf8_search(bytes)) bytes = restore_byte_a0(bytes);
    if (name.rfind("sloppy", 0) == 0) bytes = replace_lossy_sequences(bytes);
    const bool variants = bytes.find('\xed') != std::string::npos || bytes.find('\xc0') != std::string::npos;
    if (auto fixed = variants ? decode_utf8_variants(bytes) : decode_utf8_strict(bytes)) return *std::move(fixed);
  }
  // Mojibake sequences inside otherwise fine text, fixed in isolation.
  if (utf8_detector_search(text)) {
    std::u32string fixed = decode_inconsistent_utf8(text);
    if (fixed != text) return fixed;
  }
  // ftfy checks for "windows-1252" among the possible encodings, a name its list never holds (it has
  // "sloppy-windows-1252"), so Latin-1 text is always tried as strict Windows-1252 here.
  if (latin1_possible) {
    const SingleByteCodec& strict1252 = strict_windows_1252();
    std::u32string fixed;
    fixed.reserve(text.size());
    bool ok = true;
    for (char32_t c : text) {
      const int32_t mapped = strict1252.decode[c];  // c < 0x100: latin-1 was possible
      if (mapped < 0) {
        ok = false;
        break;
      }
      fixed.push_back(static_cast<char32_t>(mapped));
    }
    if (ok && fixed != text) return fixed;
  }
  if (has_c1_control(text)) return fix_c1_controls(text);
  return std::u32string(text);
}

// ---- the character-level fixes of fix_and_explain -----------------------------------------------------------

std::u32string translate(std::u32string_view t, const char32_t* (*replacement)(char32_t)) {
  std::u32string out;
  out.reserve(t.size());
  for (char32_t c : t) {
    if (const char32_t* r = replacement(c)) out += r;
    else out.push_back(c);
  }
  return out;
}

std::u32string uncurl_quotes(std::u32string_view t) {
  std::u32string out(t);
  for (char32_t& c : out) {
    if (c >= 0x201C && c <= 0x201F) c = U'"';
    else if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) c = U'\'';
  }
  return out;
}

// fixes.fix_line_breaks: CRLF, CR, U+2028, U+2029 and U+0085 all become LF.
std::u32string fix_line_breaks(std::u32string_view t) {
  std::u32string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    const char32_t c = t[i];
    if (c == U'\r' && i + 1 < t.size() && t[i + 1] == U'\n') continue;  // the LF follows
    out.push_back(c == U'\r' || c == 0x2028 || c == 0x2029 || c == 0x85 ? U'\n' : c);
  }
  return out;
}

// fixes.fix_surrogates: pairs become the character they encode, lone surrogates U+FFFD.
std::u32string fix_surrogates(std::u32string_view t) {
  std::u32string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    const char32_t c = t[i];
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < t.size() && t[i + 1] >= 0xDC00 && t[i + 1] <= 0xDFFF) {
      out.push_back(0x10000 + (c - 0xD800) * 0x400 + (t[i + 1] - 0xDC00));
      ++i;
    } else {
      out.push_back(c >= 0xD800 && c <= 0xDFFF ? U'\uFFFD' : c);
    }
  }
  return out;
}

// fixes.remove_terminal_escapes: ANSI_RE = \033\[((?:\d|;)*)([a-zA-Z]) (\d: any Unicode decimal digit).
std::u32string remove_terminal_escapes(std::u32string_view t) {
  std::u32string out;
  out.reserve(t.size());
  for (size_t i = 0; i < t.size();) {
    if (t[i] == 0x1B && i + 1 < t.size() && t[i + 1] == U'[') {
      size_t k = i + 2;
      while (k < t.size() && (t[k] == U';' || is_regex_digit(t[k]))) ++k;
      if (k < t.size() && is_ascii_letter(t[k])) {
        i = k + 1;
        continue;
      }
    }
    out.push_back(t[i++]);
  }
  return out;
}

// chardata.CONTROL_CHARS
bool is_removed_control(char32_t c) {
  return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
         c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

std::u32string remove_control_chars(std::u32string_view t) {
  std::u32string out;
  out.reserve(t.size());
  for (char32_t c : t)
    if (!is_removed_control(c)) out.push_back(c);
  return out;
}

// unicodedata.normalize("NFC") of Python 3.11, whose Unicode is 14.0: ICU's NFC restricted to characters
// assigned by Unicode 14.0, so that characters ICU knows and Python does not pass through untouched (as
// Python treats them: no decomposition, combining class 0).
const UNormalizer2* python_nfc() {
  static const UNormalizer2* const normalizer = [] {
    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2* nfc = unorm2_getNFCInstance(&err);
    USet* assigned = uset_openPattern(u"[:age=14.0:]", -1, &err);
    if (U_FAILURE(err)) fail(ErrorCode::internal, "ICU cannot make the NFC normaliser: {}", u_errorName(err));
    uset_freeze(assigned);  // kept for the process's lifetime, as the filtered normaliser refers to it
    const UNormalizer2* filtered = unorm2_openFiltered(nfc, assigned, &err);
    if (U_FAILURE(err)) fail(ErrorCode::internal, "ICU cannot filter the NFC normaliser: {}", u_errorName(err));
    return filtered;
  }();
  return normalizer;
}

std::u32string normalize_nfc(std::u32string_view t) {
  if (std::all_of(t.begin(), t.end(), [](char32_t c) { return c < 0x300; })) return std::u32string(t);
  std::u16string utf16;
  utf16.reserve(t.size() + 8);
  for (char32_t c : t) {
    if (c >= 0x10000) {
      utf16.push_back(static_cast<char16_t>(0xD800 + ((c - 0x10000) >> 10)));
      utf16.push_back(static_cast<char16_t>(0xDC00 + ((c - 0x10000) & 0x3FF)));
    } else {
      utf16.push_back(static_cast<char16_t>(c));
    }
  }
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* nfc = python_nfc();
  const int32_t needed = unorm2_normalize(nfc, utf16.data(), static_cast<int32_t>(utf16.size()), nullptr, 0, &err);
  if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err))
    fail(ErrorCode::internal, "ICU NFC normalisation failed: {}", u_errorName(err));
  std::u16string normalized(static_cast<size_t>(needed), u'\0');
  err = U_ZERO_ERROR;
  unorm2_normalize(nfc, utf16.data(), static_cast<int32_t>(utf16.size()), normalized.data(), needed, &err);
  if (U_FAILURE(err)) fail(ErrorCode::internal, "ICU NFC normalisation failed: {}", u_errorName(err));
  std::u32string out;
  out.reserve(normalized.size());
  for (size_t i = 0; i < normalized.size(); ++i) {
    const char16_t u = normalized[i];
    if (u >= 0xD800 && u <= 0xDBFF && i + 1 < normalized.size() && normalized[i + 1] >= 0xDC00 &&
        normalized[i + 1] <= 0xDFFF) {
      out.push_back(0x10000 + ((u - 0xD800) << 10) + (normalized[i + 1] - 0xDC00));
      ++i;
    } else {
      out.push_back(u);
    }
  }
  return out;
}

// ftfy.fix_and_explain with explain=False: every fix in ftfy's order, repeated until nothing changes.
std::u32string fix_segment(std::u32string text, bool unescape_html_entities) {
  while (true) {
    const std::u32string original = text;
    if (unescape_html_entities) text = unescape_html(text);
    text = fix_encoding(text);
    text = fix_c1_controls(text);
    text = translate(text, latin_ligature_replacement);
    text = translate(text, width_replacement);
    text = uncurl_quotes(text);
    text = fix_line_breaks(text);
    text = fix_surrogates(text);
    text = remove_terminal_escapes(text);
    text = remove_control_chars(text);
    text = normalize_nfc(text);
    if (text == original) return text;
  }
}

}  // namespace

std::u32string fix_encoding(std::u32string_view text) {
  std::u32string current(text);
  while (true) {
    std::u32string next = fix_encoding_one_step(current);
    if (next == current) return next;
    current = std::move(next);
  }
}

std::u32string fix_text(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  // unescape_html="auto": once a segment holds '<' (so the text is HTML), entities stay for the rest.
  bool unescape_html_entities = true;
  for (size_t pos = 0; pos < text.size();) {
    const size_t newline = text.find(U'\n', pos);
    size_t end = newline == std::u32string_view::npos ? text.size() : newline + 1;
    end = std::min(end, pos + kMaxDecodeLength);
    const std::u32string_view segment = text.substr(pos, end - pos);
    if (unescape_html_entities && segment.find(U'<') != std::u32string_view::npos) unescape_html_entities = false;
    out += fix_segment(std::u32string(segment), unescape_html_entities);
    pos = end;
  }
  return out;
}

}  // namespace talkgen::model::umt5::ftfy
