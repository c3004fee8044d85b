// The planner: how many GPUs, how long, whether it fits, and what it costs, before a job starts.
//
//   talkgen::PlanRequest req;
//   req.duration_seconds = 20;
//   req.quality = talkgen::Quality::balanced;
//   req.gpu_type = "H100";          // a built-in type or a calibrated device name (see known_gpu_types())
//   req.gpus_available = 8;
//   req.budget_usd = 0.5;           // optional limits
//   talkgen::Plan p = talkgen::plan(req);   // every GPU count 1..8, and the recommended one
//
// Estimates come from a model of the work itself (DiT FLOPs per forward from resolution and frames,
// forwards from the quality profile, chunks from the duration, VAE / encoder / video-encode terms, the
// Ulysses all-to-all volume for N GPUs) divided by rates: rates measured on this GPU by `talkgen bench`
// (CalibrationStore) when there are any, else built-in figures for common GPUs. Plan::calibrated says which.
//
// Each option runs in the fastest memory mode that fits the GPU (or PlanRequest::max_vram_gib): the DiT in
// bf16, FP8 or int8 (PlanRequest::dtype), all blocks resident or K of them with the rest streamed from
// pinned host memory, the encoders kept or loaded only while used, umT5 on the GPU or the CPU, the VAE
// decode tiled or not (PlanOption::mode). plan_each_gpu_type() shows the mode on every built-in GPU type.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "talkgen/export.hpp"
#include "talkgen/generate.hpp"
#include "talkgen/media.hpp"

namespace talkgen {

// ---------------------------------------------------------------------------------------------------
// GPU types and prices

/// Built-in figures for a GPU type, used until that GPU is calibrated.
struct TALKGEN_API GpuSpec {
  std::string name;               ///< "H100", "A100-80GB", ...
  double peak_bf16_tflops = 0;    ///< dense bf16 tensor-core peak (FP32 accumulation, no sparsity)
  double memory_gib = 0;          ///< device memory (GiB, 2^30 bytes) as CUDA reports it (totalGlobalMem)
  double achieved_fraction = 0;   ///< fraction of the peak the DiT forward reaches (uncalibrated guess)
  double interconnect_gbps = 0;   ///< all-to-all bandwidth per GPU within one host, GB/s (NVLink or PCIe)
  double usd_per_gpu_hour = 0;    ///< default price (PriceTable::defaults())
  double peak_fp8_tflops = 0;     ///< dense FP8 (e4m3) tensor peak, FP32 accumulation; 0: no FP8 tensor cores
  double memory_bandwidth_gbps = 0;  ///< device memory bandwidth, GB/s
  double host_link_gbps = 0;      ///< pinned host -> device copy rate, GB/s (what streamed blocks move at)
  std::string host_link;          ///< "PCIe 4.0 x16", ...
  int sm = 0;                     ///< compute capability x 10: 80 (A100), 86 (A10, RTX 30xx), 89 (Ada), 90 (Hopper)

  bool has_fp8() const { return peak_fp8_tflops > 0; }
};

/// A100-80GB, H100, H200, L40S, RTX 4090, RTX 3090, RTX 4080, RTX 4060 Ti 16GB, L4, A10.
TALKGEN_API const std::vector<GpuSpec>& known_gpu_types();
/// The built-in type a name means: "H100", "h100", "NVIDIA H100 80GB HBM3" -> H100. nullopt if none.
TALKGEN_API std::optional<GpuSpec> find_gpu_type(const std::string& name);

/// USD per GPU-hour by GPU type. Defaults (typical 2025 on-demand cloud / marketplace prices; override with
/// your own): A100-80GB 3.50, H100 4.50, H200 5.50, L40S 1.80, RTX 4090 0.70, RTX 3090 0.30, RTX 4080 0.40,
/// RTX 4060 Ti 16GB 0.20, L4 0.80, A10 0.75.
class TALKGEN_API PriceTable {
 public:
  static PriceTable defaults();
  /// Sets (or overrides) the price of a type; throws Error(invalid_argument) for a negative price.
  void set(const std::string& gpu_type, double usd_per_gpu_hour);
  /// The price for a type or device name (matched like find_gpu_type); nullopt when unknown.
  std::optional<double> find(const std::string& gpu_type) const;

