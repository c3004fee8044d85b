#include "server/multipart.hpp"

#include <utility>
#include <vector>

#include <fmt/format.h>

#include "server/http_checks.hpp"
#include "server/http_error.hpp"
#include "server/http_message.hpp"

namespace talkgen::server {

namespace {

[[noreturn]] void bad_form(const std::string& message) {
  throw HttpError(400, "bad_request", "malformed multipart/form-data body: " + message);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

using Parameters = std::vector<std::pair<std::string, std::string>>;

// The "; name=value" parameters after a header's main value (RFC 7231 §3.1.1.1): values are tokens or
// quoted strings with backslash escapes. False when malformed.
bool parse_parameters(std::string_view text, Parameters& out) {
  std::size_t i = 0;
  const auto skip_space = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  while (true) {
    skip_space();
    if (i == text.size()) return true;
    if (text[i] != ';') return false;
    ++i;
    skip_space();
    if (i == text.size()) return true;  // a trailing ';'
    const auto eq = text.find('=', i);
    if (eq == std::string_view::npos) return false;
    std::string name = lower_ascii(trim(text.substr(i, eq - i)));
    if (name.empty()) return false;
    i = eq + 1;
    skip_space();
    std::string value;
    if (i < text.size() && text[i] == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        const char c = text[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < text.size()) value.push_back(text[i++]);
        else value.push_back(c);
      }
      if (!closed) return false;
    } else {
      const auto end = text.find(';', i);
      value = std::string(trim(text.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
      i = end == std::string_view::npos ? text.size() : end;
    }
    out.emplace_back(std::move(name), std::move(value));
  }
}

const std::string* find_parameter(const Parameters& parameters, std::string_view name) {
  for (const auto& [n, v] : parameters)
    if (n == name) return &v;
  return nullptr;
}

bool is_boundary_char(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

}  // namespace

std::string multipart_boundary(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  Parameters parameters;
  if (semicolon == std::string_view::npos || !parse_parameters(content_type.substr(semicolon), parameters))
    throw HttpError(400, "bad_request", "the multipart/form-data Content-Type has no boundary parameter");
  const std::string* boundary = find_parameter(parameters, "boundary");
  if (!boundary) throw HttpError(400, "bad_request", "the multipart/form-data Content-Type has no boundary parameter");
  bool valid = !boundary->empty() && boundary->size() <= 70 && boundary->back() != ' ';
  for (const char c : *boundary) valid = valid && is_boundary_char(c);
  if (!valid)
    throw HttpError(400, "bad_request", "the multipart boundary must be 1 to 70 characters of letters, digits "
                    "and '()+_,-./:=? (RFC 2046)");
  return *boundary;
}

std::map<std::string, std::string> parse_multipart_form(std::string_view body, std::string_view boundary,
                                                        const MultipartLimits& limits) {
  // Every part ends at CRLF "--boundary". The boundary holds no CR, so each search below is linear in
  // the body whatever the body holds.
  const std::string delimiter = "\r\n--" + std::string(boundary);
  const std::string_view first_delimiter = std::string_view(delimiter).substr(2);
  std::size_t pos = 0;
  if (body.substr(0, first_delimiter.size()) == first_delimiter) {
    pos = first_delimiter.size();
  } else {
    const auto at = body.find(delimiter);  // after a preamble, which is ignored
    if (at == std::string_view::npos) bad_form("the body does not start with the boundary of its Content-Type");
    pos = at + delimiter.size();
  }

  std::map<std::string, std::string> parts;
  while (true) {
    if (body.substr(pos, 2) == "--") return parts;  // the closing delimiter; an epilogue is ignored
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") bad_form("a boundary line does not end with CRLF");
    pos += 2;
    if (parts.size() == limits.max_parts)
      bad_form(fmt::format("more than {} parts; the job form has far fewer", limits.max_parts));

    // The part's header lines, up to an empty line.
    const std::size_t header_start = pos;
    std::string name;
    bool has_disposition = false;
    while (true) {
      const auto eol = body.find("\r\n", pos);
      if (eol == std::string_view::npos || eol + 2 - header_start > limits.max_part_header_bytes)
        bad_form(fmt::format("a part's header is not terminated within {} bytes", limits.max_part_header_bytes));
      const std::string_view line = body.substr(pos, eol - pos);
      pos = eol + 2;
      if (line.empty()) break;
      if (line.front() == ' ' || line.front() == '\t') bad_form("a part's header uses obsolete line folding");
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) bad_form("a part's header line has no ':'");
      const std::string field = lower_ascii(trim(line.substr(0, colon)));
      const std::string_view value = trim(line.substr(colon + 1));
      if (field == "content-disposition") {
        if (has_disposition) bad_form("a part has two Content-Disposition headers");
        has_disposition = true;
        Parameters parameters;
        const auto semicolon = value.find(';');
        if (!iequals_ascii(trim(value.substr(0, semicolon)), "form-data") ||
            semicolon == std::string_view::npos || !parse_parameters(value.substr(semicolon), parameters))
          bad_form("a part's Content-Disposition is not 'form-data; name=\"...\"'");
        const std::string* n = find_parameter(parameters, "name");
        if (!n || n->empty()) bad_form("a part's Content-Disposition has no name");
        if (n->size() > limits.max_name_bytes)
          bad_form(fmt::format("a part's name is longer than {} bytes", limits.max_name_bytes));
        name = *n;
      } else if (field == "content-transfer-encoding") {
        const std::string encoding = lower_ascii(value);
        if (encoding != "binary" && encoding != "7bit" && encoding != "8bit")
          bad_form(fmt::format("part Content-Transfer-Encoding '{}' is not supported; send the bytes as they are",
                               clip_for_message(value)));
      }
    }
    if (!has_disposition) bad_form("a part has no Content-Disposition header");

    const auto end = body.find(delimiter, pos);
    if (end == std::string_view::npos)
      bad_form(fmt::format("the body ends inside part '{}': the closing boundary is missing", clip_for_message(name)));
    if (!parts.emplace(name, std::string(body.substr(pos, end - pos))).second)
      bad_form(fmt::format("the part '{}' appears twice", clip_for_message(name)));
    pos = end + delimiter.size();
  }
}

}  // namespace talkgen::server
