#include "model/io/pickle.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "talkgen/error.hpp"

namespace talkgen::model::io::pickle {

ValuePtr make(Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

const char* to_string(Kind kind) {
  switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::bytes: return "bytes";
    case Kind::tuple: return "tuple";
    case Kind::list: return "list";
    case Kind::dict: return "dict";
    case Kind::global: return "global";
    case Kind::object: return "object";
    case Kind::opaque: return "opaque";
  }
  return "?";
}

Document::~Document() {
  // Children die only when the list below does, one at a time, each with its items already dropped.
  for (const ValuePtr& v : containers_) v->items.clear();
}

class Machine {
 public:
  Machine(const uint8_t* data, size_t size, const Hooks& hooks, const std::string& file, Document& doc)
      : p_(data), end_(data + size), begin_(data), hooks_(hooks), file_(file), doc_(doc) {}

  ValuePtr run();

 private:
  [[noreturn]] void corrupt(const std::string& why) const {
    fail(ErrorCode::invalid_argument, "corrupt pickle in '{}' at byte {}: {}; the checkpoint is damaged or not a "
         "torch.save file, re-download or re-save it", file_, static_cast<size_t>(p_ - begin_), why);
  }

  const uint8_t* take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) corrupt(fmt::format("needs {} more bytes, the data ends", n));
    const uint8_t* at = p_;
    p_ += n;
    return at;
  }
  uint64_t le(size_t n) {
    const uint8_t* b = take(n);
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | b[i];
    return v;
  }
  std::string bytes(uint64_t n) {
    if (n > static_cast<uint64_t>(end_ - p_)) corrupt(fmt::format("a {}-byte string runs past the end", n));
    return std::string(reinterpret_cast<const char*>(take(static_cast<size_t>(n))), static_cast<size_t>(n));
  }
  std::string line() {  // protocol-0 text argument, up to '\n'
    const void* nl = std::memchr(p_, '\n', static_cast<size_t>(end_ - p_));
    if (!nl) corrupt("a text argument has no end of line");
    std::string s(reinterpret_cast<const char*>(p_), static_cast<const uint8_t*>(nl) - p_);
    p_ = static_cast<const uint8_t*>(nl) + 1;
    return s;
  }

  // Every value goes through here so the Document learns of each container (see Document).
  void push(ValuePtr v) {
    if (v->kind == Kind::tuple || v->kind == Kind::list || v->kind == Kind::dict || v->kind == Kind::object)
      if (!v->items.empty() || v->kind != Kind::tuple) doc_.containers_.push_back(v);
    stack_.push_back(std::move(v));
  }

  ValuePtr pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) corrupt("pop from an empty stack");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  ValuePtr& top() {
    if (stack_.empty()) corrupt("the stack is empty");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_to_mark() {
    if (marks_.empty()) corrupt("no MARK to pop to");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + static_cast<ptrdiff_t>(m)),
                                std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  ValuePtr number(int64_t v) {
    auto n = make(Kind::integer);
    n->integer = v;
    return n;
  }
  ValuePtr text(Kind k, std::string s) {
    auto v = make(k);
    v->text = std::move(s);
    return v;
  }
  ValuePtr tuple(std::vector<ValuePtr> items) {
    auto t = make(Kind::tuple);
    t->items = std::move(items);
    return t;
  }
  ValuePtr global(const std::string& module, const std::string& name) {
    return text(Kind::global, module + "." + name);
  }
  ValuePtr call(const ValuePtr& callable, const ValuePtr& args) {
    if (callable->kind != Kind::global) corrupt(fmt::format("calls a {}, not a global", to_string(callable->kind)));
    if (args->kind != Kind::tuple) corrupt(fmt::format("call arguments are a {}, not a tuple", to_string(args->kind)));
    if (hooks_.reduce)
      if (ValuePtr v = hooks_.reduce(callable->text, args)) return v;
    auto obj = make(Kind::object);
    obj->text = callable->text;
    obj->items = args->items;
    return obj;
  }
  void set_items(const ValuePtr& dict, std::vector<ValuePtr> items) {
    if (items.size() % 2) corrupt("SETITEMS with an odd number of items");
    // Objects that accept items (OrderedDict built by REDUCE, a dict subclass) are treated as dicts.
    if (dict->kind != Kind::dict && dict->kind != Kind::object) corrupt(fmt::format("SETITEM on a {}", to_string(dict->kind)));
    for (ValuePtr& v : items) dict->items.push_back(std::move(v));
  }
  void append(const ValuePtr& list, std::vector<ValuePtr> items) {
    if (list->kind != Kind::list && list->kind != Kind::object) corrupt(fmt::format("APPEND to a {}", to_string(list->kind)));
    for (ValuePtr& v : items) list->items.push_back(std::move(v));
  }
  void memo_put(uint64_t id) { memo_[id] = top(); }
  ValuePtr memo_get(uint64_t id) {
    const auto it = memo_.find(id);
    if (it == memo_.end()) corrupt(fmt::format("memo entry {} was never stored", id));
    return it->second;
  }
  ValuePtr persistent(const ValuePtr& pid) {
    if (!hooks_.persistent_load) corrupt("a persistent id appears but nothing can resolve it");
    return hooks_.persistent_load(pid);
  }

  const uint8_t* p_;
  const uint8_t* end_;
  const uint8_t* begin_;
  const Hooks& hooks_;
  const std::string& file_;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
  Document& doc_;
};

