#include "server/http_transport.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/http_body_budget.hpp"
#include "server/http_checks.hpp"
#include "server/http_connection_limits.hpp"
#include "server/http_error.hpp"
#include "server/metrics.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::server {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// The read buffer of a connection: the header parser stops at max_header_bytes and the body goes into the
// request as it is parsed. Beast applies no limit of its own to a chunk's size line (with its extensions)
// or to the trailer fields after the last chunk: they must fit in this buffer, and 64 KiB also keeps every
// trailer field under the 64 KiB at which Beast's field list throws instead of failing the parse.
constexpr std::size_t kReadBufferLimit = 64 * 1024;
// Answers to connections over a cap that may be in flight at once; beyond, such a connection is just closed.
constexpr int kMaxRefusalsInFlight = 64;

// A slice of an open file as a Beast body: read with pread() in 64 KiB pieces while the answer is written,
// so a video is never loaded whole and a range costs no seek state.
struct FileSliceBody {
  using value_type = std::shared_ptr<FileSlice>;

  static std::uint64_t size(const value_type& body) { return body ? body->length : 0; }

  class writer {
   public:
    using const_buffers_type = net::const_buffer;

    template <bool isRequest, class Fields>
    writer(const http::header<isRequest, Fields>&, const value_type& body) : slice_(body) {}

    void init(beast::error_code& ec) {
      position_ = slice_ ? slice_->offset : 0;
      remaining_ = slice_ ? slice_->length : 0;
      ec = {};
    }

    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      if (remaining_ == 0) {
        ec = {};
        return boost::none;
      }
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, buffer_.size()));
      ssize_t got = 0;
      do {
        got = ::pread(slice_->fd.get(), buffer_.data(), want, static_cast<off_t>(position_));
      } while (got < 0 && errno == EINTR);
      if (got <= 0) {  // an error, or the file shrank under us: the client sees a short body and a close
        ec = got < 0 ? beast::error_code(errno, beast::system_category())
                     : beast::error_code(EIO, beast::system_category());
        return boost::none;
      }
      position_ += static_cast<std::uint64_t>(got);
      remaining_ -= static_cast<std::uint64_t>(got);
      ec = {};
      return {{const_buffers_type(buffer_.data(), static_cast<std::size_t>(got)), remaining_ > 0}};
    }

   private:
    value_type slice_;
    std::uint64_t position_ = 0, remaining_ = 0;
    std::array<char, 64 * 1024> buffer_;
  };
};

bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

// A whole HTTP answer as text, for connections refused before a session exists.
std::string raw_response(int status, const char* reason, const std::string& json_body) {
  return fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n"
                     "Connection: close\r\nRetry-After: 1\r\n\r\n{}",
                     status, reason, json_body.size(), json_body);
}

class Session;

// Everything the connections share. Sessions refer to it by reference: HttpTransport's destructor joins the
// workers and destroys the io_context (and with it every session) before the rest of this goes.
struct TransportCore {
  HttpApplication& app;
  HttpMetrics& metrics;
  const HttpTransportOptions options;
  ConnectionLimiter limiter;
  BodyMemoryBudget body_budget;
  std::unique_ptr<net::io_context> ioc;
  std::unique_ptr<net::thread_pool> workers;
  std::optional<tcp::acceptor> acceptor;  // on its own strand
  std::optional<net::steady_timer> accept_backoff;
  std::optional<net::steady_timer> stop_timer;
  std::atomic<bool> stopping{false};
  std::atomic<bool> tearing_down{false};
  std::atomic<int> refusals_in_flight{0};
  std::mutex sessions_mutex;
  std::map<const Session*, std::weak_ptr<Session>> sessions;

  TransportCore(HttpApplication& a, HttpMetrics& m, HttpTransportOptions o)
      : app(a),
        metrics(m),
        options(std::move(o)),
        limiter(options.max_connections, options.max_connections_per_client),
        body_budget(options.max_body_memory_bytes),
        ioc(std::make_unique<net::io_context>(options.io_threads)),
        workers(std::make_unique<net::thread_pool>(static_cast<std::size_t>(options.worker_threads))) {}

  void accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void refuse_connection(tcp::socket socket, ConnectionLimiter::Verdict verdict);
  void add_session(const std::shared_ptr<Session>& session);
  void remove_session(const Session* session);
  void stop(std::chrono::milliseconds grace);
};

