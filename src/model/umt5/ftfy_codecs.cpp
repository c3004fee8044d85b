#include "model/umt5/ftfy_codecs.hpp"

#include <stdexcept>

namespace talkgen::model::umt5::ftfy {
namespace {

// Decodes one UTF-8 sequence at `i` as Python does (no overlongs, surrogates or values past U+10FFFF);
// returns its length, 0 if invalid or truncated.
size_t decode_one_utf8(std::string_view b, size_t i, char32_t& out) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(b[k]); };
  const unsigned char b0 = at(i);
  size_t extra;
  char32_t c, min;
  if (b0 < 0x80) {
    out = b0;
    return 1;
  } else if (b0 >= 0xC2 && b0 <= 0xDF) {
    extra = 1, c = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    extra = 2, c = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    extra = 3, c = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + extra >= b.size()) return 0;  // truncated
  for (size_t k = 1; k <= extra; ++k) {
    if ((at(i + k) & 0xC0) != 0x80) return 0;
    c = (c << 6) | (at(i + k) & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  out = c;
  return 1 + extra;
}

bool decode_utf8_into(std::string_view b, std::u32string& out) {
  for (size_t i = 0; i < b.size();) {
    char32_t c;
    const size_t n = decode_one_utf8(b, i, c);
    if (n == 0) return false;
    out.push_back(c);
    i += n;
  }
  return true;
}

// Python's `$` in a bytes pattern without MULTILINE: the end, or just before a final b"\n".
bool at_dollar(std::string_view b, size_t i) { return i == b.size() || (i + 1 == b.size() && b[i] == '\n'); }
bool byte_in(std::string_view b, size_t i, unsigned lo, unsigned hi) {
  return i < b.size() && static_cast<unsigned char>(b[i]) >= lo && static_cast<unsigned char>(b[i]) <= hi;
}

// utf8_variants.CESU8_RE.match at `i`: ED ([A0-AF]|$) ([80-BF]|$) (ED|$) ([B0-BF]|$) ([80-BF]|$).
bool cesu8_matches(std::string_view b, size_t i) {
  if (!byte_in(b, i, 0xED, 0xED)) return false;
  static constexpr unsigned kGroups[5][2] = {{0xA0, 0xAF}, {0x80, 0xBF}, {0xED, 0xED}, {0xB0, 0xBF}, {0x80, 0xBF}};
  size_t k = i + 1;
  for (const auto& g : kGroups) {
    if (byte_in(b, k, g[0], g[1])) ++k;
    else if (!at_dollar(b, k)) return false;
  }
  return true;
}

// utf8_variants.SPECIAL_BYTES_RE matching at `i`: C0 (80|$), or a CESU-8 pair, or ED ([A0-BF]|$) ([80-BF]|$).
bool special_at(std::string_view b, size_t i) {
  if (byte_in(b, i, 0xC0, 0xC0)) return byte_in(b, i + 1, 0x80, 0x80) || at_dollar(b, i + 1);
  if (!byte_in(b, i, 0xED, 0xED)) return false;
  if (cesu8_matches(b, i)) return true;
  size_t k = i + 1;
  if (byte_in(b, k, 0xA0, 0xBF)) ++k;
  else if (!at_dollar(b, k)) return false;
  return byte_in(b, k, 0x80, 0xBF) || at_dollar(b, k);
}

}  // namespace

std::optional<std::u32string> decode_utf8_strict(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  if (!decode_utf8_into(bytes, out)) return std::nullopt;
  return out;
}

// IncrementalDecoder._buffer_decode with final=True: plain UTF-8 up to the next special sequence, then
// that sequence by hand (what the real decoder rejects there still fails: a lone surrogate, C0 alone).
std::optional<std::u32string> decode_utf8_variants(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t special = pos;
    while (special < bytes.size() && !special_at(bytes, special)) ++special;
    if (!decode_utf8_into(bytes.substr(pos, special - pos), out)) return std::nullopt;
    pos = special;
    if (pos == bytes.size()) break;
    const size_t left = bytes.size() - pos;
    if (static_cast<unsigned char>(bytes[pos]) == 0xC0) {
      if (left < 2) return std::nullopt;  // C0 alone at the end: the UTF-8 decoder raises
      out.push_back(U'\0');                // C0 80 (or C0 before a final newline, as the regex allows)
      pos += 2;
    } else if (left < 6) {
      if (!decode_utf8_into(bytes.substr(pos), out)) return std::nullopt;
      pos = bytes.size();
    } else if (cesu8_matches(bytes, pos)) {
      const auto at = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(bytes[pos + k])); };
      out.push_back(((at(1) & 0x0F) << 16) + ((at(2) & 0x3F) << 10) + ((at(4) & 0x0F) << 6) + (at(5) & 0x3F) +
                    0x10000);
      pos += 6;
    } else {
      // ED [A0-BF] ..: an encoded surrogate, which Python's decoder refuses.
      if (!decode_utf8_into(bytes.substr(pos, 3), out)) return std::nullopt;
      pos += 3;
    }
  }
  return out;
}

bool can_encode(std::u32string_view text, const SingleByteCodec& codec) {
  for (char32_t c : text) {
    if (c < 0x80 && c != 0x1A) continue;
    bool found = false;
    for (int b = 0x80; b <= 0x100 && !found; ++b) {
      const int byte = b == 0x100 ? 0x1A : b;
      found = codec.decode[byte] == static_cast<int32_t>(c);
    }
    if (!found) return false;
  }
  return true;
}

std::string encode_single_byte(std::u32string_view text, const SingleByteCodec& codec) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c < 0x80 && c != 0x1A) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    int byte = -1;
    for (int b = 0x80; b <= 0x100 && byte < 0; ++b) {
      const int candidate = b == 0x100 ? 0x1A : b;
      if (codec.decode[candidate] == static_cast<int32_t>(c)) byte = candidate;
    }
    if (byte < 0) throw std::logic_error("encode_single_byte: character not in the codec (check can_encode)");
    out.push_back(static_cast<char>(byte));
  }
  return out;
}

}  // namespace talkgen::model::umt5::ftfy
