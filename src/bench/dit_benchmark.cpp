#include "bench/dit_benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <regex>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include "model/dit/dit_model.hpp"
#include "model/dit/dit_profile.hpp"
#include "model/layers/device_timing.hpp"
#include "model/layers/random_fill.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

#ifdef TALKGEN_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace talkgen::model::dit {
namespace {

constexpr int64_t kVaeStrideT = 4, kVaeStrideHW = 8;

// Waits for the device's queued work: a scalar read back to the host can only complete after it.
void sync(const at::Tensor& t) { (void)t.reshape({-1})[0].item<float>(); }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Restores the model's runtime options after the A/B runs.
struct RuntimeGuard {
  DitModel& model;
  DitRuntimeOptions saved = model.runtime_options();
  ~RuntimeGuard() { model.set_runtime_options(saved); }
};

}  // namespace

DitRuntimeOptions parse_bench_variant(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos)
    fail(ErrorCode::invalid_argument, "benchmark variant '{}' not understood; expected ATTENTION/DIT, e.g. cudnn/all "
         "or auto/fused+gelu", text);
  auto dit = text.substr(slash + 1);
  std::replace(dit.begin(), dit.end(), '+', ',');
  DitRuntimeOptions runtime;
  runtime.attention = layers::parse_attention_backend(text.substr(0, slash));
  runtime.speed = DitSpeedOptions::parse(dit);
  return runtime;
}

DitFlops dit_forward_flops(const DitConfig& c, int64_t frames, int64_t height, int64_t width) {
  const double nt = static_cast<double>((frames - 1) / kVaeStrideT + 1);
  const double lh = static_cast<double>(height / kVaeStrideHW / c.patch_size[1]);
  const double lw = static_cast<double>(width / kVaeStrideHW / c.patch_size[2]);
  const double L = nt / c.patch_size[0] * lh * lw;
  const double D = c.dim, F = c.ffn_dim, Lt = c.text_len, Li = c.clip_tokens, Ci = c.clip_dim;
  const double La = c.audio_context_tokens;  // one speaker
  const double patch = c.patch_size[0] * c.patch_size[1] * c.patch_size[2];
  DitFlops f;
  const double per_block_linear = 2 * L * D * D * 4      // self q, k, v, o
                                  + 2 * L * D * D * 2    // cross q, o
                                  + 2 * (Lt + Li) * D * D * 2  // cross k, v (text) and k_img, v_img
                                  + 2 * L * D * D * 2    // audio q_linear, proj
                                  + 2 * nt * La * c.audio_output_dim * 2 * D  // audio kv_linear
                                  + 2 * L * D * F * 2;   // ffn
  const double per_vf = c.audio_window_vf() * c.audio_blocks * c.audio_channels;
  const double per_first = c.audio_window * c.audio_blocks * c.audio_channels;
  const double I = c.audio_intermediate_dim;
  f.linear = c.num_layers * per_block_linear + 2 * L * c.in_dim * patch * D      // patch embedding
             + 2 * Lt * (c.text_dim * D + D * D)                               // text embedding
             + 2 * Li * (Ci * Ci + Ci * D)                                     // img_emb
             + 2 * (per_first + (nt - 1) * per_vf) * I + 2 * nt * I * (I + La * c.audio_output_dim)  // audio_proj
             + 2 * (c.freq_dim * D + D * D + D * 6 * D)                        // time embedding
             + 2 * L * D * patch * c.out_dim;                                  // head
  f.self_attention = c.num_layers * 2 * 2 * L * L * D;
  f.cross_attention = c.num_layers * (2 * 2 * L * (Lt + Li) * D + 2 * 2 * L * La * D);
  return f;
}

std::pair<int64_t, int64_t> parse_video_size(const std::string& text) {
  if (text == "480p") return {480, 832};
  if (text == "720p") return {720, 1280};
  std::smatch m;
  static const std::regex hw("^([0-9]{2,5})x([0-9]{2,5})$");
  if (std::regex_match(text, m, hw)) {
    const int64_t h = std::stoll(m[1]), w = std::stoll(m[2]);
    if (h % 16 == 0 && w % 16 == 0) return {h, w};
  }
  fail(ErrorCode::invalid_argument, "video size '{}' not understood; expected 480p, 720p or HxW with H and W "
       "multiples of 16 (e.g. 480x832)", text);
}

DitInputs bench_inputs(const DitConfig& c, int64_t frames, int64_t height, int64_t width,
                       const at::TensorOptions& options, uint64_t seed) {
  const int64_t nt = (frames - 1) / kVaeStrideT + 1, lh = height / kVaeStrideHW, lw = width / kVaeStrideHW;
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const auto randn = [&](at::IntArrayRef shape) { return at::randn(shape, gen).to(options); };
  DitInputs in;
  in.x = randn({1, c.out_dim, nt, lh, lw});
  in.y = randn({1, c.in_dim - c.out_dim, nt, lh, lw});
  in.t = at::full({1}, 999.0, options.dtype(at::kFloat));
  in.context = randn({1, c.text_len, c.text_dim});
  in.clip_fea = randn({1, c.clip_tokens, c.clip_dim});
  in.audio = randn({1, 1, frames, c.audio_window, c.audio_blocks, c.audio_channels});
  return in;
}

