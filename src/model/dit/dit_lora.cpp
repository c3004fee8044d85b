#include "model/dit/dit_lora.hpp"

#include <algorithm>
#include <map>

#include <ATen/core/grad_mode.h>

#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::model::dit {
namespace {

constexpr const char* kPrefix = "diffusion_model.";

bool strip_suffix(std::string& s, const std::string& suffix) {
  if (s.size() <= suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
  s.resize(s.size() - suffix.size());
  return true;
}

std::string shape_text(at::IntArrayRef s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

struct Group {
  std::string down, up, alpha, diff, diff_b;
};

enum class Role { down, up, alpha, diff, diff_b };

}  // namespace

std::vector<LoraUpdate> plan_lora(torch::nn::Module& module, const io::TensorSource& lora) {
  std::map<std::string, at::Tensor> params;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) params[item.key()] = item.value();

  std::map<std::string, io::TensorInfo> infos;
  std::map<std::string, Group> groups;  // module path -> its keys
  std::vector<std::string> problems;
  static const std::vector<std::pair<std::string, Role>> kSuffixes = {
      {".lora_down.weight", Role::down}, {".lora_A.weight", Role::down}, {".lora_up.weight", Role::up},
      {".lora_B.weight", Role::up},      {".alpha", Role::alpha},        {".diff_b", Role::diff_b},
      {".diff", Role::diff}};
  for (const auto& info : lora.list()) {
    infos[info.name] = info;
    std::string path = info.name;
    if (path.rfind(kPrefix, 0) == 0) path = path.substr(std::string(kPrefix).size());
    bool matched = false;
    for (const auto& [suffix, role] : kSuffixes) {
      if (!strip_suffix(path, suffix)) continue;
      Group& g = groups[path];
      std::string& slot = role == Role::down ? g.down : role == Role::up ? g.up : role == Role::alpha ? g.alpha
                          : role == Role::diff ? g.diff : g.diff_b;
      if (!slot.empty()) problems.push_back(fmt::format("{}: a second key for the same role as {}", info.name, slot));
      slot = info.name;
      matched = true;
      break;
    }
    if (!matched)
      problems.push_back(fmt::format("{}: not a LoRA key (expected .lora_down/.lora_up/.lora_A/.lora_B.weight, "
                                     ".alpha, .diff or .diff_b)", info.name));
  }

  std::vector<LoraUpdate> updates;
  for (const auto& [path, g] : groups) {
    const auto weight = params.find(path + ".weight");
    if (!g.down.empty() || !g.up.empty() || !g.alpha.empty()) {
      if (g.down.empty() || g.up.empty()) {
        problems.push_back(fmt::format("{}: needs both a down (lora_down / lora_A) and an up (lora_up / lora_B) key",
                                       g.down.empty() ? (g.up.empty() ? g.alpha : g.up) : g.down));
      } else if (weight == params.end()) {
        problems.push_back(fmt::format("{}: the DiT has no parameter '{}.weight'", g.down, path));
      } else {
        const auto& down = infos[g.down].shape;
        const auto& up = infos[g.up].shape;
        const auto& w = weight->second;
        int64_t in = 1;
        for (size_t i = 1; i < down.size(); ++i) in *= down[i];
        int64_t rank_up = 1;
        for (size_t i = 1; i < up.size(); ++i) rank_up *= up[i];
        if (down.size() < 2 || up.size() < 2 || up[0] != w.size(0) || rank_up != down[0] ||
            in * w.size(0) != w.numel()) {
          problems.push_back(fmt::format("{}: down {} and up {} do not make a delta of '{}' {}", path,
                                         shape_text(down), shape_text(up), path + ".weight", shape_text(w.sizes())));
        } else if (!g.alpha.empty() && element_count(infos[g.alpha].shape) != 1) {
          problems.push_back(fmt::format("{}: alpha must be a single number, found shape {}", g.alpha,
                                         shape_text(infos[g.alpha].shape)));
        } else {
          updates.push_back({path + ".weight", LoraUpdate::Kind::low_rank, g.down, g.up, g.alpha, {}});
        }
      }
    }
    const auto add_diff = [&](const std::string& key, const std::string& target) {
      if (key.empty()) return;
      const auto p = params.find(target);
      if (p == params.end()) {
        problems.push_back(fmt::format("{}: the DiT has no parameter '{}'", key, target));
      } else if (p->second.sizes() != at::IntArrayRef(infos[key].shape)) {
        problems.push_back(fmt::format("{}: shape {} does not match '{}' {}", key, shape_text(infos[key].shape),
                                       target, shape_text(p->second.sizes())));
      } else {
        updates.push_back({target, LoraUpdate::Kind::diff, {}, {}, {}, key});
      }
    };
    add_diff(g.diff, path + ".weight");
    add_diff(g.diff_b, path + ".bias");
  }

  if (!problems.empty()) {
    std::string listed;
    for (size_t i = 0; i < problems.size() && i < 20; ++i) listed += "\n    " + problems[i];
    if (problems.size() > 20) listed += fmt::format("\n    ... and {} more", problems.size() - 20);
    fail(ErrorCode::checkpoint_mismatch,
         "LoRA '{}' does not fit the InfiniteTalk DiT: {} unusable keys:{}\n  use a LoRA made for Wan2.1-I2V-14B "
         "(lightx2v / FusionX style keys under 'diffusion_model.')",
         lora.describe(), problems.size(), listed);
  }
  if (updates.empty())
    fail(ErrorCode::checkpoint_mismatch, "LoRA '{}' holds no tensors; expected lora_down/lora_up (or lora_A/lora_B) pairs",
         lora.describe());
  return updates;
}

namespace {

// The file's tensor as the reference holds it (cast to the parameter dtype when the file is read),
// then widened to float32 for the arithmetic.
at::Tensor read_as(const io::TensorSource& lora, const std::string& key, const at::Tensor& param) {
  return lora.read(key).to(param.device(), param.scalar_type()).to(at::kFloat);
}

// What kohya / diffusers would multiply this file's deltas by (alpha / rank), collected for the warning.
struct AlphaRatios {
  size_t layers = 0;
  double min = 0, max = 0;
  void add(double ratio) {
    min = layers == 0 ? ratio : std::min(min, ratio);
    max = layers == 0 ? ratio : std::max(max, ratio);
    ++layers;
  }
};

}  // namespace

size_t merge_lora(torch::nn::Module& module, const io::TensorSource& lora, double scale) {
  const auto updates = plan_lora(module, lora);
  std::map<std::string, at::Tensor> params;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) params[item.key()] = item.value();

