#include "pipeline/demo_tokenizer.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "talkgen/error.hpp"

namespace talkgen::pipeline {
namespace {

// Protocol-buffer wire format, just what ModelProto needs.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void put_key(std::string& out, int field, int wire) { put_varint(out, (static_cast<uint64_t>(field) << 3) | wire); }
void put_int(std::string& out, int field, int64_t v) {  // int32 fields: negatives as 64-bit two's complement
  put_key(out, field, 0);
  put_varint(out, static_cast<uint64_t>(v));
}
void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}
void put_float(std::string& out, int field, float f) {
  put_key(out, field, 5);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  for (int i = 0; i < 4; ++i) out += static_cast<char>((bits >> (8 * i)) & 0xFF);
}

enum PieceType { kNormal = 1, kUnknown = 2, kControl = 3 };

std::string piece(const std::string& text, float score, PieceType type) {
  std::string p;
  put_bytes(p, 1, text);
  put_float(p, 2, score);
  put_int(p, 3, type);
  return p;
}

}  // namespace

std::string demo_spm_model_bytes() {
  const std::string space = "\xE2\x96\x81";  // U+2581, sentencepiece's whitespace mark
  std::vector<std::string> pieces;
  pieces.push_back(piece("<pad>", 0.0f, kControl));
  pieces.push_back(piece("</s>", 0.0f, kControl));
  pieces.push_back(piece("<unk>", 0.0f, kUnknown));
  pieces.push_back(piece(space, -2.0f, kNormal));
  // A few whole words (higher scores than spelling them out), so the demo's segmentation is not trivial.
  const char* words[] = {"the", "a", "is", "to", "and", "person", "talking", "camera", "woman", "man", "face"};
  for (const char* w : words) pieces.push_back(piece(space + w, -4.0f, kNormal));
  for (int c = 33; c < 127; ++c) pieces.push_back(piece(std::string(1, static_cast<char>(c)), -5.0f, kNormal));

  std::string model;
  for (const auto& p : pieces) put_bytes(model, 1, p);
  std::string trainer;
  put_int(trainer, 3, 1);  // model_type UNIGRAM
  put_int(trainer, 4, static_cast<int64_t>(pieces.size()));
  put_int(trainer, 40, 2);   // unk_id
  put_int(trainer, 41, -1);  // bos_id: none (T5)
  put_int(trainer, 42, 1);   // eos_id
  put_int(trainer, 43, 0);   // pad_id
  put_bytes(model, 2, trainer);
  std::string normalizer;
  put_bytes(normalizer, 1, "identity");
  put_int(normalizer, 3, 1);  // add_dummy_prefix
  put_int(normalizer, 4, 1);  // remove_extra_whitespaces
  put_int(normalizer, 5, 1);  // escape_whitespaces
  put_bytes(model, 3, normalizer);
  return model;
}

std::shared_ptr<model::umt5::Tokenizer> make_demo_tokenizer(int64_t seq_len) {
  // umt5::Tokenizer loads from a path: write the bytes to a private temporary file, load, remove.
  namespace fs = std::filesystem;
  std::random_device rd;
  const fs::path path = fs::temp_directory_path() / fmt::format("talkgen-demo-spm-{:08x}{:08x}.model", rd(), rd());
  {
    std::ofstream out(path, std::ios::binary);
    const std::string bytes = demo_spm_model_bytes();
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out)
      fail(ErrorCode::io_error, "cannot write the demo tokenizer to '{}'; check the temporary folder (TMPDIR)",
           path.string());
  }
  struct Remove {
    fs::path p;
    ~Remove() {
      std::error_code ec;
      fs::remove(p, ec);
    }
  } remove{path};
  return std::make_shared<model::umt5::Tokenizer>(model::umt5::Tokenizer::open(path.string(), seq_len));
}

}  // namespace talkgen::pipeline