 private:
  std::map<std::string, double> prices_;  // keyed by canonical type name (or the name as given if unknown)
};

// ---------------------------------------------------------------------------------------------------
// Devices

struct CudaDeviceInfo {
  int index = 0;
  std::string name;              ///< "NVIDIA H100 80GB HBM3"
  std::int64_t memory_bytes = 0;
  int multiprocessors = 0;
  int compute_major = 0, compute_minor = 0;
  std::vector<int> peers;        ///< device indices this one can access directly (P2P / NVLink)
};

struct CpuDeviceInfo {
  std::string name;              ///< /proc/cpuinfo "model name"
  int cores = 0;                 ///< logical cores
  std::int64_t memory_bytes = 0; ///< physical memory
};

struct DeviceInventory {
  std::vector<CudaDeviceInfo> cuda;
  std::optional<CpuDeviceInfo> cpu;  ///< only when asked for (InventoryOptions::include_cpu)
  std::string driver_version;        ///< NVIDIA driver, e.g. "570.86.15"; empty when none
  bool timed_out = false;            ///< the CUDA probe did not answer within the timeout
  std::string note;                  ///< why there are no CUDA devices ("this build has no CUDA", ...)
};

struct InventoryOptions {
  bool include_cpu = false;
  /// CUDA initialisation can hang on broken hosts: the probe runs on its own thread and is abandoned
  /// (left to finish in the background) after this long, with timed_out set.
  std::chrono::milliseconds timeout{15000};
};

/// The devices this process can use. Never throws for missing devices: `note` says why there are none.
TALKGEN_API DeviceInventory probe_devices(const InventoryOptions& options = {});

// ---------------------------------------------------------------------------------------------------
// Calibration (measured by `talkgen bench`)

/// Rates measured on one GPU type. Keyed by (gpu_name, driver_version, talkgen_version): a new driver or
/// talkgen release is a new measurement. 0 means "not measured" (the built-in figure is used for it).
struct Calibration {
  std::string gpu_name;            ///< device name as CUDA reports it
  std::string driver_version;
  std::string talkgen_version;     ///< empty: filled with version() when recorded
  std::string measured_at;         ///< ISO 8601 UTC; filled when recorded
  std::int64_t memory_bytes = 0;   ///< device memory (lets an unknown GPU type be planned)
  double dit_tflops = 0;           ///< DiT forward: analytic FLOPs / seconds (all terms together)
  double attention_tflops = 0;     ///< self-attention alone (optional; splits dit_tflops by term)
  std::int64_t measured_tokens = 0;///< video tokens of the measured forward (needed with attention_tflops)
  std::int64_t dit_peak_bytes = 0; ///< peak device memory of that forward (optional, with measured_tokens)
  double vae_decode_mpix_per_s = 0;///< megapixel-frames decoded per second
  double vae_encode_mpix_per_s = 0;
  double video_encode_mpix_per_s = 0;  ///< H.264 (libx264) megapixel-frames per second
  int gpus = 1;                    ///< GPUs of the communicator measurement
  /// All-to-all rate per GPU (GB/s) with gpus > 1: `talkgen bench dit --gpus` stores the effective one
  /// (effective_comm_gbps), which also carries the N-GPU forward's other losses.
  double comm_gbps = 0;
};

/// The all-to-all rate (GB/s per GPU) at which the Planner's forward on `gpus` GPUs takes `forward_s`, given
/// that the one-GPU forward of the same size (`tokens` per forward) took `one_gpu_forward_s`: all that the
/// N-GPU forward loses against an even split of the work (the all-to-alls themselves, smaller GEMMs and
/// attention calls) priced as communication, so a calibrated plan reproduces the measured forward. 0 when
/// the N-GPU forward lost nothing (or for gpus < 2 or non-positive input).
TALKGEN_API double effective_comm_gbps(std::int64_t tokens, int gpus, double one_gpu_forward_s, double forward_s);

class TALKGEN_API CalibrationStore {
 public:
  /// Files live in `directory` (created on the first save). Default: default_directory().
  CalibrationStore();
  explicit CalibrationStore(std::string directory);
  /// $XDG_CACHE_HOME/talkgen, else $HOME/.cache/talkgen. Throws Error(not_found) when neither is set.
  static std::string default_directory();

