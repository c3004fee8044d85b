// The /v1 routes, /healthz, /metrics and the web page on a cpp-httplib server. Each handler turns its
// exceptions into a JSON error (http_error.hpp); auth and limits are applied before (server.cpp).
#pragma once

#include <string>

namespace httplib {
class Server;
struct Request;
struct Response;
}

namespace talkgen::server {

class JobService;
class HttpMetrics;
struct ServerOptions;

/// Every handler but /healthz first checks the token (when `options.token` is set) and answers 401 JSON.
void add_routes(httplib::Server& http, JobService& jobs, HttpMetrics& metrics, const ServerOptions& options);

/// Whether `req` carries `token` ("Authorization: Bearer <token>" or ?access_token=); true when no token is set.
bool is_authorized(const httplib::Request& req, const std::string& token);
/// The 401 answer (nothing about the server in it).
void send_unauthorized(httplib::Response& res);

}  // namespace talkgen::server
