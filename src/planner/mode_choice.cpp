// The mode choice: every allowed mode's memory and time, the fastest that fits.
#include "planner/mode_choice.hpp"

#include <algorithm>
#include <limits>

#include "talkgen/error.hpp"

namespace talkgen::planner {

std::vector<std::vector<WeightDtype>> dtype_tiers(WeightDtype requested, const Rates& r) {
  const bool fp8 = r.fp8_matmul_speedup > 0;
  if (requested == WeightDtype::fp8 && !fp8) {
    if (r.sm > 0)
      fail(ErrorCode::unsupported,
           "--dtype fp8 needs FP8 tensor cores (sm_89 / sm_90: RTX 40xx, L4, L40S, H100, H200); the {} (sm_{}) "
           "has none. Use --dtype int8 (8-bit weights, bf16 compute: the same memory as fp8) or bf16 (block "
           "offload when it does not fit), or leave --dtype auto",
           r.gpu_name, r.sm);
    fail(ErrorCode::unsupported,
         "--dtype fp8 needs FP8 tensor cores (sm_89 / sm_90), and talkgen does not know whether '{}' has them "
         "(not a built-in GPU type). Use --dtype int8 or bf16, or plan for a built-in type with --gpu-type",
         r.gpu_name);
  }
  if (requested != WeightDtype::automatic) return {{requested}};
  // bf16 first: quantising changes the output, so it is used only when no bf16 mode fits.
  if (fp8) return {{WeightDtype::bf16}, {WeightDtype::fp8, WeightDtype::int8}};
  return {{WeightDtype::bf16}, {WeightDtype::int8}};
}

double limit_bytes(const Rates& r, const std::optional<double>& max_vram_gib) {
  const double device = (r.memory_gib - kCudaContextGiB) * kGiB;
  return max_vram_gib ? std::min(device, *max_vram_gib * kGiB) : device;
}

namespace {
// Time within this share of the fastest counts as a tie, broken by fewer streamed bytes.
constexpr double kTimeTie = 0.01;
}  // namespace

ModeChoice choose_mode(const Workload& w, const Rates& r, const PlanRequest& req, int gpus, const ModelDims& m) {
  ModeChoice choice;
  choice.limit_bytes = limit_bytes(r, req.max_vram_gib);
  choice.allowed_bytes = usable_bytes(choice.limit_bytes);
  const int blocks = static_cast<int>(m.layers);

  std::vector<bool> text_on_gpu;
  if (req.text_encoder != TextEncoderPlacement::cpu) text_on_gpu.push_back(true);
  if (req.text_encoder != TextEncoderPlacement::gpu) text_on_gpu.push_back(false);
  std::vector<bool> sharding{false};
  if (req.weight_sharding && gpus > 1) sharding.push_back(true);

  auto evaluate = [&](const MemoryMode& mode) {
    ModeCandidate c;
    c.mode = mode;
    const OptionShape shape{gpus, mode};
    c.memory = estimate_memory(w, r, mode, gpus, m);
    c.forward = forward_time(w, r, shape, m);
    c.times = option_times(w, r, shape, req.include_model_load, m);
    c.fits = c.memory.peak_bytes <= choice.allowed_bytes;
    return c;
  };

  double smallest_peak = std::numeric_limits<double>::infinity();
  for (const auto& tier : dtype_tiers(req.dtype, r)) {
    std::vector<ModeCandidate> fitting;  // in preference order
    // Preference order (ties keep the first): kept encoders before on demand, untiled before tiled,
    // replicated before sharded, umT5 on the GPU before the CPU.
    for (const WeightDtype dtype : tier)
      for (const bool on_demand : {false, true})
        for (const bool tiled : {false, true})
          for (const bool sharded : sharding)
            for (const bool text_gpu : text_on_gpu) {
              MemoryMode mode;
              mode.dtype = dtype;
              mode.blocks = mode.resident_blocks = blocks;
              mode.weight_sharded = sharded;
              mode.text_encoder_on_gpu = text_gpu;
              mode.encoders_on_demand = on_demand;
              mode.vae_tiled_decode = tiled;
              // The least this mode can need: nothing resident that may stream.
              MemoryMode least = mode;
              if (!sharded && blocks - 1 - kStreamingSlots >= 0) least.resident_blocks = 0;
              const double least_peak = estimate_memory(w, r, least, gpus, m).peak_bytes;
              if (least_peak < smallest_peak) {
                smallest_peak = least_peak;
                choice.smallest = evaluate(least);
              }
              const auto resident = resident_blocks_within(w, r, mode, gpus, choice.allowed_bytes, m);
              if (!resident) continue;
              mode.resident_blocks = *resident;
              fitting.push_back(evaluate(mode));
            }
    if (fitting.empty()) continue;
    double best = std::numeric_limits<double>::infinity();
    for (const auto& c : fitting) best = std::min(best, c.times.total);
    for (const auto& c : fitting) {
      if (c.times.total > best * (1 + kTimeTie)) continue;
      if (!choice.fastest || c.memory.streamed_bytes_per_forward < choice.fastest->memory.streamed_bytes_per_forward)
        choice.fastest = c;
    }
    return choice;
  }
  return choice;
}

}  // namespace talkgen::planner