// One client connection, from accept to close. Every step runs on the connection's strand; handlers run on
// the worker pool and post their answer back.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(TransportCore& core, tcp::socket&& socket, std::string client)
      : core_(core), stream_(std::move(socket)), buffer_(kReadBufferLimit), client_(std::move(client)),
        body_reservation_(core.body_budget), event_timer_(stream_.get_executor()) {
    core_.metrics.connection_opened();
  }

  ~Session() {
    core_.limiter.close(client_);
    core_.metrics.connection_closed();
    core_.remove_session(this);
  }

  void start() {
    core_.add_session(shared_from_this());
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->read_header(self->core_.options.header_timeout); });
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

  // The server is stopping: a connection between requests closes now; one in a request closes after its
  // answer.
  void on_server_stop() {
    stop_requested_ = true;
    if (idle_) close_now();
  }

 private:
  // --- reading a request -------------------------------------------------------------------------------

  // Between requests on a kept-alive connection: wait (up to io_timeout) for the next request to begin.
  void wait_for_request() {
    if (stop_requested_ || core_.stopping) return close_gracefully();
    if (buffer_.size() > 0) return read_header(core_.options.header_timeout);  // pipelined
    idle_ = true;
    stream_.expires_after(core_.options.io_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) return self->close_now();
      self->buffer_.commit(n);
      self->read_header(self->core_.options.header_timeout);
    });
  }

  // The whole header within `timeout` (a client that dribbles it byte by byte is cut off).
  void read_header(std::chrono::milliseconds timeout) {
    if (closed_) return;
    idle_ = true;
    request_ = HttpRequest{};
    request_.client = client_;
    status_ = 0;
    keep_alive_ = false;
    head_only_ = false;
    body_unread_ = false;
    run_inline_ = false;
    body_parser_.reset();
    body_reservation_.release();
    header_parser_.emplace();
    header_parser_->header_limit(static_cast<std::uint32_t>(core_.options.max_header_bytes));
    // The size is judged by admission, after the token, not here. (Not boost::none: Beast 1.74 compares
    // Content-Length > none as true and would refuse every body.)
    header_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    request_start_ = Clock::now();
    stream_.expires_after(timeout);
    http::async_read_header(stream_, buffer_, *header_parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (closed_) return;
    if (ec) {
      body_unread_ = true;
      if (ec == http::error::header_limit)
        return send(error_response(431, "bad_request", fmt::format("the request header is over {} bytes",
                                                                    core_.options.max_header_bytes)));
      if (is_http_parse_error(ec))
        return send(error_response(400, "bad_request", fmt::format("the request could not be parsed as HTTP: {}",
                                                                    ec.message())));
      return close_now();  // closed by the client, timed out, or the server stops
    }
    idle_ = false;
    const auto& head = header_parser_->get();
    request_.method = std::string(head.method_string());
    request_.target = std::string(head.target());
    request_.version = head.version() == 10 ? 10 : 11;
    for (const auto& field : head) request_.headers.add(std::string(field.name_string()), std::string(field.value()));
    keep_alive_ = head.keep_alive();
    head_only_ = head.method() == http::verb::head;
    const bool has_body = !header_parser_->is_done();
    request_.chunked = header_parser_->chunked();
    if (const auto length = header_parser_->content_length()) request_.content_length = *length;

    if (!parse_request_target(request_.target, request_.path, request_.query)) {
      body_unread_ = has_body;
      return send(error_response(400, "bad_request", "the request target is not a path ('/...') or holds a "
                                 "malformed %-escape"));
    }
    HttpApplication::Admission admission;
    try {
      admission = core_.app.admit(request_);
    } catch (const std::exception& e) {
      admission.refusal = error_response(500, "internal", fmt::format("internal error while checking the request: {}",
                                                                      e.what()));
    }
    if (admission.refusal) {
      body_unread_ = has_body;  // never read: the connection closes after the answer
      return send(std::move(*admission.refusal));
    }
    run_inline_ = admission.run_inline;
    if (!has_body) return dispatch();
    // A Content-Length body is allocated whole when its reading starts: its bytes come out of the budget
    // first. (A chunked body takes them as it grows: on_body.)
    if (!request_.chunked && !body_reservation_.grow_to(static_cast<std::size_t>(request_.content_length.value_or(0)))) {
      body_unread_ = true;
      return send(no_room_for_body_response(*request_.content_length));
    }

    body_parser_.emplace(std::move(*header_parser_));
    header_parser_.reset();
    body_parser_->body_limit(static_cast<std::uint64_t>(core_.options.max_body_bytes));
    body_unread_ = true;
    const auto expect = request_.header("Expect");
    if (expect && iequals_ascii(*expect, "100-continue")) {
      // The client waits for this before it sends the body: it only comes once the header has passed.
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(core_.options.io_timeout);
      net::async_write(stream_, net::buffer(kContinue), [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return self->close_now();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  // The body, at most max_body_bytes however it is framed; io_timeout without progress closes.
  void read_body() {
    stream_.expires_after(core_.options.io_timeout);
    http::async_read_some(stream_, buffer_, *body_parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (closed_) return;
    if (ec == http::error::body_limit) return send(body_too_large_response(core_.options.max_body_bytes));
    if (ec && is_http_parse_error(ec))
      return send(error_response(400, "bad_request", fmt::format("the request body is malformed: {}", ec.message())));
    if (ec) return close_now();
    // What the chunked body holds now (its string's capacity: the memory it really takes) must fit.
    if (request_.chunked && !body_reservation_.grow_to(body_parser_->get().body().capacity()))
      return send(no_room_for_body_response(std::nullopt));
    if (!body_parser_->is_done()) return read_body();
    body_unread_ = false;
    auto message = body_parser_->release();
    request_.body = std::move(message.body());
    body_parser_.reset();
    dispatch();
  }

  // 503: the bodies being read have taken --max-body-memory-mb (transient: the client may retry soon).
  HttpResponse no_room_for_body_response(std::optional<std::uint64_t> length) {
    const std::size_t mib = core_.options.max_body_memory_bytes >> 20;
    return error_response(503, "server_busy",
                          length ? fmt::format("the server is reading other uploads and has no room for this "
                                               "body of {} bytes now (--max-body-memory-mb {}); retry shortly",
                                               *length, mib)
                                 : fmt::format("the uploads being read, this chunked one among them, have taken "
                                               "all of --max-body-memory-mb {}; retry shortly",
                                               mib))
        .header("Retry-After", "1");
  }

  // --- answering ---------------------------------------------------------------------------------------

  HttpResponse handle_safely() {
    try {
      return core_.app.handle(request_);
    } catch (const std::exception& e) {
      return error_response(500, "internal", fmt::format("internal error: {}", e.what()));
    } catch (...) {
      return error_response(500, "internal", "internal error");
    }
  }

  void dispatch() {
    if (run_inline_) return send(handle_safely());
    net::post(*core_.workers, [self = shared_from_this()] {
      HttpResponse response = self->handle_safely();
      net::post(self->stream_.get_executor(),
                [self, response = std::move(response)]() mutable { self->send(std::move(response)); });
    });
  }

  template <class Body>
  void fill_header(http::response<Body>& message, const HttpResponse& response) {
    message.version(request_.version);
    message.result(static_cast<unsigned>(response.status));
    if (!response.content_type.empty()) message.set(http::field::content_type, response.content_type);
    message.set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : response.headers) message.insert(name, value);
    message.keep_alive(keep_alive_);
  }

  void send(HttpResponse response) {
    if (closed_) return;
    // The request's body has been used (or refused): its memory goes back to the budget now, not when the
    // connection reads its next request.
    body_parser_.reset();
    request_.body = std::string();
    body_reservation_.release();
    if (response.pending) return poll_pending(std::move(response.pending));
    status_ = response.status;
    keep_alive_ = keep_alive_ && !response.close && !body_unread_ && !stop_requested_ && !core_.stopping;
    if (response.events && !head_only_) return start_events(std::move(response));
    if (response.file) {
      auto message = std::make_shared<http::response<FileSliceBody>>();
      fill_header(*message, response);
      message->body() = response.file;
      message->prepare_payload();
      return write_message(std::move(message));
    }
    auto message = std::make_shared<http::response<http::string_body>>();
    fill_header(*message, response);
    message->body() = std::move(response.body);
    message->prepare_payload();
    write_message(std::move(message));
  }

  template <class Body>
  void write_message(std::shared_ptr<http::response<Body>> message) {
    auto serializer = std::make_shared<http::response_serializer<Body>>(*message);
    stream_.expires_after(core_.options.io_timeout);
    if (head_only_) {  // the header as for GET, Content-Length included, and no body
      http::async_write_header(stream_, *serializer, [self = shared_from_this(), message, serializer](
                                                          beast::error_code ec, std::size_t) { self->finish(ec); });
      return;
    }
    write_some(std::move(message), std::move(serializer));
  }

  // Piece by piece, so io_timeout bounds a stalled client rather than a long download.
  template <class Body>
  void write_some(std::shared_ptr<http::response<Body>> message,
                  std::shared_ptr<http::response_serializer<Body>> serializer) {
    stream_.expires_after(core_.options.io_timeout);
    http::async_write_some(stream_, *serializer, [self = shared_from_this(), message, serializer](
                                                     beast::error_code ec, std::size_t) {
      if (ec || serializer->is_done()) return self->finish(ec);
      self->write_some(message, serializer);
    });
  }

  // --- answers that wait (long polls) -------------------------------------------------------------------

  // poll() runs on a worker (it may touch the job store); nothing is held while the answer is not ready, and
  // the connection stays counted against the connection limits the whole time.
  void poll_pending(std::shared_ptr<PendingAnswer> pending) {
    if (closed_) return;
    const bool answer_now = stop_requested_ || core_.stopping;
    net::post(*core_.workers, [self = shared_from_this(), pending = std::move(pending), answer_now]() mutable {
      std::optional<HttpResponse> answer;
      try {
        answer = pending->poll(answer_now);
      } catch (const std::exception& e) {
        answer = error_response(500, "internal", fmt::format("internal error: {}", e.what()));
      }
      auto on_strand = [self, pending = std::move(pending), answer = std::move(answer)]() mutable {
        if (self->closed_) return;
        if (answer) return self->send(std::move(*answer));
        self->event_timer_.expires_after(self->core_.options.event_poll_interval);
        self->event_timer_.async_wait([self, pending = std::move(pending)](beast::error_code ec) mutable {
          if (!ec) self->poll_pending(std::move(pending));
        });
      };
      net::post(self->stream_.get_executor(), std::move(on_strand));
    });
  }

  // --- event streams -----------------------------------------------------------------------------------

  void start_events(HttpResponse response) {
    auto message = std::make_shared<http::response<http::empty_body>>();
    chunked_events_ = request_.version >= 11;
    if (!chunked_events_) keep_alive_ = false;  // HTTP/1.0: the stream ends with the connection
    fill_header(*message, response);
    if (chunked_events_) message->chunked(true);
    events_ = std::move(response.events);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*message);
    stream_.expires_after(core_.options.io_timeout);
    http::async_write_header(stream_, *serializer, [self = shared_from_this(), message, serializer](
                                                       beast::error_code ec, std::size_t) {
      if (ec) return self->finish(ec);
      self->poll_events();
    });
  }

  // poll() runs on a worker (it may touch the job store); the stream holds no thread in between.
  void poll_events() {
    if (closed_) return;
    net::post(*core_.workers, [self = shared_from_this(), events = events_] {
      std::optional<std::string> text;
      try {
        text = events->poll();
      } catch (const std::exception& e) {
        log_warn("http: event stream ended by an error: {}", e.what());
      }
      net::post(self->stream_.get_executor(),
                [self, text = std::move(text)]() mutable { self->on_polled(std::move(text)); });
    });
  }

  void on_polled(std::optional<std::string> text) {
    if (closed_) return;
    if (!text) return end_events();
    if (text->empty()) return poll_later();
    event_text_ = std::move(*text);
    stream_.expires_after(core_.options.io_timeout);
    auto written = [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->finish(ec);
      self->poll_later();
    };
    if (chunked_events_) net::async_write(stream_, http::make_chunk(net::buffer(event_text_)), std::move(written));
    else net::async_write(stream_, net::buffer(event_text_), std::move(written));
  }

  void poll_later() {
    event_timer_.expires_after(core_.options.event_poll_interval);
    event_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->poll_events();
    });
  }

  void end_events() {
    events_.reset();
    if (!chunked_events_) return finish({});
    stream_.expires_after(core_.options.io_timeout);
    net::async_write(stream_, http::make_chunk_last(),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->finish(ec); });
  }

  // --- after an answer ---------------------------------------------------------------------------------

  void finish(beast::error_code ec) {
    const double seconds = std::chrono::duration<double>(Clock::now() - request_start_).count();
    core_.metrics.observe(request_.route_label, request_.method, status_, seconds);
    log_debug("http: {} {} {} -> {} ({:.1f} ms)", client_, clip_for_message(request_.method, 16),
              clip_for_message(request_.path, 80), status_, seconds * 1000);
    events_.reset();
    if (ec) return close_now();
    if (!keep_alive_) return close_gracefully();
    wait_for_request();
  }

  // Half-close, then discard whatever the client still sends (a refused body) for a moment: closing with
  // unread data would reset the connection, and the client could lose the answer it has not read yet.
  void close_gracefully() {
    if (closed_) return;
    idle_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(core_.options.linger_timeout);
    linger_buffer_ = std::make_unique<std::array<char, 8192>>();
    discard_some();
  }

  void discard_some() {
    stream_.async_read_some(net::buffer(*linger_buffer_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->close_now();
      self->discard_some();
    });
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    event_timer_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  TransportCore& core_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  const std::string client_;
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> body_parser_;
  BodyReservation body_reservation_;  // this request's share of --max-body-memory-mb
  HttpRequest request_;
  Clock::time_point request_start_;
  int status_ = 0;
  bool keep_alive_ = false;
  bool head_only_ = false;
  bool body_unread_ = false;  // a body was announced and not (entirely) read: close after the answer
  bool run_inline_ = false;
  bool idle_ = true;          // no request in progress (between requests, or its header not complete)
  bool stop_requested_ = false;
  bool closed_ = false;
  // Event streams.
  std::shared_ptr<EventStream> events_;
  bool chunked_events_ = true;
  std::string event_text_;
  net::steady_timer event_timer_;
  std::unique_ptr<std::array<char, 8192>> linger_buffer_;
};

// A connection over a cap: a short 503, then closed. Nothing is read but what lingers.
class Refusal : public std::enable_shared_from_this<Refusal> {
 public:
  Refusal(TransportCore& core, tcp::socket&& socket, std::string text)
      : core_(core), stream_(std::move(socket)), text_(std::move(text)) {}
  ~Refusal() { --core_.refusals_in_flight; }

  void start() {
    stream_.expires_after(std::chrono::seconds(2));
    net::async_write(stream_, net::buffer(text_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->stream_.expires_after(std::chrono::seconds(1));
      self->discard_some();
    });
  }

 private:
  void discard_some() {
    stream_.async_read_some(net::buffer(sink_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->discard_some();
    });
  }

  TransportCore& core_;
  beast::tcp_stream stream_;
  std::string text_;
  std::array<char, 2048> sink_;
};

void TransportCore::accept() {
  acceptor->async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void TransportCore::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || stopping) return;
  if (ec) {
    // Out of file descriptors (or memory): wait a little instead of spinning on accept().
    log_warn("http: accept failed: {}; retrying in 100 ms", ec.message());
    accept_backoff->expires_after(std::chrono::milliseconds(100));
    accept_backoff->async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !stopping) accept();
    });
    return;
  }
  beast::error_code endpoint_ec;
  const auto remote = socket.remote_endpoint(endpoint_ec);
  if (endpoint_ec) return accept();  // already gone
  const std::string client = remote.address().to_string();
  const auto verdict = limiter.try_open(client);
  if (verdict == ConnectionLimiter::Verdict::admitted) {
    std::make_shared<Session>(*this, std::move(socket), client)->start();
  } else {
    refuse_connection(std::move(socket), verdict);
  }
  accept();
}

