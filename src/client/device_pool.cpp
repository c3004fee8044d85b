#include "client/device_pool.hpp"

#include <algorithm>
#include <chrono>

#include "pipeline/demo_model.hpp"
#include "pipeline/model_loader.hpp"
#include "talkgen/log.hpp"
#include "talkgen/planner.hpp"

namespace talkgen::client {
namespace {

ClientDevices cpu_pool(DevicePolicy policy, int ranks, std::string note) {
  ClientDevices d;
  d.policy = policy;
  d.cuda = false;
  d.devices.assign(static_cast<std::size_t>(ranks), "cpu");
  d.note = std::move(note);
  return d;
}

std::string visible_indices(const DeviceInventory& inv) {
  std::string s;
  for (const auto& g : inv.cuda) s += (s.empty() ? "" : ", ") + std::to_string(g.index);
  return s.empty() ? "none" : s;
}

}  // namespace

ClientDevices resolve_devices(const ClientOptions& o) {
  if (o.cpu_ranks < 1)
    fail(ErrorCode::invalid_argument, "ClientOptions::cpu_ranks is {}; expected at least 1", o.cpu_ranks);
  if (o.device == DevicePolicy::cpu) return cpu_pool(o.device, o.cpu_ranks, "device policy cpu");

  const DeviceInventory inv = probe_devices();
  if (inv.cuda.empty()) {
    const std::string why = inv.note.empty() ? "no CUDA device is visible to this process" : inv.note;
    if (o.device == DevicePolicy::cuda)
      fail(ErrorCode::device_unavailable,
           "device policy 'cuda' was asked for, but no CUDA GPU is usable: {}. Use device policy cpu (--device cpu) "
           "or auto, or run a CUDA build of talkgen on a machine with NVIDIA GPUs",
           why);
    ClientDevices d = cpu_pool(o.device, o.cpu_ranks,
                               fmt::format("device policy auto chose the CPU ({} rank(s)): {}", o.cpu_ranks, why));
    log_info("{}", d.note);
    return d;
  }

  std::vector<const CudaDeviceInfo*> chosen;
  if (o.gpus.empty()) {
    for (const auto& g : inv.cuda) chosen.push_back(&g);
  } else {
    for (int index : o.gpus) {
      auto it = std::find_if(inv.cuda.begin(), inv.cuda.end(), [&](const CudaDeviceInfo& g) { return g.index == index; });
      if (it == inv.cuda.end())
        fail(ErrorCode::device_unavailable, "GPU {} was asked for, but this process sees CUDA devices {}; check "
             "CUDA_VISIBLE_DEVICES and ClientOptions::gpus", index, visible_indices(inv));
      if (std::find(chosen.begin(), chosen.end(), &*it) != chosen.end())
        fail(ErrorCode::invalid_argument, "GPU {} is listed twice in ClientOptions::gpus", index);
      chosen.push_back(&*it);
    }
  }
  ClientDevices d;
  d.policy = o.device;
  d.cuda = true;
  for (const auto* g : chosen) d.devices.push_back(fmt::format("cuda:{}", g->index));
  d.gpu_name = chosen.front()->name;
  const auto spec = find_gpu_type(d.gpu_name);
  d.gpu_type = spec ? spec->name : d.gpu_name;
  for (const auto* g : chosen)
    if (g->name != d.gpu_name)
      d.note = fmt::format("mixed GPU types ({} and {}): plans and prices use {}", d.gpu_name, g->name, d.gpu_name);
  if (o.device == DevicePolicy::automatic)
    log_info("device policy auto chose {} CUDA GPU(s) ({})", d.devices.size(), d.gpu_name);
  return d;
}

DevicePool::DevicePool(const ClientOptions& options, ClientDevices devices)
    : options_(options), info_(std::move(devices)), shared_models_(!info_.cuda) {
  for (const auto& name : info_.devices) devices_.emplace_back(name);
  for (std::size_t i = 0; i < devices_.size(); ++i) slots_.push_back(std::make_unique<Slot>());
}

DevicePool::~DevicePool() = default;

model::dit::DitRuntimeOptions dit_runtime_options(const ClientOptions& options) {
  model::dit::DitRuntimeOptions runtime;
  if (!options.attention.empty()) runtime.attention = model::layers::parse_attention_backend(options.attention);
  if (!options.dit_fast_paths.empty()) runtime.speed = model::dit::DitSpeedOptions::parse(options.dit_fast_paths);
  return runtime;
}

pipeline::PipelineModels DevicePool::load_models_on(const c10::Device& device) const {
  pipeline::PipelineModels models;
  if (options_.model == "demo") {
    models = pipeline::make_demo_models(device, options_.demo_seed);
  } else {
    pipeline::ModelLoadOptions load;
    load.device = device;
    models = pipeline::load_models(
        pipeline::ModelPaths::from_model_dir(options_.model_dir, options_.multi_person_weights), load);
  }
  models.dit->set_runtime_options(dit_runtime_options(options_));
  return models;
}

double DevicePool::ensure_loaded(int slot_index) {
  Slot& slot = *slots_.at(slot_index);
  std::lock_guard<std::mutex> lock(slot.mutex);
  if (slot.pipeline) return 0.0;
  const auto started = std::chrono::steady_clock::now();
  if (shared_models_) {
    // CPU ranks share one set of weights (they share the host's memory); each gets its own Pipeline.
    std::lock_guard<std::mutex> shared_lock(shared_mutex_);
    if (!shared_) {
      log_info("loading the models on the CPU");
      shared_ = load_models_on(devices_.at(slot_index));
    }
    slot.pipeline = std::make_unique<pipeline::Pipeline>(*shared_);
  } else {
    log_info("loading the models on {}", devices_.at(slot_index).str());
    slot.pipeline = std::make_unique<pipeline::Pipeline>(load_models_on(devices_.at(slot_index)));
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

pipeline::Pipeline& DevicePool::pipeline(int slot_index) {
  Slot& slot = *slots_.at(slot_index);
  std::lock_guard<std::mutex> lock(slot.mutex);
  if (!slot.pipeline) fail(ErrorCode::internal, "device slot {} has no models loaded", slot_index);
  return *slot.pipeline;
}

DistributedRunner& DevicePool::runner(const std::vector<int>& slots) {
  std::lock_guard<std::mutex> lock(runners_mutex_);
  auto it = runners_.find(slots);
  if (it != runners_.end()) return *it->second;
  // Runners overlapping this group are idle (the caller holds these devices): drop them, so that every
  // device belongs to at most one cached communicator.
  for (auto r = runners_.begin(); r != runners_.end();) {
    const bool overlaps = std::any_of(r->first.begin(), r->first.end(), [&](int s) {
      return std::find(slots.begin(), slots.end(), s) != slots.end();
    });
    r = overlaps ? runners_.erase(r) : std::next(r);
  }
  DistributedOptions d;
  for (int s : slots) d.devices.push_back(devices_.at(s));
  d.collective_timeout = options_.collective_timeout;
  auto runner = std::make_unique<DistributedRunner>(std::move(d));
  return *runners_.emplace(slots, std::move(runner)).first->second;
}

}  // namespace talkgen::client
