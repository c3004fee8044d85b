#include "model/io/torch_pickle.hpp"

#include <map>
#include <set>

#include <torch/version.h>

#include "model/io/pickle.hpp"
#include "talkgen/error.hpp"

namespace talkgen::model::io {
namespace {

using pickle::Kind;
using pickle::Value;
using pickle::ValuePtr;

#define TALKGEN_TORCH_HAS_FLOAT8 (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1))

// torch.save names each storage by its legacy typed-storage class, or torch.storage.UntypedStorage (bytes)
// when the dtype is passed to _rebuild_tensor_v3 instead.
bool storage_dtype(const std::string& global, at::ScalarType* out) {
  static const std::map<std::string, at::ScalarType> kTypes = {
      {"torch.DoubleStorage", at::kDouble}, {"torch.FloatStorage", at::kFloat},
      {"torch.HalfStorage", at::kHalf},     {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},     {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},     {"torch.BoolStorage", at::kBool},
      {"torch.UntypedStorage", at::kByte},  {"torch.storage.UntypedStorage", at::kByte},
#if TALKGEN_TORCH_HAS_FLOAT8
      {"torch.Float8_e4m3fnStorage", at::kFloat8_e4m3fn}, {"torch.Float8_e5m2Storage", at::kFloat8_e5m2},
#endif
  };
  const auto it = kTypes.find(global);
  if (it == kTypes.end()) return false;
  *out = it->second;
  return true;
}

// A dtype as pickled by name ("torch.bfloat16").
bool dtype_of_name(const std::string& global, at::ScalarType* out) {
  static const std::map<std::string, at::ScalarType> kTypes = {
      {"torch.float64", at::kDouble}, {"torch.float32", at::kFloat}, {"torch.float16", at::kHalf},
      {"torch.bfloat16", at::kBFloat16}, {"torch.int64", at::kLong}, {"torch.int32", at::kInt},
      {"torch.int16", at::kShort}, {"torch.int8", at::kChar}, {"torch.uint8", at::kByte}, {"torch.bool", at::kBool},
#if TALKGEN_TORCH_HAS_FLOAT8
      {"torch.float8_e4m3fn", at::kFloat8_e4m3fn}, {"torch.float8_e5m2", at::kFloat8_e5m2},
#endif
  };
  const auto it = kTypes.find(global);
  if (it == kTypes.end()) return false;
  *out = it->second;
  return true;
}

// What a hook returns for a storage or a tensor: an opaque value carrying the reference.
constexpr const char* kStorageTag = "storage";
constexpr const char* kTensorTag = "tensor";

class TorchPickle {
 public:
  explicit TorchPickle(const std::string& file) : file_(file) {}

  std::vector<std::pair<std::string, TorchTensorRef>> run(const uint8_t* data, size_t size) {
    pickle::Hooks hooks;
    hooks.persistent_load = [this](const ValuePtr& pid) { return persistent_load(pid); };
    hooks.reduce = [this](const std::string& callable, const ValuePtr& args) { return reduce(callable, args); };
    const pickle::Document doc = pickle::load(data, size, hooks, file_);
    flatten(unwrap(doc.root), "", 0);
    for (auto& [name, ref] : out_) ref.storage->uses++;
    return std::move(out_);
  }

 private:
  [[noreturn]] void corrupt(const std::string& why) const {
    fail(ErrorCode::invalid_argument, "corrupt torch archive '{}': {}; re-download or re-save the checkpoint", file_,
         why);
  }

  static bool is_tensor(const ValuePtr& v) { return v->kind == Kind::opaque && v->text == kTensorTag; }

  int64_t integer(const ValuePtr& v, const char* what) const {
    if (v->kind != Kind::integer) corrupt(fmt::format("{} is a {}, expected an int", what, pickle::to_string(v->kind)));
    return v->integer;
  }

  ValuePtr persistent_load(const ValuePtr& pid) {
    // ('storage', <storage class>, key, location, numel)
    if (pid->kind != Kind::tuple || pid->items.size() != 5 || pid->items[0]->kind != Kind::string ||
        pid->items[0]->text != "storage")
      corrupt("a persistent id is not ('storage', type, key, location, numel)");
    const ValuePtr& type = pid->items[1];
    const ValuePtr& key = pid->items[2];
    if (type->kind != Kind::global) corrupt("a storage type is not a class name");
    if (key->kind != Kind::string) corrupt("a storage key is not a string");
    at::ScalarType dtype;
    if (!storage_dtype(type->text, &dtype))
      fail(ErrorCode::unsupported, "torch archive '{}' holds a storage of type {}, which this build cannot load{}; "
           "convert the checkpoint to float32/bf16 tensors", file_, type->text,
           type->text.find("Float8") != std::string::npos ? " (float8 needs libtorch >= 2.1)" : "");
    const int64_t numel = integer(pid->items[4], "a storage size");
    uint64_t nbytes = 0;
    if (numel < 0 || __builtin_mul_overflow(static_cast<uint64_t>(numel), c10::elementSize(dtype), &nbytes))
      corrupt(fmt::format("storage '{}' has size {}", key->text, numel));
    auto& ref = storages_[key->text];
    if (!ref) {
      ref = std::make_shared<TorchStorageRef>();
      ref->key = key->text;
      ref->nbytes = nbytes;
    } else if (ref->nbytes != nbytes) {
      corrupt(fmt::format("storage '{}' is declared with {} and {} bytes", key->text, ref->nbytes, nbytes));
    }
    auto v = pickle::make(Kind::opaque);
    v->text = kStorageTag;
    v->payload = ref;
    v->integer = static_cast<int64_t>(dtype);  // the storage class's dtype, for _rebuild_tensor_v2
    return v;
  }

