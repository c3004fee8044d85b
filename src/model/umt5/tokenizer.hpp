// umT5 tokenizer: the reference's HuggingfaceTokenizer('google/umt5-xxl', seq_len=512, clean='whitespace')
// rebuilt on libsentencepiece, producing the ids of Hugging Face's fast T5 tokenizer.
//
// What the fast tokenizer does differently from plain sentencepiece, and how it is reproduced here:
//  - added tokens (<pad>, </s>, <unk>, <extra_id_N>) written literally in the text are matched first
//    (leftmost-longest) and become their ids; the pieces between them are tokenized separately. The list
//    comes from tokenizer.json (or spm control pieces + tokenizer_config.json's extra_ids without it).
//  - its Unigram model has no byte fallback: a run of characters missing from the vocabulary becomes one
//    <unk>, where sentencepiece (umT5's model has byte_fallback) would emit their UTF-8 bytes.
//  - with the 2023 converter layout (no Strip normalizer) a piece of text ending in a space before an
//    added token keeps a final "▁".
// Then the ids are truncated to seq_len - 1, </s> is appended, and the rest is padded with <pad> (id 0).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace talkgen::model::umt5 {

struct TokenBatch {
  at::Tensor ids;   // [B, seq_len] int64, CPU
  at::Tensor mask;  // [B, seq_len] int64, 1 for real tokens (</s> included), 0 for padding
};

class Tokenizer {
 public:
  /// `path`: the tokenizer folder (google/umt5-xxl: spiece.model, tokenizer.json, tokenizer_config.json) or a
  /// spiece.model file. Throws Error(not_found) / Error(invalid_argument) for a missing or unreadable model.
  static Tokenizer open(const std::string& path, int64_t seq_len = 512);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  /// Clean + tokenize one prompt: at most seq_len ids, ending with </s>; no padding.
  std::vector<int64_t> encode(const std::string& text) const;
  /// Tokenize a batch and pad every row to seq_len.
  TokenBatch encode_batch(const std::vector<std::string>& texts) const;

  int64_t seq_len() const;
  /// Number of ids the tokenizer can produce (sentencepiece pieces + added tokens beyond them).
  int64_t vocab_size() const;
  int64_t pad_id() const;
  int64_t eos_id() const;
  int64_t unk_id() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace talkgen::model::umt5
