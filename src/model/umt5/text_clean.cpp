#include "model/umt5/text_clean.hpp"

#include "model/umt5/ftfy_fix_text.hpp"
#include "model/umt5/html_unescape.hpp"
#include "model/umt5/utf8.hpp"

namespace talkgen::model::umt5 {
namespace {

// The `regex` module's \s for str patterns: the Unicode White_Space property.
bool is_regex_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Python's str.isspace(), which str.strip() uses: White_Space plus the separators U+001C..U+001F.
bool is_python_space(char32_t c) { return is_regex_space(c) || (c >= 0x1C && c <= 0x1F); }

std::u32string python_strip(const std::u32string& s) {
  size_t b = 0, e = s.size();
  while (b < e && is_python_space(s[b])) ++b;
  while (e > b && is_python_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

}  // namespace

std::string clean_prompt(const std::string& text) {
  const std::u32string basic = python_strip(html_unescape(html_unescape(ftfy::fix_text(utf8_decode(text)))));
  std::u32string collapsed;
  collapsed.reserve(basic.size());
  for (size_t i = 0; i < basic.size();) {
    if (is_regex_space(basic[i])) {
      while (i < basic.size() && is_regex_space(basic[i])) ++i;
      collapsed.push_back(U' ');
    } else {
      collapsed.push_back(basic[i++]);
    }
  }
  return utf8_encode(python_strip(collapsed));
}

}  // namespace talkgen::model::umt5
