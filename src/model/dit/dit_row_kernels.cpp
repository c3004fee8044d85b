#include "model/dit/dit_row_kernels.hpp"

#include <cstdint>

#include "talkgen/error.hpp"

#if TALKGEN_WITH_CUDA
#include <c10/cuda/CUDAStream.h>

#include "model/dit/dit_row_kernels_launch.hpp"
#endif

namespace talkgen::model::dit {

#if TALKGEN_WITH_CUDA
namespace {

constexpr int64_t kChunk = cuda::kValuesPerChunk;

bool aligned16(const at::Tensor& t) { return reinterpret_cast<std::uintptr_t>(t.data_ptr()) % 16 == 0; }

// A small per-row or per-batch operand as the kernels read it: contiguous, 16-byte aligned, `dtype`.
at::Tensor operand(const at::Tensor& t, at::ScalarType dtype, int64_t numel, const char* what) {
  if (!t.defined() || t.numel() != numel)
    fail(ErrorCode::internal, "DiT row kernel: {} has {} values, expected {}", what, t.defined() ? t.numel() : 0,
         numel);
  auto c = t.to(dtype).contiguous();
  return aligned16(c) ? c : c.clone();
}

void check_launch(cudaError_t rc, const char* kernel) {
  if (rc != cudaSuccess) fail(ErrorCode::internal, "DiT row kernel {} failed to launch: {}", kernel, cudaGetErrorString(rc));
}

cudaStream_t stream_of(const at::Tensor& t) { return c10::cuda::getCurrentCUDAStream(t.device().index()).stream(); }

}  // namespace

bool row_kernels_take(const at::Tensor& x) {
  if (!x.defined() || !x.is_cuda() || x.scalar_type() != at::kBFloat16 || !x.is_contiguous() || x.dim() < 2)
    return false;
  const int64_t cols = x.size(-1);
  return cols % kChunk == 0 && cols <= cuda::kMaxCols && aligned16(x);
}

at::Tensor rms_norm_rope_rows(const at::Tensor& x, const at::Tensor& weight, double eps, const RopeGrid* rope,
                              int64_t head_dim) {
  if (!row_kernels_take(x) || x.dim() != 3) fail(ErrorCode::internal, "rms_norm_rope_rows: input not taken");
  const int64_t cols = x.size(2), tokens = x.size(1);
  const auto w = operand(weight, at::kBFloat16, cols, "RMS-norm weight");
  auto out = at::empty_like(x);
  cuda::RmsNormRopeArgs a;
  a.x = x.data_ptr();
  a.out = out.data_ptr();
  a.weight = w.data_ptr();
  a.rows = x.size(0) * tokens;
  a.cols = cols;
  a.rows_per_batch = tokens;
  a.head_dim = head_dim;
  a.eps = static_cast<float>(eps);
  at::Tensor cos, sin;
  if (rope) {
    if (head_dim % kChunk != 0 || cols % head_dim != 0)
      fail(ErrorCode::internal, "rms_norm_rope_rows: head dim {} does not suit the kernel", head_dim);
    cos = operand(rope->cos, at::kFloat, tokens * head_dim / 2, "RoPE cos table");
    sin = operand(rope->sin, at::kFloat, tokens * head_dim / 2, "RoPE sin table");
    a.cos = cos.data_ptr<float>();
    a.sin = sin.data_ptr<float>();
  }
  check_launch(cuda::launch_rms_norm_rope(a, stream_of(x)), "rms_norm_rope");
  return out;
}

at::Tensor residual_norm_rows(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate, const RowNorm& norm) {
  if (!row_kernels_take(x) || x.dim() != 3) fail(ErrorCode::internal, "residual_norm_rows: input not taken");
  if (!y.defined() && norm.kind == RowNorm::Kind::none) return {};  // nothing to update, nothing to normalise
  const int64_t batch = x.size(0), tokens = x.size(1), cols = x.size(2);
  cuda::ResidualNormArgs a;
  a.x = x.data_ptr();
  a.rows = batch * tokens;
  a.cols = cols;
  a.rows_per_batch = tokens;
  a.eps = static_cast<float>(norm.eps);
  at::Tensor y_rows, gate_rows, weight, bias, scale1p, shift, out;
  if (y.defined()) {
    if (y.sizes() != x.sizes()) fail(ErrorCode::internal, "residual_norm_rows: branch shape differs from x");
    y_rows = operand(y, at::kBFloat16, x.numel(), "residual branch");
    a.y = y_rows.data_ptr();
    if (gate.defined()) {
      gate_rows = operand(gate, at::kFloat, batch * cols, "gate");
      a.gate = gate_rows.data_ptr<float>();
    }
  }
  switch (norm.kind) {
    case RowNorm::Kind::none:
      a.norm = cuda::NormKind::none;
      break;
    case RowNorm::Kind::affine:
      a.norm = cuda::NormKind::affine;
      weight = operand(norm.weight, at::kBFloat16, cols, "LayerNorm weight");
      bias = operand(norm.bias, at::kBFloat16, cols, "LayerNorm bias");
      a.weight = weight.data_ptr();
      a.bias = bias.data_ptr();
      break;
    case RowNorm::Kind::modulate:
      a.norm = cuda::NormKind::modulate;
      scale1p = operand(norm.scale1p, at::kFloat, batch * cols, "modulation scale");
      shift = operand(norm.shift, at::kFloat, batch * cols, "modulation shift");
      a.scale1p = scale1p.data_ptr<float>();
      a.shift = shift.data_ptr<float>();
      break;
  }
  if (norm.kind != RowNorm::Kind::none) {
    out = at::empty_like(x);
    a.out = out.data_ptr();
  }
  check_launch(cuda::launch_residual_norm(a, stream_of(x)), "residual_norm");
  return out;
}

#else  // a CPU build: nothing takes the kernels, and calling them is a bug in the caller.

bool row_kernels_take(const at::Tensor&) { return false; }

at::Tensor rms_norm_rope_rows(const at::Tensor&, const at::Tensor&, double, const RopeGrid*, int64_t) {
  fail(ErrorCode::internal, "rms_norm_rope_rows called in a build without CUDA");
}

at::Tensor residual_norm_rows(at::Tensor&, const at::Tensor&, const at::Tensor&, const RowNorm&) {
  fail(ErrorCode::internal, "residual_norm_rows called in a build without CUDA");
}

#endif

}  // namespace talkgen::model::dit
