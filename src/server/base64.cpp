#include "server/base64.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

#include "talkgen/error.hpp"

namespace talkgen::server {

namespace {

// What EVP_DecodeBlock would silently skip or misread is refused here first, so that a bad character is
// reported with its offset: the alphabet of RFC 4648 §4 only (no URL-safe '-' '_').
bool in_alphabet(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

bool is_space(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

std::string shown_character(unsigned char c) {
  return c >= 0x20 && c < 0x7f ? fmt::format("'{}'", char(c)) : fmt::format("0x{:02x}", c);
}

// Checked characters are decoded this many at a time (a multiple of 4), so a 64 MiB upload is not copied
// whole before decoding.
constexpr std::size_t kBlockChars = 4096;

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
  std::array<unsigned char, kBlockChars> block{};
  std::array<unsigned char, kBlockChars / 4 * 3> decoded{};
  std::size_t filled = 0, characters = 0;
  int padding = 0;
  const auto decode_block = [&] {
    const int got = EVP_DecodeBlock(decoded.data(), block.data(), static_cast<int>(filled));
    if (got < 0) fail(ErrorCode::internal, "OpenSSL refused checked base64 in '{}'", field);
    out.insert(out.end(), decoded.begin(), decoded.begin() + got);
    filled = 0;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (is_space(c)) continue;
    if (c == '=' && padding < 2) {
      ++padding;
      continue;
    }
    if (!in_alphabet(c) || padding > 0)
      fail(ErrorCode::invalid_argument, "'{}' is not valid base64: unexpected character {} at offset {}; "
           "expected A-Z a-z 0-9 + / (and up to two = of padding at the end)", field, shown_character(c), i);
    block[filled++] = c;
    ++characters;
    if (filled == block.size()) decode_block();
  }
  const std::size_t tail = characters % 4;
  if (tail == 1)
    fail(ErrorCode::invalid_argument, "'{}' is not valid base64: it ends with a lone character (truncated?)", field);
  if (padding > 0 && (tail + static_cast<std::size_t>(padding)) % 4 != 0)
    fail(ErrorCode::invalid_argument, "'{}' is not valid base64: {} '=' of padding after a group of {} character(s)",
         field, padding, tail);
  if (tail == 0) {
    if (filled > 0) decode_block();
    return out;
  }
  // Padding is optional on input: complete the last group, then drop the bytes that '=' stands for
  // (EVP_DecodeBlock counts 3 bytes per group, padding included).
  for (std::size_t k = tail; k < 4; ++k) block[filled++] = '=';
  decode_block();
  out.resize(out.size() - (4 - tail));
  return out;
}

std::string encode_base64(const std::uint8_t* data, std::size_t size) {
  // Whole groups of 3 bytes per call (EVP_EncodeBlock pads each call's end), within its int lengths.
  constexpr std::size_t kBlockBytes = 3 * 16384;
  // Written in place: each call also writes a NUL after its text, which lands on the next call's first
  // character or, at the end, on the string's own terminator (where a NUL belongs).
  std::string out((size + 2) / 3 * 4, '\0');
  auto* at = reinterpret_cast<unsigned char*>(out.data());
  for (std::size_t done = 0; done < size; done += kBlockBytes)
    at += EVP_EncodeBlock(at, data + done, static_cast<int>(std::min(kBlockBytes, size - done)));
  return out;
}

}  // namespace talkgen::server
