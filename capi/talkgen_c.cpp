// The C ABI: versions, errors, buffers and still-video encoding (the client is in talkgen_c_client.cpp).
#include "talkgen.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "capi_support.hpp"
#include "struct_defaults.hpp"
#include "talkgen/encoder.hpp"
#include "talkgen/error.hpp"
#include "talkgen/media.hpp"
#include "talkgen/still_video.hpp"
#include "talkgen/version.hpp"

namespace talkgen::capi {
std::string& last_error() {
  thread_local std::string message;
  return message;
}
}  // namespace talkgen::capi

namespace {

using talkgen::capi::guarded;
using talkgen::capi::read_params;

talkgen_encode_params read_encode_params(const talkgen_encode_params* params) {
  return read_params(params, talkgen::capi::encode_params_defaults(), "params", "talkgen_encode_params");
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

talkgen_encode_params talkgen::capi::encode_params_defaults() {
  const talkgen::EncoderOptions d;
  talkgen_encode_params p{};
  p.struct_size = sizeof(p);
  p.fps = d.fps;
  p.crf = d.crf;
  return p;
}

extern "C" {

uint32_t talkgen_abi_version(void) { return TALKGEN_ABI_VERSION; }
const char* talkgen_version(void) { return talkgen::version(); }
const char* talkgen_build_features(void) { return talkgen::build_features(); }
const char* talkgen_last_error(void) { return talkgen::capi::last_error().c_str(); }
const char* talkgen_status_name(talkgen_status status) {
  return talkgen::to_string(static_cast<talkgen::ErrorCode>(status));
}

void talkgen_buffer_free(talkgen_buffer* buffer) {
  if (!buffer) return;
  std::free(buffer->data);
  buffer->data = nullptr;
  buffer->size = 0;
}

talkgen_status talkgen_encode_params_init_sized(talkgen_encode_params* p, size_t caller_size) {
  return guarded([&] {
    talkgen::capi::init_sized(p, caller_size, talkgen::capi::encode_params_defaults(), "talkgen_encode_params");
  });
}

talkgen_status talkgen_encode_to_file(const talkgen_encode_params* params, const char* output_path) {
  return guarded([&] {
    const auto p = read_encode_params(params);
    if (!output_path) talkgen::fail(talkgen::ErrorCode::invalid_argument, "output_path is NULL");
    encode_still(p, talkgen::Encoder::to_file(output_path, encoder_options(p)));
  });
}

talkgen_status talkgen_encode_to_buffer(const talkgen_encode_params* params, talkgen_buffer* out) {
  return guarded([&] {
    if (!out) talkgen::fail(talkgen::ErrorCode::invalid_argument, "out is NULL");
    *out = talkgen_buffer{nullptr, 0};
    const auto p = read_encode_params(params);
    auto encoder = encode_still(p, talkgen::Encoder::to_memory(encoder_options(p)));
    std::vector<std::uint8_t> bytes = encoder.take_buffer();
    auto* data = static_cast<uint8_t*>(std::malloc(bytes.size()));
    if (!data) throw std::bad_alloc();
    std::memcpy(data, bytes.data(), bytes.size());
    *out = talkgen_buffer{data, bytes.size()};
  });
}

}  // extern "C"