int64_t bench_tokens(const DitConfig& c, int64_t frames, int64_t height, int64_t width) {
  const int64_t nt = (frames - 1) / kVaeStrideT + 1;
  return nt / c.patch_size[0] * (height / kVaeStrideHW / c.patch_size[1]) * (width / kVaeStrideHW / c.patch_size[2]);
}

void check_bench_options(const DitBenchOptions& o) {
  if (o.frames < 1 || (o.frames - 1) % kVaeStrideT != 0)
    fail(ErrorCode::invalid_argument, "benchmark frames {} must be 4k+1 (e.g. 81)", o.frames);
  if (o.height % 16 || o.width % 16)
    fail(ErrorCode::invalid_argument, "benchmark size {}x{} must be multiples of 16", o.height, o.width);
  if (o.reps < 1) fail(ErrorCode::invalid_argument, "benchmark reps {} must be >= 1", o.reps);
}

DitBenchResult bench_dit(const DitBenchOptions& o) {
  check_bench_options(o);
  const auto& c = o.config;
  DitBenchResult r;
  r.device = o.device.str();
#ifdef TALKGEN_WITH_CUDA
  if (o.device.is_cuda()) r.device = at::cuda::getDeviceProperties(o.device.index() < 0 ? 0 : o.device.index())->name;
#endif

  auto t0 = std::chrono::steady_clock::now();
  DitModel model(c, at::TensorOptions().dtype(o.dtype).device(o.device), o.runtime);
  layers::fill_random_on_device(model);
  for (const auto& p : model.parameters()) r.param_count += p.numel();
  const DitInputs in = bench_inputs(c, o.frames, o.height, o.width, at::TensorOptions().dtype(o.dtype).device(o.device));
  DitInputs no_text = in, no_audio = in;
  no_text.context = at::zeros_like(in.context);
  no_audio.audio = at::zeros_like(in.audio);
  sync(in.x);
  r.build_s = seconds_since(t0);
  r.tokens = bench_tokens(c, o.frames, o.height, o.width);

  for (int i = 0; i < o.warmup; ++i) sync(model.forward(in));
  layers::reset_peak_memory(o.device);
  std::vector<double> fwd, step;
  for (int i = 0; i < o.reps; ++i) {
    t0 = std::chrono::steady_clock::now();
    sync(model.forward(in));
    fwd.push_back(seconds_since(t0));
  }
  for (int i = 0; i < o.reps; ++i) {
    t0 = std::chrono::steady_clock::now();
    const auto a = model.forward(in), b = model.forward(no_text), d = model.forward(no_audio);
    sync(a + b + d);
    step.push_back(seconds_since(t0));
  }
  r.peak_bytes = layers::peak_memory_bytes(o.device);
  r.forward_s = layers::median_of(fwd);
  r.step_s = layers::median_of(step);
  r.flops = dit_forward_flops(c, o.frames, o.height, o.width);
  r.tflops = r.flops.total() / r.forward_s / 1e12;
  r.mfu = o.peak_tflops > 0 ? r.tflops / o.peak_tflops : 0;
  r.configuration = model.runtime_options().describe();
  log_info("bench dit: {}: forward {:.3f} s ({:.0f} TFLOP/s)", r.configuration, r.forward_s, r.tflops);

  const auto& variants = o.variants;
  if (!variants.empty()) {
    RuntimeGuard restore{model};
    at::Tensor first;
    for (const auto& name : variants) {
      const auto runtime = parse_bench_variant(name);
      model.set_runtime_options(runtime);
      auto out = model.forward(in);  // warm-up: a new attention kernel may build its plan first
      sync(out);
      std::vector<double> times;
      for (int i = 0; i < o.reps; ++i) {
        t0 = std::chrono::steady_clock::now();
        out = model.forward(in);
        sync(out);
        times.push_back(seconds_since(t0));
      }
      DitVariantResult v;
      v.name = name;
      v.forward_s = layers::median_of(times);
      v.tflops = r.flops.total() / v.forward_s / 1e12;
      v.output_scale = out.abs().max().item<double>();
      if (first.defined()) {
        v.max_abs_diff = (out - first).abs().max().item<double>();
      } else {
        first = out;
      }
      log_info("bench dit variant {} ({}): forward {:.3f} s ({:.0f} TFLOP/s), max |diff| vs {} {:.4g} at output "
               "scale {:.3g}", name, runtime.describe(), v.forward_s, v.tflops, variants.front(),
               v.max_abs_diff, v.output_scale);
      r.variants.push_back(v);
    }
  }

  if (o.profile) {
    PhaseProfile profile;
    profile.start(in.x);
    sync(model.forward(in));
    const double total = profile.total_seconds();
    log_info("bench dit profile ({}; every phase waits for the device, total {:.3f} s):", r.configuration, total);
    for (const auto& [phase, seconds] : profile.seconds()) {
      r.profile.push_back({phase, seconds});
      log_info("  {:<40} {:8.3f} s  {:5.1f}%", phase, seconds, 100 * seconds / total);
    }
  }
  return r;
}

}  // namespace talkgen::model::dit
