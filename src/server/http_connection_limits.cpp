#include "server/http_connection_limits.hpp"

namespace talkgen::server {

ConnectionLimiter::ConnectionLimiter(std::size_t max_total, std::size_t max_per_client)
    : max_total_(max_total), max_per_client_(max_per_client) {}

ConnectionLimiter::Verdict ConnectionLimiter::try_open(const std::string& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (total_ >= max_total_) return Verdict::too_many_total;
  const auto it = per_client_.find(client);
  if (it != per_client_.end() && it->second >= max_per_client_) return Verdict::too_many_from_client;
  ++total_;
  ++per_client_[client];
  return Verdict::admitted;
}

void ConnectionLimiter::close(const std::string& client) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = per_client_.find(client);
  if (it == per_client_.end()) return;
  --total_;
  if (--it->second == 0) per_client_.erase(it);
}

std::size_t ConnectionLimiter::open_total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_;
}

std::size_t ConnectionLimiter::open_from(const std::string& client) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = per_client_.find(client);
  return it == per_client_.end() ? 0 : it->second;
}

}  // namespace talkgen::server
