#include "media/media_limits.hpp"

#include "talkgen/error.hpp"

namespace talkgen::media {
namespace {

// Encoder delay and padding (MP3: up to two frames, about 0.15 s at 8 kHz; AAC priming) and edit lists make
// a complete file decode a little shorter than its header says; a cut file is short by far more.
constexpr double kShortfallSeconds = 0.25;
constexpr double kShortfallFraction = 0.01;

std::string setting_of(const DecodeLimits& limits, const char* field) {
  return limits.setting.empty() ? fmt::format("DecodeLimits::{}", field) : limits.setting;
}

}  // namespace

void check_limits(const DecodeLimits& limits) {
  if (limits.max_pixels <= 0)
    fail(ErrorCode::invalid_argument, "DecodeLimits::max_pixels is {}; expected a positive number of pixels",
         limits.max_pixels);
}

std::string pixel_limit_text(const DecodeLimits& limits) {
  return fmt::format("the limit of {} pixels ({})", limits.max_pixels, setting_of(limits, "max_pixels"));
}

void check_pixels(const std::string& name, std::int64_t width, std::int64_t height, const DecodeLimits& limits) {
  if (width <= 0 || height <= 0) return;  // unknown here; the decoder holds the picture to max_pixels
  if (width > limits.max_pixels / height)  // width * height > max_pixels, without overflow
    fail(ErrorCode::invalid_argument,
         "{} is a {}x{} picture ({} pixels), over {}; send a smaller picture (the video is made at 480p or "
         "720p anyway)",
         name, width, height, width * height, pixel_limit_text(limits));
}

void check_header_seconds(const std::string& name, std::optional<double> header_seconds, const DecodeLimits& limits,
                          const char* what) {
  if (header_seconds && over_seconds(*header_seconds, limits))
    fail(ErrorCode::invalid_argument,
         "{} is {:.1f} s of {} (as its header states), over the limit of {:g} s ({}); send shorter {} or split it "
         "into several jobs",
         name, *header_seconds, what, limits.max_seconds, setting_of(limits, "max_seconds"), what);
}

bool over_seconds(double seconds, const DecodeLimits& limits) {
  return limits.max_seconds > 0 && seconds > limits.max_seconds;
}

void fail_too_long(const std::string& name, const DecodeLimits& limits, const char* what) {
  fail(ErrorCode::invalid_argument,
       "{} holds more than {:g} s of {}, the limit ({}); decoding stopped there. Send shorter {} or split it into "
       "several jobs",
       name, limits.max_seconds, what, setting_of(limits, "max_seconds"), what);
}

void check_complete(const std::string& name, std::optional<double> header_seconds, double decoded_seconds,
                    bool last_packet_rejected, const char* what) {
  if (!header_seconds) return;
  const double shortfall = *header_seconds - decoded_seconds;
  const bool markedly_short = shortfall > kShortfallSeconds + kShortfallFraction * *header_seconds;
  // A little short is padding, unless the last packet failed to decode: then the file ends inside it.
  const bool cut_in_packet = last_packet_rejected && shortfall > 0;
  if (markedly_short || cut_in_packet)
    fail(ErrorCode::invalid_argument,
         "{} is truncated: its header states {:.3f} s of {} but it holds only {:.3f} s{}; the file was cut short "
         "(an interrupted download or copy?): send the whole file",
         name, *header_seconds, what, decoded_seconds,
         last_packet_rejected ? " and its last packet is damaged" : "");
}

}  // namespace talkgen::media
