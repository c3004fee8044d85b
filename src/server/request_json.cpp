#include "server/request_json.hpp"

#include <fmt/format.h>

#include "server/http_error.hpp"

namespace talkgen::server {

namespace {

using nlohmann::json;

struct TooDeep {};

json parse_bounded(std::string_view text, int max_depth) {
  // The callback sees each value's depth as it is opened; throwing stops the parse at once, before the
  // deep part is ever built.
  const json::parser_callback_t bound = [max_depth](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= max_depth)
      throw TooDeep{};
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), bound, /*allow_exceptions=*/false);
  } catch (const TooDeep&) {
    throw HttpError(400, "bad_request",
                    fmt::format("the JSON body is nested more than {} levels deep; the API needs at most 3",
                                max_depth));
  }
}

}  // namespace

json parse_request_object(std::string_view text, int max_depth) {
  json body = parse_bounded(text, max_depth);
  if (body.is_discarded())
    throw HttpError(400, "bad_request",
                    "the body is not valid JSON; send a JSON object (Content-Type: application/json) or "
                    "multipart/form-data");
  if (!body.is_object())
    throw HttpError(400, "bad_request", fmt::format("the body is JSON {}; expected an object", body.type_name()));
  return body;
}

json parse_request_value(std::string_view text, int max_depth) { return parse_bounded(text, max_depth); }

}  // namespace talkgen::server
