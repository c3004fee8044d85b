#include "model/layers/attention.hpp"

#include <cmath>
#include <limits>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#include "model/layers/attention_fa3.hpp"
#include "talkgen/error.hpp"
#include "talkgen/log.hpp"

// The private per-backend SDPA ops with the signatures used below: flash / efficient since 2.1, cuDNN with
// its attn_bias argument since 2.5.
#define TALKGEN_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace talkgen::model::layers {
namespace {

#if TORCH_VERSION_MAJOR >= 2
// Problem shapes whose direct kernel call failed: they go straight to the dispatcher from then on (each
// is warned about once). Keyed by shape so a failure in one model does not slow down another.
std::mutex g_failed_mutex;
std::set<std::string> g_failed;

bool is_half(const at::Tensor& t) { return t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf; }

// The layouts PyTorch's own dispatcher lets cuDNN take ([B, H, L, D] views of [B, L, H, D] memory, or of
// packed [B, L, 3, H, D] q/k/v): its kernel is only validated for those.
bool cudnn_layout_ok(const at::Tensor& t) {
  const int64_t h = t.size(1), l = t.size(2), d = t.size(3);
  const int64_t row = t.stride(2);
  const bool rows = row == h * d || row == 3 * h * d;
  return t.stride(3) == 1 && t.stride(1) == d && rows && (t.size(0) == 1 || t.stride(0) == l * row);
}

bool cudnn_fits(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4) return false;
  const int64_t d = q.size(3);
  return d % 8 == 0 && d <= 128 && k.size(3) == d && v.size(3) == d && k.size(2) > 1 && q.size(0) <= 65535 &&
         q.size(1) <= 65535 && cudnn_layout_ok(q) && cudnn_layout_ok(k) && cudnn_layout_ok(v);
}

// cuDNN before 9.15.1 has a known defect at query lengths that are not multiples of 128 (PyTorch prefers
// cuDNN only from 9.15.1 on; 480p's 32,760 tokens is such a length). libtorch reports the cuDNN it was
// built with.
bool cudnn_version_ok() {
  static const bool ok = [] {
    long version = 0;
    try {
      version = at::detail::getCUDAHooks().versionCuDNN();
    } catch (const std::exception& e) {
      log_warn("attention: cannot query the cuDNN version ({}); using the SDPA dispatcher", e.what());
      return false;
    }
    if (version <= 91500) {
      log_warn("attention: libtorch was built with cuDNN {}, older than 9.15.1 (a known defect at query lengths "
               "not divisible by 128); leaving the kernel choice to the SDPA dispatcher", version);
      return false;
    }
    return true;
  }();
  return ok;
}

// Calls one backend's kernel directly; nullopt (after one warning naming the error) if it refuses.
template <typename Call>
std::optional<at::Tensor> try_direct(AttentionBackend backend, const at::Tensor& q, const at::Tensor& k, Call call) {
  const auto key = fmt::format("{} q {} k {} {}", to_string(backend), fmt::join(q.sizes(), "x"),
                               fmt::join(k.sizes(), "x"), c10::toString(q.scalar_type()));
  {
    std::lock_guard<std::mutex> lock(g_failed_mutex);
    if (g_failed.count(key)) return std::nullopt;
  }
  try {
    return call();
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(g_failed_mutex);
    if (g_failed.insert(key).second) {
      log_warn("attention: the {} kernel failed ({} on {}); attention of this shape uses the SDPA dispatcher "
               "from now on. Error: {}", to_string(backend), key, q.device().str(), e.what());
    }
    return std::nullopt;
  }
}

