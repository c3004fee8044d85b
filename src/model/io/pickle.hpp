// A small, safe pickle reader: enough of the protocol (0-5) for what torch.save writes into data.pkl.
//
// Nothing is ever executed. Globals become names, REDUCE/NEWOBJ become "object" values holding the
// callable's name and arguments, and the caller's hooks turn the few calls it understands (torch's tensor
// rebuild functions, OrderedDict) into values. Malformed input throws Error(invalid_argument).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace talkgen::model::io::pickle {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

enum class Kind { none, boolean, integer, floating, string, bytes, tuple, list, dict, global, object, opaque };

struct Value {
  Kind kind = Kind::none;
  int64_t integer = 0;  // integer, boolean
  double floating = 0;
  std::string text;     // string, bytes, global ("module.name"), object (its callable's name)
  /// tuple/list: the elements; dict: key, value, key, value...; object: the call's arguments (a tuple).
  std::vector<ValuePtr> items;
  /// Set by hooks for values they build themselves (e.g. a tensor reference).
  std::shared_ptr<void> payload;
};

struct Hooks {
  /// BINPERSID / PERSID: turns a persistent id into a value. Required by torch archives.
  std::function<ValuePtr(const ValuePtr& pid)> persistent_load;
  /// REDUCE / NEWOBJ of `callable` ("module.name") with `args` (a tuple). Return nullptr to get a
  /// generic object value.
  std::function<ValuePtr(const std::string& callable, const ValuePtr& args)> reduce;
};

/// What load() returns: the value STOP left, valid while the Document lives. The Document holds every
/// container the program built, so tearing it down is flat: no recursion however deep the nesting,
/// and no leak from the cycles a hostile memo can tie (a dict holding itself).
class Document {
 public:
  Document() = default;
  Document(Document&&) = default;
  Document& operator=(Document&&) = delete;
  ~Document();

  ValuePtr root;

 private:
  friend class Machine;
  std::vector<ValuePtr> containers_;
};

/// Runs the pickle program in [data, data + size). `file` names the source in error messages.
Document load(const uint8_t* data, size_t size, const Hooks& hooks, const std::string& file);

ValuePtr make(Kind kind);
const char* to_string(Kind kind);

}  // namespace talkgen::model::io::pickle
