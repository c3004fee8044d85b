#include "model/layers/attention_fa3.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <set>

#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

#if TALKGEN_WITH_FLASH_ATTENTION3
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "model/layers/flash_attention3/flash_attention3_launch.hpp"
#endif

namespace talkgen::model::layers {

#if TALKGEN_WITH_FLASH_ATTENTION3
namespace {

constexpr int64_t kAlignElements = 8;  // 16 bytes of bf16: what the copy engine (TMA) needs

bool aligned(const at::Tensor& t) {
  return reinterpret_cast<std::uintptr_t>(t.data_ptr()) % 16 == 0 && t.stride(3) == 1 &&
         t.stride(0) % kAlignElements == 0 && t.stride(1) % kAlignElements == 0 &&
         t.stride(2) % kAlignElements == 0;
}

bool fits_int(int64_t n) { return n > 0 && n <= std::numeric_limits<int>::max(); }

// Strides of [B, H, L, D] for FA3, which indexes [B, L, H, D]. A dimension of size 1 is never stepped
// over, but PyTorch may give it any stride; the copy engine's descriptor still wants a valid one.
struct Strides {
  int64_t batch, row, head;
};
Strides strides_of(const at::Tensor& t) {
  const int64_t row = t.size(2) == 1 ? t.size(1) * t.size(3) : t.stride(2);
  const int64_t head = t.size(1) == 1 ? t.size(3) : t.stride(1);
  const int64_t batch = t.size(0) == 1 ? row * t.size(2) : t.stride(0);
  return {batch, row, head};
}

// FA3's kernels are built for sm_90a only; elsewhere the attention keeps cuDNN's rules. Said once per GPU.
bool runs_on(const at::Device& device) {
  const bool ok = cuda::flash_attention3_runs_on(device.index());
  if (!ok) {
    static std::mutex mutex;
    static std::set<int> told;
    std::lock_guard<std::mutex> lock(mutex);
    if (told.insert(device.index()).second)
      log_info("attention: FlashAttention-3 is built for Hopper (sm 9.0) only; {} uses cuDNN", device.str());
  }
  return ok;
}

}  // namespace

bool flash_attention3_built() noexcept { return true; }

bool flash_attention3_fits(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4) return false;
  for (const auto* t : {&q, &k, &v}) {
    if (!t->is_cuda() || t->scalar_type() != at::kBFloat16 || t->device() != q.device()) return false;
    if (t->size(3) != cuda::kFlashAttention3HeadDim || !aligned(*t)) return false;
  }
  if (k.size(0) != q.size(0) || v.size(0) != q.size(0) || k.size(1) != q.size(1) || v.size(1) != q.size(1) ||
      v.size(2) != k.size(2))
    return false;
  if (!fits_int(q.size(0)) || !fits_int(q.size(1)) || !fits_int(q.size(2)) || !fits_int(k.size(2))) return false;
  return runs_on(q.device());
}

at::Tensor flash_attention3(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            std::optional<double> scale) {
  const c10::cuda::CUDAGuard guard(q.device());
  const int64_t batch = q.size(0), heads = q.size(1), lq = q.size(2);
  auto out = at::empty({batch, lq, heads, q.size(3)}, q.options());
  auto lse = at::empty({batch, heads, lq}, q.options().dtype(at::kFloat));
  const auto sq = strides_of(q), sk = strides_of(k), sv = strides_of(v);
  cuda::FlashAttention3Args a;
  a.q = q.data_ptr(), a.k = k.data_ptr(), a.v = v.data_ptr(), a.out = out.data_ptr();
  a.lse = lse.data_ptr<float>();
  a.batch = static_cast<int>(batch), a.heads = static_cast<int>(heads);
  a.seqlen_q = static_cast<int>(lq), a.seqlen_k = static_cast<int>(k.size(2));
  a.q_batch = sq.batch, a.q_row = sq.row, a.q_head = sq.head;
  a.k_batch = sk.batch, a.k_row = sk.row, a.k_head = sk.head;
  a.v_batch = sv.batch, a.v_row = sv.row, a.v_head = sv.head;
  a.out_batch = out.stride(0), a.out_row = out.stride(1), a.out_head = out.stride(2);
  a.scale = static_cast<float>(scale ? *scale : 1.0 / std::sqrt(static_cast<double>(q.size(3))));
  const cudaError_t e = cuda::launch_flash_attention3(a, c10::cuda::getCurrentCUDAStream(q.device().index()));
  if (e != cudaSuccess) {
    fail(ErrorCode::internal, "FlashAttention-3 launch failed on {} ({} q {} k): {}", q.device().str(),
         fmt::join(q.sizes(), "x"), fmt::join(k.sizes(), "x"), cudaGetErrorString(e));
  }
  return out.transpose(1, 2);
}

#else  // built without FlashAttention-3

bool flash_attention3_built() noexcept { return false; }

bool flash_attention3_fits(const at::Tensor&, const at::Tensor&, const at::Tensor&) { return false; }

at::Tensor flash_attention3(const at::Tensor&, const at::Tensor&, const at::Tensor&, std::optional<double>) {
  fail(ErrorCode::unsupported, "this talkgen was built without FlashAttention-3: configure a CUDA build with "
                               "-DTALKGEN_FLASH_ATTENTION3_DIR=<flash-attention checkout>");
}

#endif

}  // namespace talkgen::model::layers
