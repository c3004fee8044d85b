// The launch interface of the DiT's hand-written CUDA kernels (dit_row_kernels.cu), in plain types so
// that nvcc never parses ATen and the C++ side never parses CUDA's bf16 headers. Every tensor is a
// row-major [rows, cols] bf16 matrix (rows = batch x tokens) given as a device pointer; per-batch vectors
// (gates, modulation) are float32 [batches, cols] with batch = row / rows_per_batch. Only
// dit_row_kernels.cpp calls these: it checks shapes, dtypes and devices first.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace talkgen::model::dit::cuda {

/// The kernels keep a row in registers: 128 threads x kMaxChunksPerThread chunks of 8 values.
inline constexpr int64_t kThreadsPerRow = 128;
inline constexpr int64_t kValuesPerChunk = 8;
inline constexpr int64_t kMaxChunksPerThread = 8;
inline constexpr int64_t kMaxCols = kThreadsPerRow * kValuesPerChunk * kMaxChunksPerThread;  // 8192

/// out = RoPE(bf16(bf16(x * rsqrt(mean(x^2) + eps)) * weight)), RoPE in float32 rounded once to bf16;
/// without cos/sin just the WanRMSNorm. cos/sin: float32 [rows_per_batch, head_dim / 2], one row per
/// token of a batch entry.
struct RmsNormRopeArgs {
  const void* x = nullptr;
  void* out = nullptr;
  const void* weight = nullptr;
  const float* cos = nullptr;
  const float* sin = nullptr;
  int64_t rows = 0, cols = 0, rows_per_batch = 0, head_dim = 0;
  float eps = 0;
};
cudaError_t launch_rms_norm_rope(const RmsNormRopeArgs& args, cudaStream_t stream);

/// What residual_norm computes after the residual update.
enum class NormKind {
  none,      ///< only the residual update
  affine,    ///< out = LayerNorm(x) * weight + bias, rounded once to bf16 (WanLayerNorm with affine)
  modulate,  ///< out = bf16(float(bf16(LayerNorm(x))) * scale1p + shift) (norm1/norm2 + modulation)
};

/// x = bf16(x + y [* gate]) in place when y is given, then out = the norm of the updated (rounded) x.
struct ResidualNormArgs {
  void* x = nullptr;
  const void* y = nullptr;       ///< optional residual branch
  const float* gate = nullptr;   ///< optional, float32 [batches, cols]
  void* out = nullptr;           ///< required unless norm == none
  NormKind norm = NormKind::none;
  const void* weight = nullptr;  ///< bf16 [cols] (affine)
  const void* bias = nullptr;    ///< bf16 [cols] (affine)
  const float* scale1p = nullptr, *shift = nullptr;  ///< float32 [batches, cols] (modulate)
  int64_t rows = 0, cols = 0, rows_per_batch = 0;
  float eps = 0;
};
cudaError_t launch_residual_norm(const ResidualNormArgs& args, cudaStream_t stream);

}  // namespace talkgen::model::dit::cuda