void TransportCore::refuse_connection(tcp::socket socket, ConnectionLimiter::Verdict verdict) {
  const bool total = verdict == ConnectionLimiter::Verdict::too_many_total;
  metrics.connection_refused(total ? "total" : "per_client");
  // Reserve a slot atomically (accepts run on several I/O threads); a flood: the socket just closes.
  if (refusals_in_flight.fetch_add(1) >= kMaxRefusalsInFlight) {
    --refusals_in_flight;
    return;
  }
  const std::string body =
      total ? error_body("too_many_connections",
                         fmt::format("the server holds its maximum of {} connections (--max-connections); try "
                                     "again shortly",
                                     options.max_connections))
            : error_body("too_many_connections",
                         fmt::format("this client address already holds {} connections "
                                     "(--max-connections-per-client); reuse them (keep-alive) or close some",
                                     options.max_connections_per_client));
  std::make_shared<Refusal>(*this, std::move(socket), raw_response(503, "Service Unavailable", body))->start();
}

void TransportCore::add_session(const std::shared_ptr<Session>& session) {
  std::lock_guard<std::mutex> lock(sessions_mutex);
  sessions.emplace(session.get(), session);
}

void TransportCore::remove_session(const Session* session) {
  std::lock_guard<std::mutex> lock(sessions_mutex);
  sessions.erase(session);
  // A graceful stop ends once the last connection has gone (not while the io_context is being destroyed).
  if (sessions.empty() && stopping && !tearing_down) ioc->stop();
}

