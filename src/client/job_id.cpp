#include "client/job_id.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <sys/random.h>

#include "talkgen/error.hpp"

namespace talkgen::client {
namespace {

bool fill_from_getrandom(std::uint8_t* out, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::getrandom(out + done, size - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;  // e.g. ENOSYS in an old container: fall back to the device file
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool fill_from_urandom(std::uint8_t* out, std::size_t size) {
  std::FILE* f = std::fopen("/dev/urandom", "rb");
  if (!f) return false;
  const bool ok = std::fread(out, 1, size, f) == size;
  std::fclose(f);
  return ok;
}

}  // namespace

std::string make_job_id() {
  std::uint8_t bytes[16];
  if (!fill_from_getrandom(bytes, sizeof bytes) && !fill_from_urandom(bytes, sizeof bytes))
    fail(ErrorCode::internal, "cannot make a job id: neither getrandom() nor /dev/urandom is readable ({}); "
         "give the job an id of your own", std::strerror(errno));
  static const char* kHex = "0123456789abcdef";
  std::string id;
  id.reserve(32);
  for (std::uint8_t b : bytes) {
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 15]);
  }
  return id;
}

}  // namespace talkgen::client