  at::NoGradGuard no_grad;
  AlphaRatios differs;
  size_t low_rank = 0;
  for (const auto& u : updates) {
    at::Tensor& p = params.at(u.parameter);
    const auto dtype = p.scalar_type();
    at::Tensor delta;
    if (u.kind == LoraUpdate::Kind::low_rank) {
      ++low_rank;
      const auto down = read_as(lora, u.down, p).flatten(1);
      const auto up = read_as(lora, u.up, p).flatten(1);
      // delta = (up @ down) * scale, each result in the parameter dtype, as the reference's
      // torch.matmul(lora_B, lora_A) * alpha on parameter-dtype tensors.
      delta = at::matmul(up, down).to(dtype).to(at::kFloat).mul_(scale).to(dtype).view(p.sizes());
      if (!u.alpha.empty()) {
        const double alpha = lora.read(u.alpha).to(at::kDouble).item<double>();  // host scalar, load time only
        const double rank = static_cast<double>(down.size(0));
        if (alpha != rank) differs.add(alpha / rank);
      }
    } else {
      delta = read_as(lora, u.diff, p).mul_(scale).to(dtype);
    }
    p.add_(delta);
  }
  if (differs.layers > 0) {
    const std::string ratio = differs.min == differs.max ? fmt::format("{:g}", differs.min)
                                                         : fmt::format("{:g} to {:g}", differs.min, differs.max);
    // One scale reproduces that convention only when every layer would get the same factor (diffs and
    // layers without an alpha get 1 there).
    const bool uniform = differs.min == differs.max && differs.layers == low_rank && low_rank == updates.size();
    const std::string hint =
        uniform ? fmt::format("; to get that convention instead, use scale {:g}", scale * differs.min) : "";
    log_warn("LoRA '{}': {} layers have alpha != rank (alpha/rank {}). Like the reference InfiniteTalk, talkgen "
             "ignores alpha (W += scale * up @ down); kohya/diffusers-style tools would scale these layers by "
             "alpha/rank{}",
             lora.describe(), differs.layers, ratio, hint);
  }
  log_info("LoRA '{}' merged with scale {}: {} parameters updated", lora.describe(), scale, updates.size());
  return updates.size();
}

}  // namespace talkgen::model::dit
