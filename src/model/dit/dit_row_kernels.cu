// Row kernels for the DiT's elementwise work: one thread block per token row, the whole row in registers,
// so each kernel reads its inputs once and writes its outputs once. At 480p a row is 5,120 bf16 values
// and there are 32,760 rows; libtorch needs three to six full passes for what each kernel here does in
// one (RMS-norm statistics, normalise, weight, RoPE; residual add, LayerNorm statistics, normalise,
// modulate). The rounding points are the reference's (see dit_fused.hpp): bf16 after the normalisation,
// after the weight product, after the residual add and after the modulation; statistics in float32.
#include "model/dit/dit_row_kernels_launch.hpp"

#include <cuda_bf16.h>

namespace talkgen::model::dit::cuda {
namespace {

constexpr int kThreads = static_cast<int>(kThreadsPerRow);
constexpr int kVec = static_cast<int>(kValuesPerChunk);
constexpr int kChunks = static_cast<int>(kMaxChunksPerThread);

__device__ __forceinline__ float round_bf16(float v) { return __bfloat162float(__float2bfloat16_rn(v)); }

// 8 bf16 values <-> one 16-byte access.
__device__ __forceinline__ void load8(const __nv_bfloat16* p, float (&v)[kVec]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  const auto* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < kVec / 2; ++i) {
    const float2 f = __bfloat1622float2(h[i]);
    v[2 * i] = f.x;
    v[2 * i + 1] = f.y;
  }
}

__device__ __forceinline__ void store8(__nv_bfloat16* p, const float (&v)[kVec]) {
  uint4 raw;
  auto* h = reinterpret_cast<__nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < kVec / 2; ++i) h[i] = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
  *reinterpret_cast<uint4*>(p) = raw;
}

__device__ __forceinline__ void load8(const float* p, float (&v)[kVec]) {
  const float4 a = *reinterpret_cast<const float4*>(p), b = *reinterpret_cast<const float4*>(p + 4);
  v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}

// Sum over the block's threads; every thread gets the total. `scratch` holds one float per warp.
__device__ float block_sum(float v, float* scratch) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = 0;
#pragma unroll
  for (int w = 0; w < kThreads / 32; ++w) total += scratch[w];
  return total;
}

// The chunk a thread owns at step i, or -1 past the row's end.
__device__ __forceinline__ int chunk_col(int i, int64_t cols) {
  const int col = (threadIdx.x + i * kThreads) * kVec;
  return col < cols ? col : -1;
}

__global__ void __launch_bounds__(kThreads) rms_norm_rope_kernel(RmsNormRopeArgs a) {
  __shared__ float scratch[kThreads / 32];
  const int64_t row = blockIdx.x;
  const auto* x = static_cast<const __nv_bfloat16*>(a.x) + row * a.cols;
  auto* out = static_cast<__nv_bfloat16*>(a.out) + row * a.cols;
  const auto* weight = static_cast<const __nv_bfloat16*>(a.weight);

  float v[kChunks][kVec];
  float squares = 0;
#pragma unroll
  for (int i = 0; i < kChunks; ++i) {
    const int col = chunk_col(i, a.cols);
    if (col < 0) continue;
    load8(x + col, v[i]);
#pragma unroll
    for (int j = 0; j < kVec; ++j) squares += v[i][j] * v[i][j];
  }
  const float rstd = rsqrtf(block_sum(squares, scratch) / static_cast<float>(a.cols) + a.eps);

  const int64_t token = row % a.rows_per_batch;
  const int64_t half = a.head_dim / 2;
#pragma unroll
  for (int i = 0; i < kChunks; ++i) {
    const int col = chunk_col(i, a.cols);
    if (col < 0) continue;
    float w[kVec];
    load8(weight + col, w);
    float n[kVec];
#pragma unroll
    for (int j = 0; j < kVec; ++j) n[j] = round_bf16(round_bf16(v[i][j] * rstd) * w[j]);
    if (a.cos) {
      // 4 consecutive channel pairs of one head (head_dim % 8 == 0): one float4 of cos and of sin.
      const int64_t pair = (col % a.head_dim) / 2;
      const float4 c = *reinterpret_cast<const float4*>(a.cos + token * half + pair);
      const float4 s = *reinterpret_cast<const float4*>(a.sin + token * half + pair);
      const float cs[4] = {c.x, c.y, c.z, c.w}, sn[4] = {s.x, s.y, s.z, s.w};
#pragma unroll
      for (int p = 0; p < 4; ++p) {
        const float re = n[2 * p], im = n[2 * p + 1];
        n[2 * p] = re * cs[p] - im * sn[p];
        n[2 * p + 1] = re * sn[p] + im * cs[p];
      }
    }
    store8(out + col, n);
  }
}

