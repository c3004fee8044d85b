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
  // Peaks: vendor datasheets, dense tensor-core TFLOP/s (no sparsity) with FP32 accumulation (what the DiT's
  // bf16 GEMMs and cuBLASLt's FP8 GEMMs use; GeForce cards run FP32 accumulation at half their FP16-
  // accumulate rate). SXM parts for A100 / H100 / H200.
  //   A100-80GB SXM  bf16 312, no FP8; HBM2e 2,039 GB/s; sm_80      (NVIDIA A100 datasheet)
  //   H100 SXM       bf16 989, FP8 1,979; HBM3 3,350 GB/s; sm_90    (NVIDIA H100 datasheet: 1,979 / 3,958 sparse)
  //   H200 SXM       bf16 989, FP8 1,979; HBM3e 4,800 GB/s; sm_90   (NVIDIA H200 datasheet)
  //   L40S           bf16 362, FP8 733; GDDR6 864 GB/s; sm_89       (NVIDIA L40S datasheet: 362.05 / 733)
  //   RTX 4090       bf16 165.2, FP8 330.3; GDDR6X 1,008 GB/s; sm_89 (Ada whitepaper, appendix A, FP32 accumulate)
  //   RTX 3090       bf16 71, no FP8; GDDR6X 936 GB/s; sm_86        (GA102 whitepaper, FP32 accumulate: 71 / 142)
  //   RTX 4080       bf16 97.5, FP8 194.9; GDDR6X 716.8 GB/s; sm_89 (Ada whitepaper, appendix A)
  //   RTX 4060 Ti    bf16 44.1, FP8 88.3; GDDR6 288 GB/s; sm_89     (34 SMs x 2.535 GHz x the Ada SM's rate; NVIDIA's
  //     16GB          "353 AI TOPS" is FP8 sparse with FP16 accumulate = 4 x 88.3)
  //   L4             bf16 121, FP8 242.5; GDDR6 300 GB/s; sm_89     (NVIDIA L4 datasheet: 242 / 485 sparse)
  //   A10            bf16 125, no FP8; GDDR6 600 GB/s; sm_86        (NVIDIA A10 datasheet: 125 / 250 sparse)
  // Memory: cudaDeviceProp's totalGlobalMem (an H100 80GB HBM3 reports 85017493504 bytes = 79.2 GiB; an RTX
  // 4090 25393692672 = 23.6 GiB, 0.34 GiB under nvidia-smi's 24564 MiB). For the cards not measured here:
  // nvidia-smi's total less the same 0.34 GiB (RTX 3090 24576 MiB, RTX 4080 16376, 4060 Ti 16380, L4 and
  // A10 23034 / 23028 with ECC on); a calibration records the real figure.
  // Host link: pinned host -> device copies at about 25 GB/s on PCIe 4.0 x16 (the figure; ~80% of
  // the 31.5 GB/s raw rate), 50 GB/s on PCIe 5.0 x16 (H100 / H200 SXM hosts), 12.5 GB/s on the RTX 4060 Ti's
  // PCIe 4.0 x8.
  // achieved_fraction: the DiT forward's share of peak. On H100, talkgen's measured 480p forward (1.83 PFLOP;
  // benchmarks/RESULTS.md): 0.67 in builds with FlashAttention-3 (2.75 s, 659-663 TFLOP/s; 720p 0.68), 0.60
  // with cuDNN's attention (3.03-3.09 s, 591-603 TFLOP/s); H200 has the same SMs and clocks and is assumed
  // equal. The others are guesses until calibrated (the L4 lower: its 72 W limit holds clocks down).
  // interconnect_gbps: NCCL all-to-all bandwidth per GPU inside one host (NVLink; PCIe for the others).
  // Prices: typical 2025 on-demand cloud / GPU-marketplace rates per GPU-hour.
#if TALKGEN_WITH_FLASH_ATTENTION3
  constexpr double kHopperFraction = 0.67;
#else
  constexpr double kHopperFraction = 0.60;
