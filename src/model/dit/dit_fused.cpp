#include "model/dit/dit_fused.hpp"

namespace talkgen::model::dit {
namespace {

// Whether elementwise kernels on t's device can mix input/output dtypes (widening per element): CUDA's
// TensorIterator kernels cast dynamically; CPU ternary kernels (addcmul) assert on mixed dtypes.
bool casts_in_kernel(const at::Tensor& t) { return !t.is_cpu(); }

bool same_dtype(const at::Tensor& a, const at::Tensor& b) { return a.scalar_type() == b.scalar_type(); }

}  // namespace

at::Tensor layer_norm_fused(const at::Tensor& x, double eps, const at::Tensor& weight, const at::Tensor& bias) {
  const bool params_match = (!weight.defined() || same_dtype(weight, x)) && (!bias.defined() || same_dtype(bias, x));
  // libtorch 1.13's CPU layer_norm on half types is less exact than float32 statistics: plain path there.
  const bool exact_kernel = casts_in_kernel(x) || x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble;
  if (!params_match || !exact_kernel) return layers::float32_layer_norm(x, eps, weight, bias);
  return at::layer_norm(x, {x.size(-1)}, weight, bias, eps);
}

at::Tensor modulate(const at::Tensor& normed, const at::Tensor& scale1p, const at::Tensor& shift) {
  if ((same_dtype(normed, scale1p) && same_dtype(normed, shift)) || casts_in_kernel(normed)) {
    auto out = at::empty(normed.sizes(), normed.options());
    return at::addcmul_out(out, shift, normed, scale1p);
  }
  return at::addcmul(shift, normed.to(scale1p.scalar_type()), scale1p).to(normed.scalar_type());
}

void gated_residual_(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate) {
  if ((same_dtype(x, gate) && same_dtype(y, gate)) || casts_in_kernel(x)) {
    x.addcmul_(y, gate);
    return;
  }
  x.copy_(at::addcmul(x.to(gate.scalar_type()), y.to(gate.scalar_type()), gate));
}

at::Tensor rms_norm_fused(const at::Tensor& x, const at::Tensor& weight, double eps, at::ScalarType out_dtype) {
  // sum(x^2) accumulated in float32 in one read of x: the 2-norm, squared back (exact to float32 rounding).
  auto rstd = at::linalg_vector_norm(x, 2, at::IntArrayRef{-1}, /*keepdim=*/true, at::kFloat);
  rstd.square_().div_(static_cast<double>(x.size(-1))).add_(eps).rsqrt_();
  auto normed = at::empty(x.sizes(), x.options());
  at::mul_out(normed, x, rstd);  // float32 product rounded to x's dtype: the reference's `.type_as(x)`
  if (out_dtype == x.scalar_type()) return normed.mul_(weight);
  auto out = at::empty(x.sizes(), x.options().dtype(out_dtype));
  return at::mul_out(out, normed, weight);  // the product in x's dtype (the reference's `* weight`), widened
}

at::Tensor apply_rope_fused(at::Tensor x, const RopeGrid& grid, at::ScalarType out_dtype) {
  const auto rotation = grid.rotation.defined() ? grid.rotation : at::complex(grid.cos, grid.sin);
  // (re + i im)(cos + i sin) = (re cos - im sin) + i (re sin + im cos): apply_rope's products.
  at::view_as_complex(x.unflatten(-1, {x.size(-1) / 2, 2})).mul_(rotation);
  return x.to(out_dtype);
}

at::Tensor residual_then_norm(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate, const RowNorm& norm,
                              bool row_kernels) {
  if (row_kernels && row_kernels_take(x) && x.dim() == 3) return residual_norm_rows(x, y, gate, norm);
  if (y.defined()) {
    if (gate.defined()) {
      gated_residual_(x, y, gate);
    } else {
      x.add_(y);
    }
  }
  switch (norm.kind) {
    case RowNorm::Kind::affine:
      return layer_norm_fused(x, norm.eps, norm.weight, norm.bias);
    case RowNorm::Kind::modulate:
      return modulate(layer_norm_fused(x, norm.eps), norm.scale1p, norm.shift);
    case RowNorm::Kind::none:
      break;
  }
  return {};
}

at::Tensor qk_norm_rope(const at::Tensor& x, const at::Tensor& weight, double eps, const RopeGrid* rope,
                        int64_t heads, bool row_kernels) {
  const int64_t head_dim = x.size(-1) / heads;
  if (row_kernels && row_kernels_take(x) && x.dim() == 3 && (!rope || head_dim % 8 == 0))
    return rms_norm_rope_rows(x, weight, eps, rope, head_dim).unflatten(-1, {heads, head_dim});
  if (!rope) return rms_norm_fused(x, weight, eps, x.scalar_type()).unflatten(-1, {heads, head_dim});
  return apply_rope_fused(rms_norm_fused(x, weight, eps, at::kFloat).unflatten(-1, {heads, head_dim}), *rope,
                          x.scalar_type());
}

at::Tensor linear_gelu(const layers::LinearImpl& fc, const at::Tensor& x) {
  // The CPU _addmm_activation applies the erf GELU (CUDA's cuBLASLt epilogue the tanh one).
  if (x.is_cpu()) return at::gelu(fc.forward(x), "tanh");
  auto out_sizes = x.sizes().vec();
  out_sizes.back() = fc.weight.size(0);
  const auto rows = x.reshape({-1, x.size(-1)});
  if (!fc.bias.defined()) return at::gelu(at::mm(rows, fc.weight.t()), "tanh").view(out_sizes);
  return at::_addmm_activation(fc.bias, rows, fc.weight.t(), 1, 1, /*use_gelu=*/true).view(out_sizes);
}

}  // namespace talkgen::model::dit
