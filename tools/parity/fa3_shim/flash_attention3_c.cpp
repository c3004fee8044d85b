// A C entry point to talkgen's FlashAttention-3 build (src/model/layers/flash_attention3/), so that the
// reference can be timed with FA3 as its own attention (tools/parity/fa3_shim/flash_attn_interface.py
// loads this through ctypes). Built as libtalkgen_fa3_c.so by cmake/TalkgenFlashAttention3.cmake.
#include <cstdint>

#include "model/layers/flash_attention3/flash_attention3_launch.hpp"

extern "C" {

/// Non-causal bf16 attention, head dim 128; q/k/v/out are [batch, tokens, heads, 128] with the given
/// strides (elements). lse: float32 [batch, heads, seqlen_q]. Returns a cudaError_t (0 = queued).
int talkgen_fa3_forward(const void* q, const void* k, const void* v, void* out, float* lse, int batch,
                        int seqlen_q, int seqlen_k, int heads, const int64_t* q_strides,
                        const int64_t* k_strides, const int64_t* v_strides, const int64_t* out_strides,
                        float scale, void* stream) {
  talkgen::model::layers::cuda::FlashAttention3Args a;
  a.q = q, a.k = k, a.v = v, a.out = out, a.lse = lse;
  a.batch = batch, a.seqlen_q = seqlen_q, a.seqlen_k = seqlen_k, a.heads = heads;
  a.q_batch = q_strides[0], a.q_row = q_strides[1], a.q_head = q_strides[2];
  a.k_batch = k_strides[0], a.k_row = k_strides[1], a.k_head = k_strides[2];
  a.v_batch = v_strides[0], a.v_row = v_strides[1], a.v_head = v_strides[2];
  a.out_batch = out_strides[0], a.out_row = out_strides[1], a.out_head = out_strides[2];
  a.scale = scale;
  return static_cast<int>(
      talkgen::model::layers::cuda::launch_flash_attention3(a, static_cast<cudaStream_t>(stream)));
}
}