#endif
  constexpr double kPcie4x16 = 25.0, kPcie5x16 = 50.0, kPcie4x8 = 12.5;
  //   name                  bf16   GiB    frac  a2a   $/h   fp8     GB/s   host link            sm
  static const std::vector<GpuSpec> specs = {
      {"A100-80GB", 312.0, 79.3, 0.45, 120.0, 3.50, 0.0, 2039.0, kPcie4x16, "PCIe 4.0 x16", 80},
      {"H100", 989.0, 79.2, kHopperFraction, 200.0, 4.50, 1979.0, 3350.0, kPcie5x16, "PCIe 5.0 x16", 90},
      {"H200", 989.0, 139.7, kHopperFraction, 200.0, 5.50, 1979.0, 4800.0, kPcie5x16, "PCIe 5.0 x16", 90},
      {"L40S", 362.0, 44.4, 0.35, 12.0, 1.80, 733.0, 864.0, kPcie4x16, "PCIe 4.0 x16", 89},
      {"RTX 4090", 165.2, 23.6, 0.35, 8.0, 0.70, 330.3, 1008.0, kPcie4x16, "PCIe 4.0 x16", 89},
      {"RTX 3090", 71.0, 23.7, 0.35, 8.0, 0.30, 0.0, 936.0, kPcie4x16, "PCIe 4.0 x16", 86},
      {"RTX 4080", 97.5, 15.7, 0.35, 8.0, 0.40, 194.9, 716.8, kPcie4x16, "PCIe 4.0 x16", 89},
      {"RTX 4060 Ti 16GB", 44.1, 15.7, 0.35, 4.0, 0.20, 88.3, 288.0, kPcie4x8, "PCIe 4.0 x8", 89},
      {"L4", 121.0, 22.2, 0.25, 12.0, 0.80, 242.5, 300.0, kPcie4x16, "PCIe 4.0 x16", 89},
      {"A10", 125.0, 22.1, 0.35, 12.0, 0.75, 0.0, 600.0, kPcie4x16, "PCIe 4.0 x16", 86},
  };
  return specs;
}

std::optional<GpuSpec> find_gpu_type(const std::string& name) {
  const std::string n = without_separators(name);
  if (n.empty()) return std::nullopt;
  // Device names as CUDA reports them: "NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3", "NVIDIA H200",
  // "NVIDIA L40S", "NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 4060 Ti", "NVIDIA L4", "NVIDIA A10".
  // A100 40 GB parts are not the 80 GB type, nor an 8 GB RTX 4060 Ti the 16 GB one; "L4" and "A10" only
  // as whole names (not L40 / L40S / A100 / A10G).
  auto has = [&](const char* part) { return n.find(part) != std::string::npos; };
  auto ends_with = [&](const std::string& tail) {
    return n.size() >= tail.size() && n.compare(n.size() - tail.size(), tail.size(), tail) == 0;
  };
  const char* type = nullptr;
  if (has("h200")) type = "H200";
  else if (has("h100")) type = "H100";
  else if (has("a100") && !has("40gb")) type = "A100-80GB";
  else if (has("l40s")) type = "L40S";
  else if (has("4090")) type = "RTX 4090";
  else if (has("3090")) type = "RTX 3090";
  else if (has("4080")) type = "RTX 4080";
  else if (has("4060ti") && !has("8gb")) type = "RTX 4060 Ti 16GB";
  else if (ends_with("l4") && !has("l40")) type = "L4";
  else if (ends_with("a10")) type = "A10";
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

const char* to_string(WeightDtype dtype) noexcept {
  switch (dtype) {
    case WeightDtype::automatic: return "auto";
    case WeightDtype::bf16: return "bf16";
    case WeightDtype::fp8: return "fp8";
    case WeightDtype::int8: return "int8";
  }
  return "?";
}

WeightDtype parse_weight_dtype(const std::string& name) {
  const std::string n = lower(name);
  if (n == "auto" || n == "automatic") return WeightDtype::automatic;
  if (n == "bf16" || n == "bfloat16") return WeightDtype::bf16;
  if (n == "fp8" || n == "float8" || n == "e4m3") return WeightDtype::fp8;
  if (n == "int8") return WeightDtype::int8;
  fail(ErrorCode::invalid_argument, "weight dtype '{}': expected auto, bf16, fp8 or int8", name);
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
