// libsentencepiece, loaded privately at run time.
//
// Debian's libsentencepiece.so.0 carries its own copy of protobuf-lite 3.14 with exported symbols; libtorch
// links libprotobuf 3.21. Linked normally, the two interpose each other's symbols and the process crashes
// during static initialisation. So the library is opened with dlopen(RTLD_LOCAL | RTLD_DEEPBIND): its
// references bind to its own protobuf and nothing else sees its symbols. SentencePieceProcessor's methods
// are virtual, so they are called through the object; the few non-virtual symbols (constructor,
// destructor, util::Status) are looked up with dlsym.
#pragma once

#include <string>
#include <vector>

namespace talkgen::model::umt5 {

class SentencePiece {
 public:
  /// Loads a .model file. Throws Error(unsupported) if libsentencepiece cannot be opened and
  /// Error(invalid_argument) if the file is not a sentencepiece model.
  explicit SentencePiece(const std::string& model_path);
  ~SentencePiece();
  SentencePiece(const SentencePiece&) = delete;
  SentencePiece& operator=(const SentencePiece&) = delete;

  std::vector<int> encode(const std::string& text) const;
  int piece_size() const;
  int piece_to_id(const std::string& piece) const;
  std::string id_to_piece(int id) const;
  bool is_byte(int id) const;
  bool is_control(int id) const;
  bool is_unknown(int id) const;
  int unk_id() const;
  int eos_id() const;
  int pad_id() const;

 private:
  void* processor_;  // a sentencepiece::SentencePieceProcessor built in memory we own
};

}  // namespace talkgen::model::umt5