std::optional<at::Tensor> direct_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                           std::optional<double> scale, AttentionBackend backend) {
  if (!q.is_cuda() || !is_half(q) || k.scalar_type() != q.scalar_type() || v.scalar_type() != q.scalar_type())
    return std::nullopt;
  const c10::optional<double> s = scale ? c10::optional<double>(*scale) : c10::nullopt;
  switch (backend) {
    case AttentionBackend::automatic:
      return std::nullopt;
    case AttentionBackend::fa3:
      // FA3 where it applies (bf16, head dim 128, Hopper), else cuDNN's rules below.
      if (flash_attention3_fits(q, k, v)) {
        if (auto out = try_direct(AttentionBackend::fa3, q, k, [&] { return flash_attention3(q, k, v, scale); }))
          return out;
      }
      [[fallthrough]];
    case AttentionBackend::cudnn:
#if TALKGEN_TORCH_AT_LEAST(2, 5)
      if (!cudnn_fits(q, k, v) || !cudnn_version_ok()) return std::nullopt;
      return try_direct(AttentionBackend::cudnn, q, k, [&] {
        return std::get<0>(at::_scaled_dot_product_cudnn_attention(q, k, v, /*attn_bias=*/c10::nullopt,
                                                                  /*compute_log_sumexp=*/false, /*dropout_p=*/0.0,
                                                                  /*is_causal=*/false, /*return_debug_mask=*/false,
                                                                  s));
      });
#else
      return std::nullopt;
#endif
    case AttentionBackend::flash:
#if TALKGEN_TORCH_AT_LEAST(2, 1)
      return try_direct(AttentionBackend::flash, q, k, [&] {
        return std::get<0>(at::_scaled_dot_product_flash_attention(q, k, v, 0.0, false, false, s));
      });
#else
      return std::nullopt;
#endif
    case AttentionBackend::efficient:
#if TALKGEN_TORCH_AT_LEAST(2, 1)
      return try_direct(AttentionBackend::efficient, q, k, [&] {
        return std::get<0>(at::_scaled_dot_product_efficient_attention(q, k, v, c10::nullopt, false, 0.0, false, s));
      });
#else
      return std::nullopt;
#endif
  }
  return std::nullopt;
}
#endif

}  // namespace

AttentionBackend parse_attention_backend(std::string_view name) {
  if (name == "auto") return AttentionBackend::automatic;
  if (name == "cudnn") return AttentionBackend::cudnn;
  if (name == "fa3") {
    if (!flash_attention3_built())
      fail(ErrorCode::unsupported, "attention backend 'fa3': this talkgen was built without FlashAttention-3 "
                                   "(configure a CUDA build with -DTALKGEN_FLASH_ATTENTION3_DIR=<flash-attention checkout>)");
    return AttentionBackend::fa3;
  }
  if (name == "flash") return AttentionBackend::flash;
  if (name == "efficient") return AttentionBackend::efficient;
  fail(ErrorCode::invalid_argument, "attention backend '{}' not understood; expected auto, fa3, cudnn, flash or efficient",
       name);
}

const char* to_string(AttentionBackend backend) noexcept {
  switch (backend) {
    case AttentionBackend::automatic: return "auto";
    case AttentionBackend::cudnn: return "cudnn";
    case AttentionBackend::fa3: return "fa3";
    case AttentionBackend::flash: return "flash";
    case AttentionBackend::efficient: return "efficient";
  }
  return "?";
}

AttentionBackend default_attention_backend() noexcept {
  return flash_attention3_built() ? AttentionBackend::fa3 : AttentionBackend::cudnn;
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const std::optional<at::Tensor>& mask, std::optional<double> scale, AttentionBackend backend) {
#if TORCH_VERSION_MAJOR >= 2
  if (!mask) {
    if (auto out = direct_attention(q, k, v, scale, backend)) return *out;
  }
  c10::optional<at::Tensor> attn_mask;
  if (mask) attn_mask = *mask;
  return at::scaled_dot_product_attention(q, k, v, attn_mask, /*dropout_p=*/0.0, /*is_causal=*/false,
                                          scale ? c10::optional<double>(*scale) : c10::nullopt);
#else
  const double s = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  const auto compute = q.scalar_type() == at::kFloat || q.scalar_type() == at::kDouble ? q.scalar_type() : at::kFloat;
  auto scores = at::matmul(q.to(compute), k.to(compute).transpose(-2, -1)) * s;
  if (mask) {
    if (mask->scalar_type() == at::kBool) {
      scores = scores.masked_fill(mask->logical_not(), -std::numeric_limits<float>::infinity());
    } else {
      scores = scores + mask->to(compute);
    }
  }
  return at::matmul(at::softmax(scores, -1), v.to(compute)).to(q.scalar_type());
#endif
}

}  // namespace talkgen::model::layers
