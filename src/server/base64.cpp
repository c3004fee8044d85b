#include "server/base64.hpp"

#include <array>

#include "talkgen/error.hpp"

namespace talkgen::server {

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kTable = make_table();
}  // namespace

std::vector<std::uint8_t> decode_base64(std::string_view text, const std::string& field) {
  if (text.substr(0, 5) == "data:") {
    const auto comma = text.find(',');
    if (comma == std::string_view::npos || text.substr(0, comma).find(";base64") == std::string_view::npos)
      fail(ErrorCode::invalid_argument, "'{}' is a data: URL without ';base64,'; expected base64 text or a "
           "data:<type>;base64,... URL", field);
    text.remove_prefix(comma + 1);
  }
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t group = 0;
  int have = 0;
  bool padding = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int v = kTable[c];
    if (v < 0 || padding)
      fail(ErrorCode::invalid_argument, "'{}' is not valid base64: unexpected character {} at offset {}; "
           "expected A-Z a-z 0-9 + / (and = padding at the end)",
           field, c >= 0x20 && c < 0x7f ? fmt::format("'{}'", char(c)) : fmt::format("0x{:02x}", c), i);
    group = (group << 6) | static_cast<std::uint32_t>(v);
    if (++have == 4) {
      out.push_back(static_cast<std::uint8_t>(group >> 16));
      out.push_back(static_cast<std::uint8_t>(group >> 8));
      out.push_back(static_cast<std::uint8_t>(group));
      group = 0;
      have = 0;
    }
  }
  if (have == 1)
    fail(ErrorCode::invalid_argument, "'{}' is not valid base64: it ends with a lone character (truncated?)", field);
  if (have == 2) out.push_back(static_cast<std::uint8_t>(group >> 4));
  if (have == 3) {
    out.push_back(static_cast<std::uint8_t>(group >> 10));
    out.push_back(static_cast<std::uint8_t>(group >> 2));
  }
  return out;
}

std::string encode_base64(const std::uint8_t* data, std::size_t size) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (std::size_t i = 0; i < size; i += 3) {
    const std::uint32_t b0 = data[i], b1 = i + 1 < size ? data[i + 1] : 0, b2 = i + 2 < size ? data[i + 2] : 0;
    const std::uint32_t g = (b0 << 16) | (b1 << 8) | b2;
    out.push_back(kAlphabet[(g >> 18) & 63]);
    out.push_back(kAlphabet[(g >> 12) & 63]);
    out.push_back(i + 1 < size ? kAlphabet[(g >> 6) & 63] : '=');
    out.push_back(i + 2 < size ? kAlphabet[g & 63] : '=');
  }
  return out;
}

}  // namespace talkgen::server
