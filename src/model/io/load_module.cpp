#include "model/io/load_module.hpp"

#include <map>
#include <set>

#include <ATen/core/grad_mode.h>

#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::model::io {
namespace {

constexpr size_t kListedPerKind = 20;

std::string shape_text(at::IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// "  missing (3): a, b, c" with at most kListedPerKind names.
void list_keys(std::string& out, const char* what, const std::vector<std::string>& keys) {
  if (keys.empty()) return;
  out += fmt::format("\n  {} ({}):", what, keys.size());
  for (size_t i = 0; i < keys.size() && i < kListedPerKind; ++i) out += "\n    " + keys[i];
  if (keys.size() > kListedPerKind) out += fmt::format("\n    ... and {} more", keys.size() - kListedPerKind);
}

at::ScalarType target_dtype(const std::string& name, const at::Tensor& current, const LoadOptions& options) {
  if (!at::isFloatingType(current.scalar_type())) return current.scalar_type();  // int/bool buffers keep theirs
  if (options.keep_fp32 && options.keep_fp32(name)) return at::kFloat;
  return options.dtype;
}

}  // namespace

void load_strict(torch::nn::Module& module, const TensorSource& source, const LoadOptions& options) {
  // The module's parameters and buffers; set_data() updates them in place through these handles.
  std::map<std::string, at::Tensor> targets;
  for (const auto& item : module.named_parameters(/*recurse=*/true))
    if (item.value().defined()) targets[item.key()] = item.value();
  for (const auto& item : module.named_buffers(/*recurse=*/true))
    if (item.value().defined()) targets[item.key()] = item.value();

  // Pass 1, metadata only: match every checkpoint key to a module key and check shapes, so a wrong file
  // fails before any tensor is read or any device memory is touched.
  std::map<std::string, std::string> checkpoint_key_of;  // module key -> checkpoint key
  std::vector<std::pair<std::string, std::string>> reads;  // (checkpoint key, module key) in file order
  std::vector<std::string> unexpected, mismatched, missing;
  for (const TensorInfo& info : source.list()) {
    if (options.ignore_key && options.ignore_key(info.name)) continue;
    const std::string key = options.rename ? options.rename(info.name) : info.name;
    if (key.empty()) continue;  // dropped by the rename
    const auto t = targets.find(key);
    if (t == targets.end()) {
      unexpected.push_back(key == info.name ? key : fmt::format("{} (renamed from {})", key, info.name));
      continue;
    }
    if (!checkpoint_key_of.emplace(key, info.name).second) {
      mismatched.push_back(fmt::format("{}: both '{}' and '{}' map to it", key, checkpoint_key_of[key], info.name));
      continue;
    }
    reads.emplace_back(info.name, key);
    const at::Tensor& current = t->second;
    if (current.sizes() != at::IntArrayRef(info.shape)) {
      mismatched.push_back(fmt::format("{}: module expects {}, checkpoint has {}", key, shape_text(current.sizes()),
                                       shape_text(info.shape)));
    } else if (at::isFloatingType(current.scalar_type()) != at::isFloatingType(info.dtype)) {
      mismatched.push_back(fmt::format("{}: module holds {}, checkpoint has {}", key,
                                       c10::toString(current.scalar_type()), c10::toString(info.dtype)));
    }
  }
  for (const auto& [key, target] : targets)
    if (!checkpoint_key_of.count(key) && !(options.optional_key && options.optional_key(key))) missing.push_back(key);

  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string message = fmt::format(
        "checkpoint '{}' does not match the model: {} missing, {} unexpected, {} mis-shaped keys", source.describe(),
        missing.size(), unexpected.size(), mismatched.size());
    list_keys(message, "missing from the checkpoint", missing);
    list_keys(message, "unexpected in the checkpoint", unexpected);
    list_keys(message, "mis-shaped", mismatched);
    message += "\n  check that this file is the component the model expects (and its variant / size)";
    throw Error(ErrorCode::checkpoint_mismatch, message);
  }

  // Pass 2: one tensor at a time, so host memory stays near the largest tensor, in the checkpoint's own
  // order so the file (or each shard) is read front to back.
  at::NoGradGuard no_grad;
  const auto assign = [&](at::Tensor& target, const std::string& key, const at::Tensor& value) {
    // set_data swaps storage, dtype and device under the same Parameter/buffer object the module holds.
    target.set_data(value.to(options.device, target_dtype(key, target, options)));
  };
  for (const auto& [checkpoint_key, key] : reads) {
    assign(targets.at(key), key, source.read(checkpoint_key));
  }
  for (auto& [key, target] : targets)  // optional and absent: keep the initial value, in the final dtype
    if (!checkpoint_key_of.count(key)) assign(target, key, target);
  log_debug("loaded {} tensors from '{}'", checkpoint_key_of.size(), source.describe());
}

}  // namespace talkgen::model::io
