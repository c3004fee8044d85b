// The Client's devices: which ones (the device policy resolved against what the host has), the models on
// them (loaded on first use, once per GPU; one shared set for all CPU ranks), a Pipeline per device, and
// the DistributedRunner of each device group a job has used (kept: NCCL initialisation is costly).
//
// Device "slots" are indices 0..size()-1 into the pool. The Client's scheduler hands every running job a
// disjoint set of slots, so a slot's Pipeline and a group's runner are used by one job at a time.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <ATen/ATen.h>

#include "model/dit/dit_model.hpp"
#include "pipeline/pipeline.hpp"
#include "talkgen/client.hpp"
#include "distributed/distributed_runner.hpp"

namespace talkgen::client {

/// The pool for `options`: probes the devices (unless the policy is cpu), applies the policy (cuda without a
/// GPU: Error(device_unavailable) with the probe's reason; automatic without one: the CPU, noted and logged).
ClientDevices resolve_devices(const ClientOptions& options);

/// ClientOptions::attention / dit_fast_paths as the DiT's settings (invalid_argument naming a bad value).
model::dit::DitRuntimeOptions dit_runtime_options(const ClientOptions& options);

class DevicePool {
 public:
  DevicePool(const ClientOptions& options, ClientDevices devices);
  ~DevicePool();

  int size() const { return static_cast<int>(devices_.size()); }
  const ClientDevices& info() const { return info_; }
  const c10::Device& device(int slot) const { return devices_.at(slot); }

  /// Loads slot's models if they are not loaded yet; returns the seconds it took (0 when already loaded).
  double ensure_loaded(int slot);
  /// The slot's Pipeline (ensure_loaded first).
  pipeline::Pipeline& pipeline(int slot);
  /// The runner for exactly these slots (created on first use, with the options' collective timeout).
  DistributedRunner& runner(const std::vector<int>& slots);

 private:
  pipeline::PipelineModels load_models_on(const c10::Device& device) const;

  ClientOptions options_;
  ClientDevices info_;
  std::vector<c10::Device> devices_;
  bool shared_models_ = false;  // CPU ranks: one model set for all slots

  struct Slot {
    std::mutex mutex;
    std::unique_ptr<pipeline::Pipeline> pipeline;
  };
  std::vector<std::unique_ptr<Slot>> slots_;
  std::mutex shared_mutex_;
  std::optional<pipeline::PipelineModels> shared_;

  std::mutex runners_mutex_;
  std::map<std::vector<int>, std::unique_ptr<DistributedRunner>> runners_;
};

}  // namespace talkgen::client
