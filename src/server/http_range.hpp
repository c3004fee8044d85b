// The Range header of GET /v1/jobs/{id}/video (RFC 7233), reduced to what a video player needs: one byte
// range. Several ranges are answered with the whole file (200; RFC 7233 §3.1 lets a server ignore Range),
// so no request can make the server slice a file into many parts; a syntactically invalid Range is ignored
// the same way (§3.1 requires it); a range that starts past the end is 416.
#pragma once

#include <cstdint>
#include <string_view>

namespace talkgen::server {

struct RangeDecision {
  enum class Kind { whole, partial, unsatisfiable };
  Kind kind = Kind::whole;
  std::uint64_t first = 0;   ///< partial: the first byte
  std::uint64_t length = 0;  ///< partial: how many bytes (>= 1)
};

/// `header` is the Range value (empty: no Range); `size` the file's size in bytes.
/// "bytes=a-b" (b clamped to the end), "bytes=a-", "bytes=-n" (the last n bytes) -> partial;
/// a range starting at or past the end, "bytes=-0", or any range of an empty file -> unsatisfiable;
/// no header, another unit, several ranges or bad syntax (b < a, not digits) -> whole.
RangeDecision decide_range(std::string_view header, std::uint64_t size);

}  // namespace talkgen::server
