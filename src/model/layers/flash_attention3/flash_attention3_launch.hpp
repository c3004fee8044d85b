// The launch interface of FlashAttention-3 (github:Dao-AILab/flash-attention, hopper/), built into CUDA
// builds that are configured with -DTALKGEN_FLASH_ATTENTION3_DIR (cmake/TalkgenFlashAttention3.cmake).
// Plain types only, so that nvcc never parses ATen and the C++ side never parses CUTLASS: only
// model/layers/attention_fa3.cpp calls this, after checking dtypes, shapes, strides and alignment.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace talkgen::model::layers::cuda {

/// The one problem this build instantiates: non-causal attention without dropout, bf16 q/k/v/out, head
/// dim 128, as many key/value heads as query heads. Tensors are [batch, tokens, heads, 128] with the last
/// dimension contiguous; strides are in elements and must be multiples of 8 (16 bytes, for the copy
/// engine), pointers 16-byte aligned.
inline constexpr int64_t kFlashAttention3HeadDim = 128;

struct FlashAttention3Args {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  float* lse = nullptr;  ///< float32 [batch, heads, seqlen_q]: the kernel always writes the log-sum-exp
  int batch = 0, seqlen_q = 0, seqlen_k = 0, heads = 0;
  int64_t q_batch = 0, q_row = 0, q_head = 0;
  int64_t k_batch = 0, k_row = 0, k_head = 0;
  int64_t v_batch = 0, v_row = 0, v_head = 0;
  int64_t out_batch = 0, out_row = 0, out_head = 0;
  float scale = 0;  ///< applied to q.k before the softmax
};

/// Whether `device` can run the kernels (they are built for sm_90a: Hopper only).
bool flash_attention3_runs_on(int device);

/// Launches on `stream`; the error of the launch (cudaSuccess when it was queued).
cudaError_t launch_flash_attention3(const FlashAttention3Args& args, cudaStream_t stream);

}  // namespace talkgen::model::layers::cuda
