// Base64 for media sent inside JSON (`ref_image_b64`, `audio_b64`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace talkgen::server {

/// Decodes standard base64 (RFC 4648 §4; padding optional, whitespace ignored). A "data:<type>;base64,"
/// prefix (what a browser's FileReader.readAsDataURL gives) is skipped. `field` names the JSON field in
/// errors. Error(invalid_argument) on any other character or a dangling 1-character group.
std::vector<std::uint8_t> decode_base64(std::string_view text, const std::string& field);

std::string encode_base64(const std::uint8_t* data, std::size_t size);

}  // namespace talkgen::server