template <bool kResidual, bool kGate, NormKind kNorm>
__global__ void __launch_bounds__(kThreads) residual_norm_kernel(ResidualNormArgs a) {
  __shared__ float scratch[kThreads / 32];
  const int64_t row = blockIdx.x;
  const int64_t batch_offset = (row / a.rows_per_batch) * a.cols;  // into gate / scale1p / shift
  auto* x = static_cast<__nv_bfloat16*>(a.x) + row * a.cols;

  float v[kChunks][kVec];
  float sum = 0;
#pragma unroll
  for (int i = 0; i < kChunks; ++i) {
    const int col = chunk_col(i, a.cols);
    if (col < 0) continue;
    load8(x + col, v[i]);
    if constexpr (kResidual) {
      float y[kVec];
      load8(static_cast<const __nv_bfloat16*>(a.y) + row * a.cols + col, y);
      float g[kVec];
      if constexpr (kGate) load8(a.gate + batch_offset + col, g);
#pragma unroll
      for (int j = 0; j < kVec; ++j) v[i][j] = round_bf16(kGate ? v[i][j] + y[j] * g[j] : v[i][j] + y[j]);
      store8(x + col, v[i]);
    }
#pragma unroll
    for (int j = 0; j < kVec; ++j) sum += v[i][j];
  }
  if constexpr (kNorm == NormKind::none) return;

  // Mean, then the variance around it from the registers (two passes, no Welford needed).
  const float mean = block_sum(sum, scratch) / static_cast<float>(a.cols);
  float squares = 0;
#pragma unroll
  for (int i = 0; i < kChunks; ++i) {
    if (chunk_col(i, a.cols) < 0) continue;
#pragma unroll
    for (int j = 0; j < kVec; ++j) {
      const float d = v[i][j] - mean;
      squares += d * d;
    }
  }
  const float rstd = rsqrtf(block_sum(squares, scratch) / static_cast<float>(a.cols) + a.eps);

  auto* out = static_cast<__nv_bfloat16*>(a.out) + row * a.cols;
#pragma unroll
  for (int i = 0; i < kChunks; ++i) {
    const int col = chunk_col(i, a.cols);
    if (col < 0) continue;
    float n[kVec];
    if constexpr (kNorm == NormKind::affine) {
      float w[kVec], b[kVec];
      load8(static_cast<const __nv_bfloat16*>(a.weight) + col, w);
      load8(static_cast<const __nv_bfloat16*>(a.bias) + col, b);
#pragma unroll
      for (int j = 0; j < kVec; ++j) n[j] = (v[i][j] - mean) * rstd * w[j] + b[j];
    } else {
      float s[kVec], t[kVec];
      load8(a.scale1p + batch_offset + col, s);
      load8(a.shift + batch_offset + col, t);
#pragma unroll
      for (int j = 0; j < kVec; ++j) n[j] = round_bf16((v[i][j] - mean) * rstd) * s[j] + t[j];
    }
    store8(out + col, n);
  }
}

template <bool kResidual, bool kGate>
cudaError_t launch_residual_norm_for(const ResidualNormArgs& a, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(a.rows)), block(kThreads);
  switch (a.norm) {
    case NormKind::none:
      residual_norm_kernel<kResidual, kGate, NormKind::none><<<grid, block, 0, stream>>>(a);
      break;
    case NormKind::affine:
      residual_norm_kernel<kResidual, kGate, NormKind::affine><<<grid, block, 0, stream>>>(a);
      break;
    case NormKind::modulate:
      residual_norm_kernel<kResidual, kGate, NormKind::modulate><<<grid, block, 0, stream>>>(a);
      break;
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_rms_norm_rope(const RmsNormRopeArgs& args, cudaStream_t stream) {
  if (args.rows == 0) return cudaSuccess;
  rms_norm_rope_kernel<<<static_cast<unsigned>(args.rows), kThreads, 0, stream>>>(args);
  return cudaGetLastError();
}

cudaError_t launch_residual_norm(const ResidualNormArgs& args, cudaStream_t stream) {
  if (args.rows == 0) return cudaSuccess;
  if (!args.y) return launch_residual_norm_for<false, false>(args, stream);
  if (!args.gate) return launch_residual_norm_for<true, false>(args, stream);
  return launch_residual_norm_for<true, true>(args, stream);
}

}  // namespace talkgen::model::dit::cuda