  const std::string& directory() const { return directory_; }
  /// Writes one JSON file per key, atomically (temp file + rename). Throws Error(io_error / invalid_argument).
  void save(const Calibration& calibration) const;
  /// The entry with exactly this key.
  std::optional<Calibration> find(const std::string& gpu_name, const std::string& driver_version,
                                  const std::string& talkgen_version) const;
  /// Every readable entry (unreadable files are skipped with a warning naming them).
  std::vector<Calibration> list() const;
  /// The file a key is stored in.
  std::string path_for(const std::string& gpu_name, const std::string& driver_version,
                       const std::string& talkgen_version) const;

 private:
  std::string directory_;
};

/// Stores what `talkgen bench` measured: checks the numbers (gpu_name set, dit_tflops > 0, nothing
/// negative; Error(invalid_argument) otherwise), fills talkgen_version and measured_at, saves, returns it.
TALKGEN_API Calibration record_calibration(Calibration measured, const CalibrationStore& store);

// ---------------------------------------------------------------------------------------------------
// Memory modes (issue 19): how one GPU holds a job

/// The DiT's weight format. fp8: e4m3 weights with per-output-channel scales and FP8 GEMMs (GPUs with FP8
/// tensor cores only: sm_89 / sm_90). int8: 8-bit weights dequantised to bf16 block by block, bf16 compute.
/// automatic: bf16 whenever a bf16 mode fits (quantising changes the output), else the fastest of fp8
/// (where the GPU has FP8 tensor cores) and int8.
enum class WeightDtype { automatic, bf16, fp8, int8 };
TALKGEN_API const char* to_string(WeightDtype dtype) noexcept;
/// "auto" / "automatic", "bf16", "fp8", "int8" (any case). Throws Error(invalid_argument) naming them.
TALKGEN_API WeightDtype parse_weight_dtype(const std::string& name);

/// How one GPU holds a job.
struct TALKGEN_API MemoryMode {
  WeightDtype dtype = WeightDtype::bf16;  ///< bf16, fp8 or int8 (never automatic in a plan)
  int blocks = 40;                        ///< the DiT's transformer blocks (N)
  /// K: blocks kept on the GPU. The other N - K stream from pinned host memory through 2 slots, block
  /// i+1 copying while block i computes (src/distributed/block_offload.hpp); K == N: nothing streams.
  int resident_blocks = 40;
  bool weight_sharded = false;            ///< DiT weights split over the GPUs, all-gathered block by block
  bool text_encoder_on_gpu = true;        ///< umT5 on the GPU (else on the CPU)
  /// CLIP, wav2vec2, the VAE (and umT5 when on the GPU) are on the GPU only while they run, and umT5 is
  /// freed once the prompts are encoded; false: all of them stay loaded next to the DiT.
  bool encoders_on_demand = false;
  bool vae_tiled_decode = false;          ///< VAE decode in spatial tiles (GenerateOptions::low_memory)

