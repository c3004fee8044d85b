// FlashAttention-3's forward kernel (warp-specialised TMA + wgmma, Hopper only) for the one problem the
// DiT's self-attention needs (see flash_attention3_launch.hpp). On an H100 at 480p (32,760 tokens,
// 40 heads of 128) it runs at ~717 TFLOP/s against cuDNN's ~555-575 (tools/parity/probe_attention_layout.py).
//
// We instantiate FA3's kernel template directly with every feature off (no causal/local mask, varlen,
// paged KV, split KV, softcap, GQA packing, fp8), so one translation unit holds just two kernels: with
// and without a 2-CTA cluster, which FA3 uses when the query tiles pair up.
#include "model/layers/flash_attention3/flash_attention3_launch.hpp"

#include <mutex>
#include <vector>

// FA3's launch code reports a failed CUDA or CUTLASS call by printing and calling exit(1); a library must
// not end its host's process, so the two macros throw instead and launch_flash_attention3 turns that into
// its return value.
#include "cuda_check.h"
#undef CHECK_CUDA
#undef CHECK_CUTLASS
namespace talkgen::model::layers::cuda {
struct LaunchFailed {
  cudaError_t error;
};
}  // namespace talkgen::model::layers::cuda
#define CHECK_CUDA(call)                                                                    \
  do {                                                                                      \
    const cudaError_t status_ = (call);                                                     \
    if (status_ != cudaSuccess) throw talkgen::model::layers::cuda::LaunchFailed{status_};  \
  } while (0)
#define CHECK_CUTLASS(call)                                                                                  \
  do {                                                                                                       \
    if ((call) != cutlass::Status::kSuccess) throw talkgen::model::layers::cuda::LaunchFailed{cudaErrorLaunchFailure}; \
  } while (0)

#include "flash_fwd_launch_template.h"

namespace talkgen::model::layers::cuda {
namespace {

template <int ClusterM>
void run(Flash_fwd_params& params, cudaStream_t stream) {
  using bf16 = cutlass::bfloat16_t;
  // Arch, head dims, cluster, in/out types, then Is_causal, Is_local, Has_softcap, Varlen, PagedKVNonTMA,
  // AppendKV, HasQv, PackGQA, Split, V_colmajor: all off.
  run_flash_fwd<90, 128, 128, ClusterM, bf16, bf16, false, false, false, false, false, false, false, false, false,
                false>(params, stream);
}

struct DeviceInfo {
  bool hopper = false;
  int multiprocessors = 0;
};

DeviceInfo device_info(int device) {
  static std::mutex mutex;
  static std::vector<DeviceInfo> cache;
  std::lock_guard<std::mutex> lock(mutex);
  if (device >= static_cast<int>(cache.size())) cache.resize(device + 1);
  auto& info = cache[device];
  if (info.multiprocessors == 0) {
    int major = 0, minor = 0, sms = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess ||
        cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) {
      cudaGetLastError();  // leave no sticky error behind for the caller
      return {};
    }
    info = {major == 9 && minor == 0, sms};
  }
  return info;
}

}  // namespace

bool flash_attention3_runs_on(int device) { return device_info(device).hopper; }

cudaError_t launch_flash_attention3(const FlashAttention3Args& a, cudaStream_t stream) {
  int device = 0;
  if (cudaError_t e = cudaGetDevice(&device); e != cudaSuccess) return e;
  const DeviceInfo info = device_info(device);
  if (!info.hopper) return cudaErrorNoKernelImageForDevice;

  // The fields FA3's own flash_api.cpp sets for this case (set_params_fprop + mha_fwd).
  Flash_fwd_params p{};
  p.is_bf16 = true;
  p.q_ptr = const_cast<void*>(a.q);
  p.k_ptr = const_cast<void*>(a.k);
  p.v_ptr = const_cast<void*>(a.v);
  p.o_ptr = a.out;
  p.q_batch_stride = a.q_batch, p.q_row_stride = a.q_row, p.q_head_stride = a.q_head;
  p.k_batch_stride = a.k_batch, p.k_row_stride = a.k_row, p.k_head_stride = a.k_head;
  p.v_batch_stride = a.v_batch, p.v_row_stride = a.v_row, p.v_head_stride = a.v_head, p.v_dim_stride = 1;
  p.o_batch_stride = a.out_batch, p.o_row_stride = a.out_row, p.o_head_stride = a.out_head;
  p.softmax_lse_ptr = a.lse;
  p.b = p.b_k = a.batch;
  p.h = p.h_k = a.heads;
  p.seqlen_q = a.seqlen_q;
  p.seqlen_k = a.seqlen_k;
  p.seqlen_q_rounded = (a.seqlen_q + 127) / 128 * 128;
  p.seqlen_k_rounded = (a.seqlen_k + 127) / 128 * 128;
  p.d = p.d_rounded = p.dv = p.dv_rounded = static_cast<int>(kFlashAttention3HeadDim);
  p.scale_softmax = a.scale;
  p.p_dropout = 1.f;  // probability of keeping
  p.rp_dropout = 1.f;
  p.window_size_left = a.seqlen_k - 1;  // no window: what mha_fwd sets for non-causal attention
  p.window_size_right = a.seqlen_q - 1;
  p.arch = 90;
  p.num_sm = info.multiprocessors;
  p.num_splits = 1;

  cudaGetLastError();  // report this launch's error only
  try {
    // FA3 pairs query tiles (of 128 rows) into 2-CTA clusters when their count is even (run_mha_fwd_).
    if (((a.seqlen_q + 127) / 128) % 2 == 0) {
      run<2>(p, stream);
    } else {
      run<1>(p, stream);
    }
  } catch (const LaunchFailed& failed) {
    return failed.error;
  }
  return cudaGetLastError();
}

}  // namespace talkgen::model::layers::cuda
