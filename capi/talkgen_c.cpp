// The C ABI: translates handles, params structs, errors and callbacks to the C++ API. Nothing else lives here.
#include <cstdint>
#include "talkgen.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "talkgen/encoder.hpp"
#include "talkgen/error.hpp"
#include "talkgen/media.hpp"
#include "talkgen/still_video.hpp"
#include "talkgen/version.hpp"

namespace {

thread_local std::string last_error;

talkgen_status record(talkgen::ErrorCode code, const char* message) {
  last_error = message;
  return static_cast<talkgen_status>(code);
}

// Runs `body`, turning every exception into a status and this thread's last error.
template <typename Body>
talkgen_status guarded(Body&& body) {
  last_error.clear();
  try {
    body();
    return TALKGEN_OK;
  } catch (const talkgen::Error& e) {
    return record(e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return record(talkgen::ErrorCode::out_of_memory, "out of host memory");
  } catch (const std::exception& e) {
    return record(talkgen::ErrorCode::internal, e.what());
  }
}

// A params struct from an older caller may be shorter: copy what it has over our defaults.
template <typename Params>
Params read_params(const Params* given, Params defaults) {
  if (!given) talkgen::fail(talkgen::ErrorCode::invalid_argument, "params is NULL: pass the result of *_params_default()");
  if (given->struct_size == 0 || given->struct_size > sizeof(Params)) {
    talkgen::fail(talkgen::ErrorCode::invalid_argument,
                  "params.struct_size is {} (expected 1..{}): initialise params with the *_default() function",
                  given->struct_size, sizeof(Params));
  }
  std::memcpy(&defaults, given, given->struct_size);
  return defaults;
}

talkgen::Encoder encode_still(const talkgen_encode_params& p, talkgen::Encoder encoder) {
  const talkgen::Image image = talkgen::decode_image(p.image_path);
  talkgen::SpeechOptions speech;
  if (p.voice) speech.voice = p.voice;
  speech.sample_rate = 48000;
  const talkgen::Audio audio =
      p.audio_path ? talkgen::decode_audio(p.audio_path, 48000) : talkgen::synthesize_speech(p.text, speech);
  talkgen::append_still_video(encoder, image, audio, p.fps);
  encoder.finish();
  return encoder;
}

talkgen::EncoderOptions encoder_options(const talkgen_encode_params& p) {
  if (!p.image_path) talkgen::fail(talkgen::ErrorCode::invalid_argument, "params.image_path is NULL");
  if ((p.audio_path == nullptr) == (p.text == nullptr)) {
    talkgen::fail(talkgen::ErrorCode::invalid_argument, "set exactly one of params.audio_path and params.text");
  }
  talkgen::EncoderOptions options;
  options.fps = p.fps;
  options.crf = p.crf;
  if (p.preset) options.preset = p.preset;
  options.codec = p.use_nvenc ? talkgen::VideoCodec::h264_nvenc : talkgen::VideoCodec::libx264;
  return options;
}

}  // namespace

extern "C" {

const char* talkgen_version(void) { return talkgen::version(); }
const char* talkgen_build_features(void) { return talkgen::build_features(); }
const char* talkgen_last_error(void) { return last_error.c_str(); }
const char* talkgen_status_name(talkgen_status status) {
  return talkgen::to_string(static_cast<talkgen::ErrorCode>(status));
}

void talkgen_buffer_free(talkgen_buffer* buffer) {
  if (!buffer) return;
  std::free(buffer->data);
  buffer->data = nullptr;
  buffer->size = 0;
}

talkgen_encode_params talkgen_encode_params_default(void) {
  talkgen_encode_params p{};
  p.struct_size = sizeof(p);
  p.fps = 25.0;
  p.crf = 17;
  return p;
}

talkgen_status talkgen_encode_to_file(const talkgen_encode_params* params, const char* output_path) {
  return guarded([&] {
    const auto p = read_params(params, talkgen_encode_params_default());
    if (!output_path) talkgen::fail(talkgen::ErrorCode::invalid_argument, "output_path is NULL");
    encode_still(p, talkgen::Encoder::to_file(output_path, encoder_options(p)));
  });
}

talkgen_status talkgen_encode_to_buffer(const talkgen_encode_params* params, talkgen_buffer* out) {
  return guarded([&] {
    if (!out) talkgen::fail(talkgen::ErrorCode::invalid_argument, "out is NULL");
    *out = talkgen_buffer{nullptr, 0};
    const auto p = read_params(params, talkgen_encode_params_default());
    auto encoder = encode_still(p, talkgen::Encoder::to_memory(encoder_options(p)));
    std::vector<std::uint8_t> bytes = encoder.take_buffer();
    auto* data = static_cast<uint8_t*>(std::malloc(bytes.size()));
    if (!data) throw std::bad_alloc();
    std::memcpy(data, bytes.data(), bytes.size());
    *out = talkgen_buffer{data, bytes.size()};
  });
}

}  // extern "C"
