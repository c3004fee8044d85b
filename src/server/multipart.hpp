// multipart/form-data bodies (RFC 7578) as POST /v1/jobs takes them: each part's name (from
// Content-Disposition) and its bytes. Strict and bounded: one pass over the body, no recursion (a part
// that is itself multipart is just bytes), a cap on the number of parts and on each part's header, each
// name at most once; anything else is a 400 that says what was wrong.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

namespace talkgen::server {

struct MultipartLimits {
  std::size_t max_parts = 32;                 ///< the job form has 16 fields at most
  std::size_t max_part_header_bytes = 8192;   ///< one part's header block
  std::size_t max_name_bytes = 100;           ///< a part's name
};

/// The boundary parameter of a "multipart/form-data; boundary=..." Content-Type (quoted or not).
/// Throws HttpError(400) when it is missing or not a valid boundary (1..70 characters of RFC 2046's set).
std::string multipart_boundary(std::string_view content_type);

/// name -> content of every part (file parts and text fields alike; the same map as job_request.hpp's
/// FormParts). Throws HttpError(400, "bad_request") for a malformed body: no opening or closing
/// delimiter, a part without Content-Disposition "form-data; name=...", a name used twice, a
/// Content-Transfer-Encoding other than binary/7bit/8bit, more parts or a longer header than `limits`.
std::map<std::string, std::string> parse_multipart_form(std::string_view body, std::string_view boundary,
                                                        const MultipartLimits& limits = {});

}  // namespace talkgen::server