  std::vector<int64_t> int_tuple(const ValuePtr& v, const char* what) const {
    if (v->kind != Kind::tuple && v->kind != Kind::list) corrupt(fmt::format("a tensor's {} is not a tuple", what));
    std::vector<int64_t> out;
    for (const ValuePtr& x : v->items) {
      const int64_t i = integer(x, what);
      if (i < 0) corrupt(fmt::format("a tensor's {} holds negative {}", what, i));
      out.push_back(i);
    }
    return out;
  }

  ValuePtr rebuild_tensor(const ValuePtr& args, bool dtype_argument) {
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    // _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])
    if (args->items.size() < (dtype_argument ? 7u : 4u)) corrupt("_rebuild_tensor has too few arguments");
    const ValuePtr& storage = args->items[0];
    if (storage->kind != Kind::opaque || storage->text != kStorageTag) corrupt("a tensor is not built on a storage");
    TorchTensorRef t;
    t.storage = std::static_pointer_cast<TorchStorageRef>(storage->payload);
    t.dtype = static_cast<at::ScalarType>(storage->integer);
    if (dtype_argument) {
      const ValuePtr& dtype = args->items[6];
      if (dtype->kind != Kind::global) corrupt("_rebuild_tensor_v3's dtype is not a name");
      if (!dtype_of_name(dtype->text, &t.dtype))
        fail(ErrorCode::unsupported, "torch archive '{}' holds a tensor of dtype {}, which this build cannot load{}; "
             "convert the checkpoint to float32/bf16 tensors", file_, dtype->text,
             dtype->text.find("float8") != std::string::npos ? " (float8 needs libtorch >= 2.1)" : "");
    }
    t.offset = integer(args->items[1], "storage offset");
    t.sizes = int_tuple(args->items[2], "size");
    t.strides = int_tuple(args->items[3], "stride");
    if (t.offset < 0 || t.sizes.size() != t.strides.size())
      corrupt(fmt::format("a tensor has offset {} and {} sizes for {} strides", t.offset, t.sizes.size(),
                          t.strides.size()));
    // The view must lie inside its storage: (offset + sum((size - 1) * stride) + 1) * itemsize <= nbytes.
    bool empty = false;
    uint64_t last = static_cast<uint64_t>(t.offset), numel = 1, end_byte = 0;
    bool overflow = false;
    for (size_t d = 0; d < t.sizes.size(); ++d) {
      if (t.sizes[d] == 0) empty = true;
      uint64_t span = 0;
      overflow |= __builtin_mul_overflow(static_cast<uint64_t>(t.sizes[d] ? t.sizes[d] - 1 : 0),
                                         static_cast<uint64_t>(t.strides[d]), &span);
      overflow |= __builtin_add_overflow(last, span, &last);
      overflow |= __builtin_mul_overflow(numel, static_cast<uint64_t>(t.sizes[d]), &numel);
    }
    overflow |= __builtin_mul_overflow(last + 1, c10::elementSize(t.dtype), &end_byte) || last == UINT64_MAX;
    if (overflow || numel > static_cast<uint64_t>(INT64_MAX) || (!empty && end_byte > t.storage->nbytes))
      corrupt(fmt::format("a {} tensor view (offset {}, {} dims) reaches past its storage '{}' of {} bytes",
                          c10::toString(t.dtype), t.offset, t.sizes.size(), t.storage->key, t.storage->nbytes));
    auto v = pickle::make(Kind::opaque);
    v->text = kTensorTag;
    v->payload = std::make_shared<TorchTensorRef>(std::move(t));
    return v;
  }

