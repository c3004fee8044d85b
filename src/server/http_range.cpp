#include "server/http_range.hpp"

#include <algorithm>
#include <limits>
#include <optional>

#include "server/http_message.hpp"

namespace talkgen::server {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Digits only; a value past 2^64 saturates (it is past the end of any file either way). nullopt when
// empty or not all digits.
std::optional<std::uint64_t> parse_position(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (kMax - digit) / 10 ? kMax : value * 10 + digit;
  }
  return value;
}

}  // namespace

RangeDecision decide_range(std::string_view header, std::uint64_t size) {
  using Kind = RangeDecision::Kind;
  constexpr std::string_view kUnit = "bytes=";
  header = trim(header);
  if (header.size() <= kUnit.size() || !iequals_ascii(header.substr(0, kUnit.size()), kUnit)) return {};
  const std::string_view spec = trim(header.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return {};  // several ranges: the whole file
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  const std::string_view first_text = trim(spec.substr(0, dash)), last_text = trim(spec.substr(dash + 1));
  const auto first = parse_position(first_text), last = parse_position(last_text);
  if ((!first_text.empty() && !first) || (!last_text.empty() && !last) || (!first && !last)) return {};

  RangeDecision d;
  if (!first) {  // "-n": the last n bytes
    if (*last == 0 || size == 0) return {Kind::unsatisfiable, 0, 0};
    d.length = std::min(*last, size);
    d.first = size - d.length;
  } else {
    if (last && *last < *first) return {};  // syntactically invalid: ignored
    if (*first >= size) return {Kind::unsatisfiable, 0, 0};
    const std::uint64_t end = last ? std::min(*last, size - 1) : size - 1;
    d.first = *first;
    d.length = end - *first + 1;
  }
  d.kind = Kind::partial;
  return d;
}

}  // namespace talkgen::server
