#include "model/umt5/html_unescape.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "model/umt5/utf8.hpp"

namespace talkgen::model::umt5 {
namespace {

struct HtmlEntity {
  const char* name;   // "amp;" or "amp": Python's table holds both where HTML5 allows the bare form
  const char* value;  // UTF-8
};
struct InvalidCharref {
  uint32_t number;
  uint32_t replacement;
};

#include "model/umt5/html_entities.inc"

const HtmlEntity* find_entity(const std::string& name) {
  const auto* end = std::end(kHtml5Entities);
  const auto* it = std::lower_bound(std::begin(kHtml5Entities), end, name,
                                    [](const HtmlEntity& e, const std::string& n) { return std::strcmp(e.name, n.c_str()) < 0; });
  return it != end && name == it->name ? it : nullptr;
}

bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_hex(char32_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hex_value(char32_t c) { return is_digit(c) ? int(c - '0') : (c >= 'a' ? int(c - 'a') + 10 : int(c - 'A') + 10); }
// Characters a named reference may hold: [^\t\n\f <&#;].
bool is_name_char(char32_t c) { return !(c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';'); }

// html._replace_charref for "#<digits>" / "#x<hex>": the number saturates, since anything above U+10FFFF
// gives U+FFFD however large it is.
std::u32string numeric_replacement(uint64_t number) {
  for (const auto& r : kInvalidCharrefs)
    if (r.number == number) return std::u32string(1, static_cast<char32_t>(r.replacement));
  if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) return U"\uFFFD";
  if (std::binary_search(std::begin(kInvalidCodepoints), std::end(kInvalidCodepoints), number)) return U"";
  return std::u32string(1, static_cast<char32_t>(number));
}

// html._replace_charref for a name (with its ';' if present): whole match, else the longest prefix of at
// least two characters that is an entity, else the text unchanged.
std::u32string named_replacement(const std::u32string& name) {
  if (const HtmlEntity* e = find_entity(utf8_encode(name))) return utf8_decode(e->value);
  for (size_t len = name.size() - 1; len >= 2; --len)
    if (const HtmlEntity* e = find_entity(utf8_encode(name.substr(0, len)))) return utf8_decode(e->value) + name.substr(len);
  return U"&" + name;
}

}  // namespace

std::u32string html_unescape(const std::u32string& text) {
  if (text.find(U'&') == std::u32string::npos) return text;
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    if (text[i] != U'&') {
      out.push_back(text[i++]);
      continue;
    }
    size_t j = i + 1;
    // &#123;  &#x1F;  (';' optional)
    if (j < n && text[j] == U'#') {
      uint64_t number = 0;
      size_t k = j + 1;
      bool matched = false;
      if (k < n && is_digit(text[k])) {
        while (k < n && is_digit(text[k])) number = std::min<uint64_t>(number * 10 + (text[k++] - '0'), 0x7FFFFFFF);
        matched = true;
      } else if (k + 1 < n && (text[k] == U'x' || text[k] == U'X') && is_hex(text[k + 1])) {
        ++k;
        while (k < n && is_hex(text[k])) number = std::min<uint64_t>(number * 16 + hex_value(text[k++]), 0x7FFFFFFF);
        matched = true;
      }
      if (!matched) {  // "&#" followed by neither: no reference ('#' cannot start a name either)
        out.push_back(text[i++]);
        continue;
      }
      if (k < n && text[k] == U';') ++k;
      out += numeric_replacement(number);
      i = k;
      continue;
    }
    // &name;  up to 32 name characters, then an optional ';'
    size_t k = j;
    while (k < n && k - j < 32 && is_name_char(text[k])) ++k;
    if (k == j) {
      out.push_back(text[i++]);
      continue;
    }
    if (k < n && text[k] == U';') ++k;
    out += named_replacement(text.substr(j, k - j));
    i = k;
  }
  return out;
}

const char* html5_entity(const std::string& name) {
  const HtmlEntity* e = find_entity(name);
  return e ? e->value : nullptr;
}

}  // namespace talkgen::model::umt5