  ValuePtr reduce(const std::string& callable, const ValuePtr& args) {
    if (callable == "torch._utils._rebuild_tensor_v2" || callable == "torch._utils._rebuild_tensor")
      return rebuild_tensor(args, /*dtype_argument=*/false);
    if (callable == "torch._utils._rebuild_tensor_v3") return rebuild_tensor(args, /*dtype_argument=*/true);
    if (callable == "torch._utils._rebuild_parameter" || callable == "torch._utils._rebuild_parameter_with_state") {
      if (args->items.empty() || !is_tensor(args->items[0])) corrupt("a Parameter is not built from a tensor");
      return args->items[0];
    }
    if (callable == "torch._tensor._rebuild_from_type_v2") {
      // (func, type, func_args, state): a tensor subclass; rebuilding the plain tensor is what loading needs.
      if (args->items.size() < 3 || args->items[0]->kind != Kind::global || args->items[2]->kind != Kind::tuple)
        corrupt("_rebuild_from_type_v2 has unexpected arguments");
      if (++nesting_ > 8) corrupt("_rebuild_from_type_v2 nests too deeply");
      ValuePtr v = reduce(args->items[0]->text, args->items[2]);
      --nesting_;
      if (v) return v;
    }
    if (callable == "collections.OrderedDict") {
      auto d = pickle::make(Kind::dict);
      // OrderedDict([(k, v), ...]) carries its items as an argument; torch.save usually sends them by SETITEMS.
      if (!args->items.empty() && args->items[0]->kind == Kind::list)
        for (const ValuePtr& pair : args->items[0]->items)
          if (pair->kind == Kind::tuple && pair->items.size() == 2) {
            d->items.push_back(pair->items[0]);
            d->items.push_back(pair->items[1]);
          }
      return d;
    }
    if (callable.rfind("torch._utils._rebuild_", 0) == 0 || callable.rfind("torch._tensor._rebuild_", 0) == 0) {
      // Quantized, sparse, nested, meta ... tensors: recognised as tensors so the error names them.
      auto v = pickle::make(Kind::opaque);
      v->text = "unsupported tensor (" + callable + ")";
      return v;
    }
    return nullptr;  // any other object (argparse.Namespace, numpy scalars...) stays opaque
  }

  static std::string key_text(const ValuePtr& k) {
    if (k->kind == Kind::string) return k->text;
    if (k->kind == Kind::integer) return std::to_string(k->integer);
    return {};
  }

  // Shared sub-lists fetched from the memo make a DAG whose paths grow exponentially with depth; every walk
  // spends from one budget so a hostile pickle cannot keep us busy.
  void spend() {
    if (++visits_ > kMaxVisits)
      corrupt(fmt::format("its object graph has more than {} paths to walk", kMaxVisits));
  }

  bool holds_tensors(const ValuePtr& v, int depth) {
    spend();
    if (depth > 64) return false;
    if (is_tensor(v)) return true;
    if (v->kind != Kind::dict && v->kind != Kind::list && v->kind != Kind::tuple) return false;
    for (const ValuePtr& x : v->items)
      if (holds_tensors(x, depth + 1)) return true;
    return false;
  }

  ValuePtr unwrap(const ValuePtr& root) {
    if (root->kind != Kind::dict) return root;
    for (size_t i = 1; i < root->items.size(); i += 2)
      if (is_tensor(root->items[i])) return root;  // a plain state dict
    for (const char* wrapper : {"state_dict", "model_state_dict", "model", "module"})
      for (size_t i = 0; i + 1 < root->items.size(); i += 2)
        if (key_text(root->items[i]) == wrapper && holds_tensors(root->items[i + 1], 0)) return root->items[i + 1];
    return root;
  }

  void flatten(const ValuePtr& v, const std::string& prefix, int depth) {
    spend();
    if (depth > 64) corrupt(fmt::format("'{}' nests more than 64 levels (a cycle?)", prefix));
    const auto join = [&](const std::string& k) { return prefix.empty() ? k : prefix + "." + k; };
    if (is_tensor(v)) {
      if (!names_.insert(prefix).second)
        fail(ErrorCode::invalid_argument, "torch archive '{}' holds two tensors named '{}' after flattening nested "
             "dicts; save a flat state_dict", file_, prefix);
      out_.emplace_back(prefix, *std::static_pointer_cast<TorchTensorRef>(v->payload));
    } else if (v->kind == Kind::opaque && v->text.rfind("unsupported tensor", 0) == 0) {
      fail(ErrorCode::unsupported, "torch archive '{}' entry '{}' is an {}; only dense tensors can be loaded, "
           "save t.dequantize() / t.to_dense() instead", file_, prefix, v->text);
    } else if (v->kind == Kind::dict) {
      for (size_t i = 0; i + 1 < v->items.size(); i += 2) {
        const std::string k = key_text(v->items[i]);
        if (!k.empty()) flatten(v->items[i + 1], join(k), depth + 1);
      }
    } else if (v->kind == Kind::list || v->kind == Kind::tuple) {
      for (size_t i = 0; i < v->items.size(); ++i) flatten(v->items[i], join(std::to_string(i)), depth + 1);
    }
  }

  const std::string& file_;
  std::map<std::string, std::shared_ptr<TorchStorageRef>> storages_;
  std::vector<std::pair<std::string, TorchTensorRef>> out_;
  std::set<std::string> names_;
  int nesting_ = 0;
  static constexpr size_t kMaxVisits = 10'000'000;  // a 14B-parameter state dict has ~2k entries
  size_t visits_ = 0;
};

}  // namespace

std::vector<std::pair<std::string, TorchTensorRef>> parse_torch_pickle(const uint8_t* data, size_t size,
                                                                       const std::string& file) {
  return TorchPickle(file).run(data, size);
}

}  // namespace talkgen::model::io
