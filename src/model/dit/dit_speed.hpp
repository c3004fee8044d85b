// Switches of the DiT forward's fast paths, so one process can compare them (talkgen bench dit) and a
// regression can be bisected without a rebuild. Every path computes the reference's function; they
// differ only in how many kernels and memory passes it takes (see dit_fused.hpp for the rounding notes).
//
// Environment (read once, at the first DitModel): TALKGEN_DIT_FAST = "default" (fused + kernels) | "all" |
// "none" | a comma list of the paths to turn on: "fused" (elementwise fusion in libtorch ops), "kernels"
// (fused, with its CUDA row kernels), "gelu" (GELU in the GEMM epilogue; opt-in, see below).
// The attention kernel has its own switch, TALKGEN_ATTENTION (model/layers/attention.hpp).
#pragma once

#include <string>
#include <string_view>

namespace talkgen::model::dit {

struct DitSpeedOptions {
  /// Norms, modulation, gated residuals, qk RMS-norm and RoPE with fewer kernels and passes: LayerNorm
  /// straight on the model dtype, modulation and gated residual as one addcmul each (the residual in
  /// place), RMS-norm from a one-pass float32 sum of squares, RoPE as one complex multiply.
  bool fused_elementwise = true;
  /// ffn.0 + tanh-GELU as one GEMM with a GELU epilogue (at::_addmm_activation: cuBLASLt on CUDA; the CPU
  /// build of that op applies the erf GELU, so CPU tensors keep the plain path). Off by default: it saves
  /// one pass over the 906 MB FFN activation (~25 ms per 480p forward) but whether cuBLASLt's epilogue is
  /// the tanh form the model needs has not been checked on a GPU yet (bench variant "cudnn/all" reports
  /// its max difference from the other paths).
  bool gelu_in_gemm = false;
  /// The fused path's steps as single CUDA kernels where they take the tensors (dit_row_kernels.hpp:
  /// bf16 on CUDA): q/k RMS-norm + RoPE, and each residual update with the norm that follows it.
  /// Only with fused_elementwise (the kernels are that path's CUDA form); CPU and float32 models keep
  /// the libtorch forms.
  bool row_kernels = true;

  /// The default set (fused elementwise with the row kernels).
  static DitSpeedOptions fast() { return {}; }
  /// Every path on, opt-in ones included.
  static DitSpeedOptions all() { return {true, true, true}; }
  /// All paths off: the straightforward transcription of the reference.
  static DitSpeedOptions plain() { return {false, false, false}; }
  /// Parses TALKGEN_DIT_FAST's syntax ("default", "all", "none", or a comma list of "fused", "kernels"
  /// (implies fused), "gelu"); throws Error(invalid_argument).
  static DitSpeedOptions parse(std::string_view text);
  /// TALKGEN_DIT_FAST, read once per process (an unparsable value logs a warning and means "default").
  static const DitSpeedOptions& from_env();

  std::string describe() const;
};

}  // namespace talkgen::model::dit
