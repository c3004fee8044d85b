// Rates: built-in defaults, overridden by what `talkgen bench` measured.
#include "planner/rates.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "talkgen/error.hpp"
#include "talkgen/log.hpp"
#include "talkgen/version.hpp"

namespace talkgen::planner {
namespace {

// The VAE's convolutions run in float32 (TF32 tensor cores) one latent frame at a time: a small share
// of the bf16 peak. Guess until `talkgen bench` measures it.
constexpr double kVaeFractionOfPeak = 0.15;
// libx264 "medium" on a server CPU: ~120 frames/s at 480x832.
constexpr double kVideoEncodeMpixPerS = 120.0 * 480 * 832 / 1e6;
// PCIe all-to-all for a GPU known only by its calibration, and the share of peak assumed for its VAE
// when only the DiT rate was measured.
constexpr double kUnknownInterconnectGbps = 12.0;
constexpr double kUnknownAchievedFraction = 0.40;
// cuBLASLt FP8 GEMMs with per-token activation scales at the DiT's sizes realise about 80% of the FP8 /
// bf16 peak ratio (2x on every FP8 part in the catalogue, so a 1.8x matmul speed-up): the quantisation of
// each GEMM's input is extra memory traffic. An estimate until `talkgen bench` measures FP8 forwards.
// Self-attention stays bf16 (about half of a 480p forward's FLOPs), so the forward gains far less.
constexpr double kFp8GainRealised = 0.8;

bool same_text(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool same_gpu(const std::string& calibrated_name, const std::string& gpu_type) {
  if (same_text(calibrated_name, gpu_type)) return true;
  const auto a = find_gpu_type(calibrated_name), b = find_gpu_type(gpu_type);
  return a && b && a->name == b->name;
}

}  // namespace

std::optional<Calibration> find_calibration(const CalibrationStore& store, const std::string& gpu_type,
                                            const std::string& driver_version) {
  std::optional<Calibration> best;
  for (auto& c : store.list()) {
    if (c.talkgen_version != version() || !same_gpu(c.gpu_name, gpu_type)) continue;
    if (!driver_version.empty() && c.driver_version != driver_version) continue;
    if (!best || c.measured_at > best->measured_at) best = std::move(c);  // ISO 8601 sorts as text
  }
  return best;
}

Rates make_rates(const std::optional<GpuSpec>& spec, const std::optional<Calibration>& cal,
                 const std::string& gpu_type, const ModelDims& m) {
  if (!spec && !cal) {
    std::string known;
    for (const auto& s : known_gpu_types()) known += (known.empty() ? "" : ", ") + s.name;
    fail(ErrorCode::unsupported,
         "no figures for GPU type '{}': built-in types are {}; or run `talkgen bench` on that GPU to calibrate it",
         gpu_type, known);
  }
  Rates r;
  double peak = 0;
  if (spec) {
    peak = spec->peak_bf16_tflops;
    r.memory_gib = spec->memory_gib;
    r.matmul_tflops = r.attention_tflops = peak * spec->achieved_fraction;
    r.comm_gbps = spec->interconnect_gbps;
    if (spec->has_fp8())
      r.fp8_matmul_speedup = 1 + (spec->peak_fp8_tflops / spec->peak_bf16_tflops - 1) * kFp8GainRealised;
    r.host_link_gbps = spec->host_link_gbps;
    r.memory_bandwidth_gbps = spec->memory_bandwidth_gbps;
    r.sm = spec->sm;
    r.gpu_name = spec->name;
    r.note = fmt::format("uncalibrated: built-in figures for {} ({:.0f} TFLOP/s bf16 peak x {:.2f}); run "
                         "`talkgen bench` on that GPU to calibrate", spec->name, peak, spec->achieved_fraction);
  } else {
    peak = cal->dit_tflops / kUnknownAchievedFraction;
    r.comm_gbps = kUnknownInterconnectGbps;
    r.gpu_name = cal->gpu_name;  // FP8 unknown: planned as without (fp8_matmul_speedup 0)
  }
  r.vae_decode_mpix_per_s = peak * 1e12 * kVaeFractionOfPeak / kVaeDecodeFlopsPerPixel / 1e6;
  r.vae_encode_mpix_per_s = peak * 1e12 * kVaeFractionOfPeak / kVaeEncodeFlopsPerPixel / 1e6;
  r.video_encode_mpix_per_s = kVideoEncodeMpixPerS;
  if (!cal) return r;

  r.calibrated = true;
  if (cal->memory_bytes > 0) r.memory_gib = static_cast<double>(cal->memory_bytes) / (1024.0 * 1024 * 1024);
  if (r.memory_gib <= 0)
    fail(ErrorCode::unsupported, "the calibration of '{}' has no device memory size and the type is not "
         "built in: re-run `talkgen bench` with this talkgen", cal->gpu_name);
  r.matmul_tflops = r.attention_tflops = cal->dit_tflops;
  // With a separate attention rate, split the measured forward: what is left after attention ran at the
  // rest's rate. Attention grows with tokens^2 and the rest with tokens, so the split matters at 720p.
  if (cal->attention_tflops > 0 && cal->measured_tokens > 0) {
    const double L = static_cast<double>(cal->measured_tokens);
    const auto f = dit_forward_flops(m, L, 1 + 80 / m.vae_stride_t);
    const double rest_seconds = f.total() / (cal->dit_tflops * 1e12) - f.self_attention / (cal->attention_tflops * 1e12);
    if (rest_seconds > 0) {
      r.attention_tflops = cal->attention_tflops;
      r.matmul_tflops = (f.per_token + f.fixed) / rest_seconds / 1e12;
    } else {
      log_warn("calibration of {}: attention at {:.0f} TFLOP/s is slower than the whole forward at {:.0f}; "
               "using the whole-forward rate for everything", cal->gpu_name, cal->attention_tflops, cal->dit_tflops);
    }
  }
  if (cal->dit_peak_bytes > 0 && cal->measured_tokens > 0) {
    const double weights = dit_parameters(m) * 2;
    r.activation_bytes_per_token = std::max(16.0 * 1024, (cal->dit_peak_bytes - weights) / cal->measured_tokens);
  }
  if (cal->vae_decode_mpix_per_s > 0) r.vae_decode_mpix_per_s = cal->vae_decode_mpix_per_s;
  if (cal->vae_encode_mpix_per_s > 0) r.vae_encode_mpix_per_s = cal->vae_encode_mpix_per_s;
  if (cal->video_encode_mpix_per_s > 0) r.video_encode_mpix_per_s = cal->video_encode_mpix_per_s;
  if (cal->comm_gbps > 0 && cal->gpus > 1) r.comm_gbps = cal->comm_gbps;
  r.note = fmt::format("calibrated on {} (driver {}, {}): DiT {:.0f} TFLOP/s{}", cal->gpu_name,
                       cal->driver_version.empty() ? "?" : cal->driver_version, cal->measured_at,
                       cal->dit_tflops, cal->comm_gbps > 0 && cal->gpus > 1
                           ? fmt::format(", all-to-all {:.0f} GB/s", cal->comm_gbps) : std::string());
  return r;
}

}  // namespace talkgen::planner
