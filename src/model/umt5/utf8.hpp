// UTF-8 <-> code points, strict: prompt text must be valid UTF-8 (the reference works on Python str).
#pragma once

#include <string>
#include <string_view>

namespace talkgen::model::umt5 {

/// Decodes UTF-8; throws Error(invalid_argument) naming the byte offset of the first invalid sequence
/// (overlong forms, surrogates and values above U+10FFFF are invalid too).
std::u32string utf8_decode(std::string_view text);

/// Encodes code points as UTF-8 (every value the decoder produces is encodable).
std::string utf8_encode(std::u32string_view text);
void utf8_append(std::string& out, char32_t c);

}  // namespace talkgen::model::umt5
