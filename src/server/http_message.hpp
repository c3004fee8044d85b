// One HTTP request and its answer as the routes see them, with no socket or HTTP library in sight: the
// transport (http_transport.hpp) fills an HttpRequest from the wire and writes the HttpResponse back.
//
// A response is one of three kinds: a body in memory (JSON, the page), a slice of an open file (the video,
// streamed in chunks, never loaded whole) or an event stream (Server-Sent Events, polled by the transport
// on a timer so no thread waits on it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace talkgen::server {

/// Header fields as sent; names compare case-insensitively.
class HeaderList {
 public:
  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  /// The first field called `name`, nullopt when there is none.
  std::optional<std::string_view> get(std::string_view name) const;
  /// How many fields are called `name` (a repeated Host or Content-Type is refused).
  std::size_t count(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct HttpRequest {
  std::string method;     ///< as sent: "GET", "POST", or anything a client made up
  std::string target;     ///< "/v1/jobs?limit=1"
  std::string path;       ///< "/v1/jobs" (not percent-decoded: routes and ids need no escapes)
  std::multimap<std::string, std::string> query;  ///< percent-decoded names and values
  HeaderList headers;
  std::string body;       ///< empty until the transport has read it (after admission)
  std::string client;     ///< the peer's address, for logs
  int version = 11;       ///< 10 or 11
  /// The body's framing as the HTTP parser reads it (the transport fills these from its parser, so the
  /// checks judge the body the parser will actually read, not their own reading of the header).
  bool chunked = false;
  std::optional<std::uint64_t> content_length;

  /// Filled by the routes at admission (the transport uses them for metrics and dispatch).
  std::string route_label = "none";      ///< a fixed route pattern, e.g. "/v1/jobs/{id}" (bounded)
  std::vector<std::string> path_params;  ///< the route's captures, percent-decoded (a job id)
  int route_id = -1;                     ///< the routes' own number for the route they matched

  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  /// The first value of a query parameter.
  std::optional<std::string> query_value(const std::string& name) const;
};

/// An open file descriptor, closed on destruction.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) noexcept : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

/// Bytes [offset, offset + length) of an open file, read with pread() while the answer is written.
struct FileSlice {
  UniqueFd fd;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

/// A Server-Sent Events source. The transport calls poll() on a worker thread every poll interval (one
/// call at a time per stream), so a stream costs no thread while it waits.
class EventStream {
 public:
  virtual ~EventStream() = default;
  /// Text to send now ("" when there is nothing new), or nullopt when the stream is over. Must not block.
  virtual std::optional<std::string> poll() = 0;
};

struct HttpResponse;

/// An answer that is not ready yet (a long poll: GET /v1/jobs/{id}?wait=N). The transport calls poll() on a
/// worker thread every poll interval (one call at a time), holding no thread in between, and sends the
/// answer it returns. `answer_now` is true once the server is stopping: poll() must answer then.
class PendingAnswer {
 public:
  virtual ~PendingAnswer() = default;
  /// The answer, or nullopt to be asked again later. Must not block.
  virtual std::optional<HttpResponse> poll(bool answer_now) = 0;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  ///< besides Content-Type / Content-Length
  std::string content_type = "application/json";
  std::string body;                     ///< the body, unless `file` or `events` is set
  std::shared_ptr<FileSlice> file;      ///< the body is this slice of a file
  std::shared_ptr<EventStream> events;  ///< the body is this event stream (chunked, until it ends)
  std::shared_ptr<PendingAnswer> pending;  ///< no answer yet: the transport polls this for it (the rest unused)
  bool close = false;                   ///< close the connection after this answer

  HttpResponse& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

/// `status` with a JSON body.
HttpResponse json_response(int status, std::string json_text);
/// `status` with the API's error body {"code", "message"} (http_error.hpp).
HttpResponse error_response(int status, const std::string& code, const std::string& message);

/// Splits a request target into its path and decoded query parameters. False when the target is not in
/// origin form ("/path?query") or holds a malformed percent escape.
bool parse_request_target(std::string_view target, std::string& path, std::multimap<std::string, std::string>& query);

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`). nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

/// ASCII case-insensitive equality (HTTP names and tokens).
bool iequals_ascii(std::string_view a, std::string_view b) noexcept;

}  // namespace talkgen::server
