// How many connections the server holds at once, in total and per client address (--max-connections,
// --max-connections-per-client): one client, however many sockets it opens, cannot take every slot.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace talkgen::server {

class ConnectionLimiter {
 public:
  ConnectionLimiter(std::size_t max_total, std::size_t max_per_client);

  enum class Verdict { admitted, too_many_total, too_many_from_client };
  /// Takes a slot for a new connection from `client` (its IP address), or says why not. Thread-safe.
  Verdict try_open(const std::string& client);
  /// Gives back a slot taken by try_open.
  void close(const std::string& client);

  std::size_t open_total() const;
  std::size_t open_from(const std::string& client) const;

 private:
  const std::size_t max_total_, max_per_client_;
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::map<std::string, std::size_t> per_client_;  // only clients with open connections: bounded by max_total
};

}  // namespace talkgen::server
