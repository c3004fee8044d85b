#include "model/umt5/sentencepiece_library.hpp"

#include <dlfcn.h>

#include <mutex>
#include <new>

#include <sentencepiece_processor.h>

#include "talkgen/error.hpp"

namespace talkgen::model::umt5 {
namespace {

using Processor = sentencepiece::SentencePieceProcessor;
using Status = sentencepiece::util::Status;

// The non-virtual entry points, resolved once from the privately opened library.
struct Symbols {
  void (*construct)(void*) = nullptr;
  void (*destruct)(void*) = nullptr;
  void (*destruct_status)(void*) = nullptr;
  const char* (*status_message)(const void*) = nullptr;
};

const Symbols& symbols() {
  static Symbols s;
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    void* lib = nullptr;
    for (const char* name : {"libsentencepiece.so.0", "libsentencepiece.so"}) {
      lib = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
      if (lib) break;
      error = dlerror();
    }
    if (!lib) return;
    const auto get = [&](const char* sym) {
      void* p = dlsym(lib, sym);
      if (!p) error = std::string("missing symbol ") + sym;
      return p;
    };
    s.construct = reinterpret_cast<void (*)(void*)>(get("_ZN13sentencepiece22SentencePieceProcessorC1Ev"));
    s.destruct = reinterpret_cast<void (*)(void*)>(get("_ZN13sentencepiece22SentencePieceProcessorD1Ev"));
    s.destruct_status = reinterpret_cast<void (*)(void*)>(get("_ZN13sentencepiece4util6StatusD1Ev"));
    s.status_message = reinterpret_cast<const char* (*)(const void*)>(get("_ZNK13sentencepiece4util6Status13error_messageEv"));
  });
  if (!s.construct || !s.destruct || !s.destruct_status || !s.status_message)
    fail(ErrorCode::unsupported, "cannot use libsentencepiece ({}): install the libsentencepiece0 package", error);
  return s;
}

// Runs a method returning util::Status and turns a failure into a message. The Status is built in place
// (guaranteed elision) and destroyed through the library's destructor, which this binary does not link.
template <typename Call>
std::string status_error(Call&& call) {
  alignas(Status) unsigned char storage[sizeof(Status)];
  auto* status = new (storage) Status(call());
  std::string message = status->ok() ? "" : symbols().status_message(status);
  if (message.empty() && !status->ok()) message = "unknown sentencepiece error";
  symbols().destruct_status(status);
  return message;
}

const Processor& as_processor(const void* p) { return *static_cast<const Processor*>(p); }

}  // namespace

SentencePiece::SentencePiece(const std::string& model_path) {
  const Symbols& s = symbols();
  processor_ = ::operator new(sizeof(Processor), std::align_val_t(alignof(Processor)));
  s.construct(processor_);
  auto* p = static_cast<Processor*>(processor_);
  const std::string error = status_error([&] { return p->Load(model_path); });
  if (!error.empty()) {
    s.destruct(processor_);
    ::operator delete(processor_, std::align_val_t(alignof(Processor)));
    fail(ErrorCode::invalid_argument, "cannot load sentencepiece model '{}': {}; expected umT5's spiece.model",
         model_path, error);
  }
}

SentencePiece::~SentencePiece() {
  symbols().destruct(processor_);
  ::operator delete(processor_, std::align_val_t(alignof(Processor)));
}

std::vector<int> SentencePiece::encode(const std::string& text) const {
  std::vector<int> ids;
  const std::string error = status_error([&] { return as_processor(processor_).Encode(text, &ids); });
  if (!error.empty()) fail(ErrorCode::internal, "sentencepiece failed to encode a prompt: {}", error);
  return ids;
}

int SentencePiece::piece_size() const { return as_processor(processor_).GetPieceSize(); }
int SentencePiece::piece_to_id(const std::string& piece) const { return as_processor(processor_).PieceToId(piece); }
std::string SentencePiece::id_to_piece(int id) const { return as_processor(processor_).IdToPiece(id); }
bool SentencePiece::is_byte(int id) const { return as_processor(processor_).IsByte(id); }
bool SentencePiece::is_control(int id) const { return as_processor(processor_).IsControl(id); }
bool SentencePiece::is_unknown(int id) const { return as_processor(processor_).IsUnknown(id); }
int SentencePiece::unk_id() const { return as_processor(processor_).unk_id(); }
int SentencePiece::eos_id() const { return as_processor(processor_).eos_id(); }
int SentencePiece::pad_id() const { return as_processor(processor_).pad_id(); }

}  // namespace talkgen::model::umt5