void TransportCore::stop(std::chrono::milliseconds grace) {
  const bool first = !stopping.exchange(true);
  if (acceptor) {
    net::post(acceptor->get_executor(), [this] {
      beast::error_code ignored;
      acceptor->close(ignored);
      accept_backoff->cancel();
    });
  }
  if (grace.count() <= 0) {
    ioc->stop();
    return;
  }
  if (!first) return;
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard<std::mutex> lock(sessions_mutex);
    for (const auto& entry : sessions)
      if (auto s = entry.second.lock()) live.push_back(std::move(s));
    if (live.empty()) {
      ioc->stop();
      return;
    }
  }
  for (auto& s : live) net::post(s->executor(), [s] { s->on_server_stop(); });
  net::post(*ioc, [this, grace] {
    stop_timer.emplace(*ioc);
    stop_timer->expires_after(grace);
    stop_timer->async_wait([this](beast::error_code ec) {
      if (!ec) ioc->stop();
    });
  });
}

}  // namespace

struct HttpTransport::Impl {
  TransportCore core;
  Impl(HttpApplication& app, HttpMetrics& metrics, HttpTransportOptions options)
      : core(app, metrics, std::move(options)) {}
};

HttpTransport::HttpTransport(HttpApplication& app, HttpMetrics& metrics, HttpTransportOptions options) {
  if (options.io_threads < 1 || options.worker_threads < 1)
    fail(ErrorCode::invalid_argument, "the HTTP server needs at least one I/O and one worker thread");
  if (options.max_header_bytes > kReadBufferLimit / 2)
    fail(ErrorCode::invalid_argument, "the header limit of {} bytes is over the {} a read buffer allows",
         options.max_header_bytes, kReadBufferLimit / 2);
  if (options.max_body_memory_bytes < options.max_body_bytes)
    fail(ErrorCode::invalid_argument, "--max-body-memory-mb ({} bytes) is below --max-body-mb ({} bytes): no "
         "body of the largest size could ever be read; raise it", options.max_body_memory_bytes,
         options.max_body_bytes);
  impl_ = std::make_unique<Impl>(app, metrics, std::move(options));
}

