// The checks every decoder makes against DecodeLimits and against what a file's header promises, with one
// wording for all of them: a picture too large, media too long, a file that ends before its header says.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "talkgen/media.hpp"

namespace talkgen::media {

/// invalid_argument when `limits.max_pixels` is not positive (a caller's mistake, not a bound).
void check_limits(const DecodeLimits& limits);

/// "the limit of N pixels (--max-image-pixels)": for messages where the decoder refused a picture whose size
/// the headers did not state.
std::string pixel_limit_text(const DecodeLimits& limits);

/// invalid_argument when a width x height picture of `name` is over `limits.max_pixels`.
void check_pixels(const std::string& name, std::int64_t width, std::int64_t height, const DecodeLimits& limits);

/// invalid_argument when the header's length of `name` is over `limits.max_seconds` (`what`: "audio", "video").
void check_header_seconds(const std::string& name, std::optional<double> header_seconds, const DecodeLimits& limits,
                          const char* what);

/// Whether `seconds` decoded so far are over `limits.max_seconds`.
bool over_seconds(double seconds, const DecodeLimits& limits);
/// The invalid_argument for a decode stopped at `limits.max_seconds`.
[[noreturn]] void fail_too_long(const std::string& name, const DecodeLimits& limits, const char* what);

/// invalid_argument when `name`, read to its end, holds less than its header states: markedly less
/// (more than 0.25 s + 1% short: beyond encoder padding and edit lists), or less and the last packet was
/// rejected by the decoder (the file ends mid-packet). No-op without a header length.
void check_complete(const std::string& name, std::optional<double> header_seconds, double decoded_seconds,
                    bool last_packet_rejected, const char* what);

}  // namespace talkgen::media
