#include "model/dit/dit_checkpoint.hpp"

#include <set>

#include "model/io/load_module.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::model::dit {

void load_dit_weights(DitModel& model, const io::TensorSource& base, const io::TensorSource& infinitetalk) {
  std::set<std::string> from_infinitetalk, from_base;
  for (const auto& info : infinitetalk.list()) from_infinitetalk.insert(info.name);
  for (const auto& info : base.list()) from_base.insert(info.name);

  // Coverage first, over both files together (each load below is strict about its own file only).
  std::vector<std::string> missing;
  for (const auto& item : model.named_parameters(/*recurse=*/true))
    if (!from_base.count(item.key()) && !from_infinitetalk.count(item.key())) missing.push_back(item.key());
  if (!missing.empty()) {
    std::string listed;
    for (size_t i = 0; i < missing.size() && i < 20; ++i) listed += "\n    " + missing[i];
    if (missing.size() > 20) listed += fmt::format("\n    ... and {} more", missing.size() - 20);
    fail(ErrorCode::checkpoint_mismatch,
         "the DiT needs {} parameters that neither '{}' nor '{}' holds:{}\n  the base must be the "
         "Wan2.1-I2V-14B checkpoint and the second file InfiniteTalk's infinitetalk.safetensors",
         missing.size(), base.describe(), infinitetalk.describe(), listed);
  }

  io::LoadOptions options;
  options.dtype = model.dtype();
  options.device = model.device();
  // Keys the InfiniteTalk file holds are not read from the base: the reference's dict.update() keeps
  // the later file's value.
  options.ignore_key = [&](const std::string& key) { return from_infinitetalk.count(key) > 0; };
  options.optional_key = options.ignore_key;
  io::load_strict(model, base, options);

  io::LoadOptions over;
  over.dtype = options.dtype;
  over.device = options.device;
  over.optional_key = [&](const std::string& key) { return from_infinitetalk.count(key) == 0; };
  io::load_strict(model, infinitetalk, over);
  log_info("DiT weights: {} tensors from '{}', {} from '{}'", from_base.size(), base.describe(),
           from_infinitetalk.size(), infinitetalk.describe());
}

std::shared_ptr<DitModel> load_dit(const DitConfig& config, const DitCheckpointPaths& paths, at::ScalarType dtype,
                                   const at::Device& device, const DitRuntimeOptions& runtime) {
  const auto base = io::open_checkpoint(paths.base);
  const auto infinitetalk = io::open_checkpoint(paths.infinitetalk);
  std::vector<std::unique_ptr<io::TensorSource>> loras;
  for (const auto& lora : paths.loras) loras.push_back(io::open_checkpoint(lora.path));

  auto model = std::make_shared<DitModel>(config, at::TensorOptions().dtype(dtype).device(device), runtime);
  // LoRA keys are checked against the module before the (long) weight load.
  for (size_t i = 0; i < loras.size(); ++i) plan_lora(*model, *loras[i]);
  load_dit_weights(*model, *base, *infinitetalk);
  for (size_t i = 0; i < loras.size(); ++i) merge_lora(*model, *loras[i], paths.loras[i].scale);
  return model;
}

}  // namespace talkgen::model::dit