HttpTransport::~HttpTransport() {
  TransportCore& core = impl_->core;
  core.stop(std::chrono::milliseconds(0));
  // Handlers still running finish (what they post back is never run); queued ones are dropped. The pool
  // goes first: its queued handlers hold sessions, whose sockets need the io_context.
  core.workers->stop();
  core.workers->join();
  core.tearing_down = true;
  core.workers.reset();
  core.stop_timer.reset();
  core.accept_backoff.reset();
  core.acceptor.reset();
  core.ioc.reset();  // destroys every pending handler, and with them the sessions
}

int HttpTransport::bind(const std::string& host, int port) {
  TransportCore& core = impl_->core;
  beast::error_code ec;
  tcp::resolver resolver(*core.ioc);
  const auto endpoints = resolver.resolve(host, std::to_string(port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty())
    fail(ErrorCode::io_error, "cannot listen on {}:{}: the address does not resolve ({})", host, port, ec.message());
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  core.acceptor.emplace(net::make_strand(*core.ioc));
  core.accept_backoff.emplace(core.acceptor->get_executor());
  core.acceptor->open(endpoint.protocol(), ec);
  if (!ec) core.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) core.acceptor->bind(endpoint, ec);
  if (!ec) core.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    fail(ErrorCode::io_error, "cannot listen on {}:{}: {}; pick another --port (0 = any free one) or a local "
         "address", host, port, ec.message());
  const int bound = core.acceptor->local_endpoint().port();
  core.accept();
  return bound;
}

void HttpTransport::run() {
  TransportCore& core = impl_->core;
  const auto serve = [&core] {
    for (;;) {
      try {
        core.ioc->run();
        return;
      } catch (const std::exception& e) {  // a bug in a handler: log it, keep serving the others
        log_error("http: unexpected error: {}", e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < core.options.io_threads; ++i) threads.emplace_back(serve);
  serve();
  for (auto& t : threads) t.join();
}

void HttpTransport::stop(std::chrono::milliseconds grace) { impl_->core.stop(grace); }

}  // namespace talkgen::server
