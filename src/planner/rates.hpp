// How fast one GPU type does each kind of work: measured (a Calibration) or built-in (a GpuSpec).
#pragma once

#include <optional>
#include <string>

#include "planner/work_model.hpp"
#include "talkgen/planner.hpp"

namespace talkgen::planner {

struct Rates {
  double memory_gib = 0;            ///< device memory
  double matmul_tflops = 0;         ///< linears and cross-attention of the DiT (and the encoders on GPU)
  double attention_tflops = 0;      ///< DiT self-attention
  double vae_decode_mpix_per_s = 0;
  double vae_encode_mpix_per_s = 0;
  double video_encode_mpix_per_s = 0;  ///< libx264 on the host's CPU
  double comm_gbps = 0;             ///< all-to-all / all-gather bandwidth per GPU
  double comm_latency_s = 30e-6;    ///< per collective
  double cpu_tflops = 0.5;          ///< host CPU, for a text encoder placed there
  double load_gbps = 2.0;           ///< reading checkpoints from disk
  /// DiT peak activations per token on one GPU: 93 KiB, the slope of the measured 480p / 720p forward peaks
  /// (memory_model.cpp); a calibration's measured peak replaces it.
  double activation_bytes_per_token = 93.0 * 1024;
  /// FP8 GEMMs' speed-up over bf16 ones on this GPU; 0: no FP8 tensor cores (or not known to have them).
  double fp8_matmul_speedup = 0;
  double host_link_gbps = 25.0;         ///< pinned host -> device copies (streamed blocks, encoders on demand)
  double memory_bandwidth_gbps = 1000;  ///< device memory (int8 dequantisation)
  int sm = 0;                           ///< compute capability x 10; 0: unknown
  std::string gpu_name;                 ///< the type's name, for messages
  bool calibrated = false;
  std::string note;                 ///< where these came from, for the user
};

/// Built-in figures for `spec`, replaced term by term by `calibration`'s measured ones (0 = not measured).
/// `spec` may be absent for a GPU known only by its calibration. Throws Error(unsupported) when both are.
Rates make_rates(const std::optional<GpuSpec>& spec, const std::optional<Calibration>& calibration,
                 const std::string& gpu_type, const ModelDims& m = {});

/// The newest calibration in `store` for this GPU type (matched by name or by built-in type), this
/// talkgen version, and `driver_version` unless empty.
std::optional<Calibration> find_calibration(const CalibrationStore& store, const std::string& gpu_type,
                                            const std::string& driver_version);

}  // namespace talkgen::planner
