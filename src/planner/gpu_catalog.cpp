// Built-in figures for common GPUs and the default price table.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "talkgen/error.hpp"
#include "talkgen/planner.hpp"

namespace talkgen {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}
std::string without_separators(const std::string& s) {
  std::string out;
  for (char c : lower(s))
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
  return out;
}

}  // namespace

const std::vector<GpuSpec>& known_gpu_types() {
  // Peaks: vendor datasheets, dense bf16 tensor (no sparsity); SXM parts. Memory: cudaDeviceProp's
  // totalGlobalMem (an H100 80GB HBM3 reports 85017493504 bytes = 79.2 GiB; nvidia-smi's figure is larger).
  // achieved_fraction: the DiT forward's share of peak. On H100, talkgen's measured 480p forward (1.83 PFLOP;
  // benchmarks/RESULTS.md): 0.67 in builds with FlashAttention-3 (2.75 s, 659-663 TFLOP/s; 720p 0.68), 0.60
  // with cuDNN's attention (3.03-3.09 s, 591-603 TFLOP/s); H200 has the same SMs and clocks and is assumed
  // equal. The others are guesses until calibrated.
  // interconnect_gbps: NCCL all-to-all bandwidth per GPU inside one host (NVLink; PCIe for L40S / 4090).
#if TALKGEN_WITH_FLASH_ATTENTION3
  constexpr double kHopperFraction = 0.67;
#else
  constexpr double kHopperFraction = 0.60;
#endif
  static const std::vector<GpuSpec> specs = {
      {"A100-80GB", 312.0, 79.3, 0.45, 120.0, 3.50},
      {"H100", 989.0, 79.2, kHopperFraction, 200.0, 4.50},
      {"H200", 989.0, 139.7, kHopperFraction, 200.0, 5.50},
      {"L40S", 362.0, 44.4, 0.35, 12.0, 1.80},
      {"RTX 4090", 165.0, 23.6, 0.35, 8.0, 0.70},
  };
  return specs;
}

std::optional<GpuSpec> find_gpu_type(const std::string& name) {
  const std::string n = without_separators(name);
  if (n.empty()) return std::nullopt;
  // Device names as CUDA reports them: "NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3", "NVIDIA H200",
  // "NVIDIA L40S", "NVIDIA GeForce RTX 4090". A100 40 GB parts are not the 80 GB type.
  auto has = [&](const char* part) { return n.find(part) != std::string::npos; };
  const char* type = nullptr;
  if (has("h200")) type = "H200";
  else if (has("h100")) type = "H100";
  else if (has("a100") && !has("40gb")) type = "A100-80GB";
  else if (has("l40s")) type = "L40S";
  else if (has("4090")) type = "RTX 4090";
  if (!type) return std::nullopt;
  for (const auto& spec : known_gpu_types())
    if (spec.name == type) return spec;
  return std::nullopt;
}

PriceTable PriceTable::defaults() {
  PriceTable table;
  for (const auto& spec : known_gpu_types()) table.prices_[spec.name] = spec.usd_per_gpu_hour;
  return table;
}

void PriceTable::set(const std::string& gpu_type, double usd_per_gpu_hour) {
  if (!std::isfinite(usd_per_gpu_hour) || usd_per_gpu_hour < 0)
    fail(ErrorCode::invalid_argument, "price {} USD per GPU-hour for '{}': expected a number >= 0",
         usd_per_gpu_hour, gpu_type);
  const auto spec = find_gpu_type(gpu_type);
  prices_[spec ? spec->name : lower(gpu_type)] = usd_per_gpu_hour;
}

std::optional<double> PriceTable::find(const std::string& gpu_type) const {
  const auto spec = find_gpu_type(gpu_type);
  const auto it = prices_.find(spec ? spec->name : lower(gpu_type));
  if (it == prices_.end()) return std::nullopt;
  return it->second;
}

const char* to_string(TextEncoderPlacement placement) noexcept {
  switch (placement) {
    case TextEncoderPlacement::automatic: return "automatic";
    case TextEncoderPlacement::gpu: return "gpu";
    case TextEncoderPlacement::cpu: return "cpu";
  }
  return "?";
}

}  // namespace talkgen