  bool offloaded() const { return resident_blocks < blocks; }
  int streamed_blocks() const { return blocks - resident_blocks; }
};
/// "bf16 resident", "fp8, 12 of 40 blocks resident (28 streamed), encoders on demand, umT5 on CPU, tiled
/// VAE decode".
TALKGEN_API std::string describe(const MemoryMode& mode);

// ---------------------------------------------------------------------------------------------------
// Plans

enum class TextEncoderPlacement { automatic, gpu, cpu };  ///< automatic: on the GPU when it fits

struct PlanRequest {
  double duration_seconds = 0;                ///< speech length; the video is as long (25 fps)
  Quality quality = Quality::balanced;
  Resolution resolution = Resolution::p480;   ///< 480p = 480x832, 720p = 720x1280 (the landscape buckets)
  /// The exact sampler settings (e.g. the pipeline's quality_settings()); default: `quality`'s profile.
  std::optional<QualitySettings> settings;
  /// The output frame size when it is known (the portrait's bucket: 640x640 for a square one at 480p,
  /// 960x960 at 720p); 0 x 0: the resolution's landscape bucket (480x832 / 720x1280).
  int frame_width = 0, frame_height = 0;
  std::string gpu_type;                       ///< required: "H100", ... or a calibrated device name
  int gpus_available = 1;
  std::optional<double> budget_usd;
  std::optional<double> deadline_seconds;
  TextEncoderPlacement text_encoder = TextEncoderPlacement::automatic;
  bool include_model_load = true;             ///< count reading the weights (false: a warm Client)
  bool weight_sharding = false;               ///< plan the weight-sharded mode for GPUs too small for 35 GB
  PriceTable prices = PriceTable::defaults();
  bool use_calibration = true;
  std::string calibration_directory;          ///< empty: CalibrationStore::default_directory()
  std::string driver_version;                 ///< empty: the newest calibration of any driver
  /// Most device memory the job may take per GPU, GiB: the caching allocator's peak (what
  /// PlanOption::peak_vram_gib reports; the CUDA context comes on top). Empty: the GPU's memory less
  /// its context. The planner picks the fastest mode under it; plan() refuses a cap no mode fits.
  std::optional<double> max_vram_gib;
  WeightDtype dtype = WeightDtype::automatic;  ///< fp8 on a GPU without FP8 tensor cores: Error(unsupported)
};

/// Seconds spent where, for one option.
struct PlanTimes {
  double sampling = 0;        ///< DiT forwards (compute on each GPU's share)
  double communication = 0;   ///< all-to-all (and weight all-gather when sharded)
  double vae = 0;             ///< condition encodes and chunk decodes (rank 0)
  double encoders = 0;        ///< umT5 + CLIP + wav2vec2, once per job
  double video_encode = 0;    ///< H.264 time not hidden behind sampling
  double model_load = 0;      ///< reading the weights (0 unless include_model_load)
  double total = 0;
};

struct PlanOption {
  int gpus = 1;
  bool weight_sharded = false;     ///< = mode.weight_sharded
  bool fits = false;               ///< peak_vram_gib within max_vram_gib and memory_gib_per_gpu within the GPU
  bool text_encoder_on_gpu = true; ///< = mode.text_encoder_on_gpu
  /// The fastest mode that fits (or, when none does, the one needing the least memory).
  MemoryMode mode;
  /// Caching-allocator peak on the busiest GPU (rank 0: it also holds the encoders and VAE), GiB: what
  /// PlanRequest::max_vram_gib caps.
  double peak_vram_gib = 0;
  double memory_gib_per_gpu = 0;   ///< peak_vram_gib + the CUDA context: what the GPU must have
  std::string peak_phase;          ///< when the peak happens: "DiT sampling", "VAE decode", "umT5", ...
  double host_pinned_gib = 0;      ///< pinned host memory the streamed blocks live in (0 unless offloaded)
  double streamed_gib_per_forward = 0;  ///< host -> device bytes per DiT forward (streamed blocks)
  double seconds_per_forward = 0;  ///< one DiT forward with this mode (compute, streaming, all-to-all)
  double seconds = 0;              ///< wall time, = times.total
  double cost_usd = 0;             ///< seconds x gpus x price
  PlanTimes times;
  bool within_budget = true, within_deadline = true;
  std::string why_not;             ///< empty when the option fits and meets the limits
};

/// The work of a job, whatever the hardware.
struct PlanWorkload {
  int width = 0, height = 0;
  std::int64_t frames = 0;          ///< video frames (25 fps)
  int chunks = 0;                   ///< 81-frame chunks, 9 motion frames overlapping
  std::int64_t tokens = 0;          ///< DiT tokens per forward: (1 + 80/4) x H/16 x W/16
  int steps = 0, forwards_per_step = 0;
  std::int64_t forwards = 0;        ///< chunks x steps x forwards_per_step
  double tflop_per_forward = 0;
  double dit_params_billion = 0;
};

struct Plan {
  std::string gpu_type;             ///< canonical type (or the calibrated device name)
  double gpu_memory_gib = 0;        ///< memory of one GPU of that type
  double usd_per_gpu_hour = 0;
  PlanWorkload workload;
  std::vector<PlanOption> options;  ///< one per GPU count 1..gpus_available
  std::optional<int> recommended_gpus;
  std::string recommendation;       ///< why that count (or why none)
  bool calibrated = false;
  std::string calibration_note;     ///< where the rates came from
};

/// Every option and the recommendation; never throws for unmet limits (recommended_gpus is empty and
/// `recommendation` says why; an option that fits no mode has fits = false and the mode needing the least
/// memory). Throws Error(invalid_argument) for a bad request (max_vram_gib <= 0 included), Error(unsupported)
/// for a GPU type with neither built-in figures nor a calibration, or for dtype fp8 on a GPU without FP8
/// tensor cores (the message names int8 and bf16).
TALKGEN_API Plan evaluate_plan(const PlanRequest& request);

/// evaluate_plan(), then Error(out_of_memory) when no option fits in memory (naming the least memory per
/// GPU any mode needs, the smallest max_vram_gib that would work, the GPU types that have it, and the GPU
/// count, replicated or weight-sharded, at which this type would fit), Error(invalid_argument) when none
/// meets the budget / deadline (naming the fastest time and the lowest cost on offer). Both before any
/// weight loads: a caller plans first.
TALKGEN_API Plan plan(const PlanRequest& request);

/// The one-GPU mode the planner picks for a job on one GPU type.
struct GpuTypeMode {
  std::string gpu_type;
  double gpu_memory_gib = 0;
  bool fits = false;               ///< some mode fits (the cap and the GPU)
  MemoryMode mode;                 ///< the fastest that fits (or the smallest when none does)
  double peak_vram_gib = 0;
  double memory_gib = 0;           ///< + the CUDA context
  std::string peak_phase;
  double seconds = 0;              ///< the whole job on one GPU
  double seconds_per_forward = 0;
  double streamed_gib_per_forward = 0;
  double cost_usd = 0;
  std::string why_not;             ///< empty when it fits: "needs 13.1 GiB, the cap is 12.0 GiB", "no FP8 ..."
};
/// The request on one GPU of every built-in type (known_gpu_types(); request.gpu_type and gpus_available
/// are ignored, budget and deadline too): what `talkgen plan` lists per GPU type. Built-in figures only
/// (no calibration), so the types compare like for like. Never throws for a type that cannot run it
/// (why_not says why); throws Error(invalid_argument) for a bad request.
TALKGEN_API std::vector<GpuTypeMode> plan_each_gpu_type(const PlanRequest& request);

struct PlanLimits {
  std::optional<double> budget_usd;
  std::optional<double> deadline_seconds;
};
/// plan() for `duration_seconds` at `quality` within `limits`, on `hardware`'s GPU type and count.
TALKGEN_API int recommend_gpu_count(double duration_seconds, Quality quality, const PlanLimits& limits,
                        const PlanRequest& hardware);
/// Wall seconds on exactly `gpus` GPUs; Error(out_of_memory) when no mode fits in memory.
TALKGEN_API double estimate_time(double duration_seconds, int gpus, Resolution resolution, Quality quality,
                     const PlanRequest& hardware);
/// USD on exactly `gpus` GPUs (time x gpus x price); Error(out_of_memory) when no mode fits.
TALKGEN_API double estimate_cost(double duration_seconds, int gpus, Resolution resolution, Quality quality,
                     const PlanRequest& hardware);

TALKGEN_API const char* to_string(TextEncoderPlacement placement) noexcept;

}  // namespace talkgen
