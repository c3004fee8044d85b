#include "bench/vae_benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include <sys/resource.h>

#ifdef TALKGEN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

#include "model/vae/wan_vae.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

namespace talkgen::model::vae {
namespace {

void synchronize(const at::Device& device) {
#ifdef TALKGEN_WITH_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#endif
}

void reset_peak(const at::Device& device) {
#ifdef TALKGEN_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#endif
}

int64_t peak_bytes(const at::Device& device) {
#ifdef TALKGEN_WITH_CUDA
  if (device.is_cuda()) {
    // Index 0 is StatType::AGGREGATE in every libtorch (the enum moved namespaces in 2.x).
    return c10::cuda::CUDACachingAllocator::getDeviceStats(device.index()).allocated_bytes[0].peak;
  }
#endif
  return -1;
}

int64_t host_peak_rss() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

// Median wall time in ms of `repeats` runs after one warm-up, and the peak memory of the last run.
std::pair<double, int64_t> time_it(const at::Device& device, int repeats, const std::function<void()>& run) {
  run();
  synchronize(device);
  std::vector<double> ms;
  int64_t peak = -1;
  for (int i = 0; i < repeats; ++i) {
    reset_peak(device);
    const auto t0 = std::chrono::steady_clock::now();
    run();
    synchronize(device);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    peak = peak_bytes(device);
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], peak};
}

}  // namespace

VaeBenchResult benchmark_vae(const VaeBenchOptions& options) {
  const int64_t stride = options.config.spatial_stride();
  if (options.height <= 0 || options.width <= 0 || options.height % stride || options.width % stride ||
      options.latent_frames < 1 || options.repeats < 1) {
    fail(ErrorCode::invalid_argument,
         "VAE benchmark: need H, W positive multiples of {}, latent_frames >= 1 and repeats >= 1, found {}x{}, {}, {}",
         stride, options.height, options.width, options.latent_frames, options.repeats);
  }
  at::Device device = options.device;
  if (device.is_cuda()) {
#ifdef TALKGEN_WITH_CUDA
    if (!device.has_index()) device = at::Device(at::kCUDA, 0);
#else
    fail(ErrorCode::device_unavailable, "VAE benchmark: device {} asked for, but this build has no CUDA; use cpu",
         device.str());
#endif
  }

  std::shared_ptr<WanVae> vae;
  if (options.checkpoint.empty()) {
    vae = std::make_shared<WanVae>(options.config);
    vae->to(device, options.dtype);
  } else {
    VaeLoadOptions load;
    load.config = options.config;
    load.dtype = options.dtype;
    load.device = device;
    vae = load_wan_vae(options.checkpoint, load);
  }

  VaeBenchResult result;
  result.device = device.str();
  const auto gen_options = at::TensorOptions().device(device).dtype(at::kFloat);
  const at::Tensor frame = at::rand({1, 3, 1, options.height, options.width}, gen_options) * 2 - 1;
  const at::Tensor latents =
      at::randn({1, options.config.z_dim, options.latent_frames, options.height / stride, options.width / stride},
                gen_options);

  std::tie(result.encode_frame_ms, result.encode_peak_bytes) =
      time_it(device, options.repeats, [&] { vae->encode(frame); });

  DecodeOptions decode;
  decode.tiling = options.tiling;
  at::Tensor frames;
  std::tie(result.decode_ms, result.decode_peak_bytes) =
      time_it(device, options.repeats, [&] { frames = vae->decode(latents, decode); });
  result.video_frames = frames.size(2);
  result.decode_ms_per_video_frame = result.decode_ms / static_cast<double>(result.video_frames);

  if (options.tiling && options.compare_untiled) {
    const at::Tensor diff = (frames - vae->decode(latents)).abs();
    result.tiled_max_abs_diff = diff.max().item<double>();
    result.tiled_mean_abs_diff = diff.mean().item<double>();
  }
  result.host_peak_rss_bytes = host_peak_rss();
  log_info("VAE bench on {}: encode 1 frame {:.1f} ms, decode {} latent -> {} frames {:.1f} ms", result.device,
           result.encode_frame_ms, options.latent_frames, result.video_frames, result.decode_ms);
  return result;
}

}  // namespace talkgen::model::vae