ValuePtr Machine::run() {
  while (true) {
    const uint8_t op = *take(1);
    switch (op) {
      case 0x80: take(1); break;  // PROTO
      case 0x95: take(8); break;  // FRAME: framing is only a read-ahead hint
      case '.':                   // STOP
        if (stack_.size() != 1 || !marks_.empty()) corrupt("STOP with a stack that does not hold exactly one value");
        return stack_.back();
      case '(': marks_.push_back(stack_.size()); break;  // MARK
      case '0': pop(); break;                             // POP
      case '1': pop_to_mark(); break;                     // POP_MARK
      case '2': push(top()); break;           // DUP

      case 'N': push(make(Kind::none)); break;
      case 0x88:
      case 0x89: {  // NEWTRUE / NEWFALSE
        auto b = make(Kind::boolean);
        b->integer = op == 0x88;
        push(b);
        break;
      }
      case 'J': push(number(static_cast<int32_t>(le(4)))); break;  // BININT
      case 'K': push(number(static_cast<int64_t>(le(1)))); break;  // BININT1
      case 'M': push(number(static_cast<int64_t>(le(2)))); break;  // BININT2
      case 0x8a:
      case 0x8b: {  // LONG1 / LONG4: little-endian two's complement of n bytes
        const uint64_t n = le(op == 0x8a ? 1 : 4);
        if (n > 8) corrupt(fmt::format("an integer of {} bytes does not fit 64 bits", n));
        uint64_t v = n ? le(static_cast<size_t>(n)) : 0;
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
        push(number(static_cast<int64_t>(v)));
        break;
      }
      case 'I':
      case 'L': {  // INT / LONG (protocol 0 text; "01"/"00" are True/False)
        std::string s = line();
        if (op == 'I' && (s == "01" || s == "00")) {
          auto b = make(Kind::boolean);
          b->integer = s == "01";
          push(b);
          break;
        }
        if (!s.empty() && s.back() == 'L') s.pop_back();
        char* e = nullptr;
        errno = 0;
        const long long v = std::strtoll(s.c_str(), &e, 10);
        if (s.empty() || *e || errno) corrupt(fmt::format("'{}' is not a 64-bit integer", s.substr(0, 40)));
        push(number(v));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const uint8_t* b = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[i];
        auto f = make(Kind::floating);
        std::memcpy(&f->floating, &bits, 8);
        push(f);
        break;
      }
      case 'F': {  // FLOAT (text)
        const std::string s = line();
        auto f = make(Kind::floating);
        f->floating = std::strtod(s.c_str(), nullptr);
        push(f);
        break;
      }

      case 'X': push(text(Kind::string, bytes(le(4)))); break;     // BINUNICODE
      case 0x8c: push(text(Kind::string, bytes(le(1)))); break;    // SHORT_BINUNICODE
      case 0x8d: push(text(Kind::string, bytes(le(8)))); break;    // BINUNICODE8
      case 'T': push(text(Kind::string, bytes(le(4)))); break;     // BINSTRING (py2 str)
      case 'U': push(text(Kind::string, bytes(le(1)))); break;     // SHORT_BINSTRING
      case 'B': push(text(Kind::bytes, bytes(le(4)))); break;      // BINBYTES
      case 'C': push(text(Kind::bytes, bytes(le(1)))); break;      // SHORT_BINBYTES
      case 0x8e:                                                               // BINBYTES8
      case 0x96: push(text(Kind::bytes, bytes(le(8)))); break;     // BYTEARRAY8

      case ')': push(tuple({})); break;  // EMPTY_TUPLE
      case 0x85: {                                   // TUPLE1
        ValuePtr a = pop();
        push(tuple({a}));
        break;
      }
      case 0x86: {  // TUPLE2
        ValuePtr b = pop(), a = pop();
        push(tuple({a, b}));
        break;
      }
      case 0x87: {  // TUPLE3
        ValuePtr c = pop(), b = pop(), a = pop();
        push(tuple({a, b, c}));
        break;
      }
      case 't': push(tuple(pop_to_mark())); break;  // TUPLE
      case ']':                                                   // EMPTY_LIST
      case 0x8f: push(make(Kind::list)); break;       // EMPTY_SET (kept as a list)
      case 'l':                                                   // LIST
      case 0x91: {                                                // FROZENSET
        auto l = make(Kind::list);
        l->items = pop_to_mark();
        push(l);
        break;
      }
      case 'a': {  // APPEND
        ValuePtr v = pop();
        append(top(), {v});
        break;
      }
      case 'e':      // APPENDS
      case 0x90: {   // ADDITEMS
        std::vector<ValuePtr> items = pop_to_mark();
        append(top(), std::move(items));
        break;
      }
      case '}': push(make(Kind::dict)); break;  // EMPTY_DICT
      case 'd': {                                           // DICT
        auto d = make(Kind::dict);
        set_items(d, pop_to_mark());
        push(d);
        break;
      }
      case 's': {  // SETITEM
        ValuePtr v = pop(), k = pop();
        set_items(top(), {k, v});
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<ValuePtr> items = pop_to_mark();
        set_items(top(), std::move(items));
        break;
      }

      case 'c': {  // GLOBAL "module\nname\n"
        const std::string module = line();
        const std::string name = line();
        push(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        ValuePtr name = pop(), module = pop();
        if (name->kind != Kind::string || module->kind != Kind::string) corrupt("STACK_GLOBAL needs two strings");
        push(global(module->text, name->text));
        break;
      }
      case 'R': {  // REDUCE
        ValuePtr args = pop(), callable = pop();
        push(call(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ
        ValuePtr args = pop(), cls = pop();
        push(call(cls, args));
        break;
      }
      case 0x92: {  // NEWOBJ_EX (keyword arguments are dropped)
        pop();
        ValuePtr args = pop(), cls = pop();
        push(call(cls, args));
        break;
      }
      case 'b': pop(); top(); break;  // BUILD: object state (e.g. OrderedDict._metadata) is not needed

      case 'Q': push(persistent(pop())); break;                  // BINPERSID
      case 'P': push(persistent(text(Kind::string, line()))); break;  // PERSID

      case 'q': memo_put(le(1)); break;   // BINPUT
      case 'r': memo_put(le(4)); break;   // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
      case 'p': {                                // PUT (text)
        const std::string s = line();
        char* e = nullptr;
        const unsigned long long id = std::strtoull(s.c_str(), &e, 10);
        if (s.empty() || *e) corrupt("PUT with a non-numeric id");
        memo_put(id);
        break;
      }
      case 'h': push(memo_get(le(1))); break;  // BINGET
      case 'j': push(memo_get(le(4))); break;  // LONG_BINGET
      case 'g': {                                          // GET (text)
        const std::string s = line();
        char* e = nullptr;
        const unsigned long long id = std::strtoull(s.c_str(), &e, 10);
        if (s.empty() || *e) corrupt("GET with a non-numeric id");
        push(memo_get(id));
        break;
      }
      default:
        corrupt(fmt::format("opcode 0x{:02x} is not one torch.save writes", op));
    }
  }
}

Document load(const uint8_t* data, size_t size, const Hooks& hooks, const std::string& file) {
  Document doc;
  Machine machine(data, size, hooks, file, doc);
  doc.root = machine.run();
  return doc;
}

}  // namespace talkgen::model::io::pickle
