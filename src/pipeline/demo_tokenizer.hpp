// The demo model's tokenizer: a tiny sentencepiece unigram model (T5's special pieces, whitespace, the
// printable ASCII characters and a few English words), built in code as the serialized ModelProto so
// the demo needs no file on disk beyond a temporary copy while sentencepiece loads it.
#pragma once

#include <memory>
#include <string>

#include "model/umt5/tokenizer.hpp"

namespace talkgen::pipeline {

/// The serialized sentencepiece ModelProto (pieces: 0 <pad>, 1 </s>, 2 <unk>, then normal pieces).
std::string demo_spm_model_bytes();

/// Opens the demo model through umt5::Tokenizer (seq_len as umT5's, 512).
std::shared_ptr<model::umt5::Tokenizer> make_demo_tokenizer(int64_t seq_len = 512);

}  // namespace talkgen::pipeline
