// SHA-256 and HMAC-SHA256 through OpenSSL's EVP interface: request fingerprints (job_request.hpp) and
// webhook signatures (webhooks.hpp).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace talkgen::server {

/// An incremental SHA-256. add_piece() also hashes each piece's length, so that pieces fed one after
/// another cannot shift their boundaries ("ab" + "c" and "a" + "bc" differ).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void add_piece(const void* data, std::size_t size);
  /// 64 lowercase hex digits. Call once.
  std::string hex_digest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

/// HMAC-SHA256 of `message` under `key`, as 64 lowercase hex digits.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// Compares two strings in time that depends only on their lengths (for secrets and signatures).
bool equal_in_constant_time(std::string_view a, std::string_view b);

}  // namespace talkgen::server
