// Opt-in check of the full-size umT5-XXL encoder against the reference (data from
// `tools/parity/gen_umt5.py --full --device cuda --out DIR`, too large to commit). Runs only when
// TALKGEN_UMT5_FULL_DIR names that folder; uses CUDA when this build has it.
#include <cstdlib>

#include "catch_prefixed.hpp"

#include "model/io/tensor_source.hpp"
#include "model/umt5/encoder.hpp"

using namespace talkgen::model;

CATCH_TEST_CASE("umT5-XXL full size matches the reference (opt-in)", "[umt5][encoder][full][.]") {
  const char* dir = std::getenv("TALKGEN_UMT5_FULL_DIR");
  if (!dir) CATCH_FAIL("set TALKGEN_UMT5_FULL_DIR to the folder written by gen_umt5.py --full");
  const auto ref = io::open_checkpoint(std::string(dir) + "/encoder_full.safetensors");
  const at::Tensor ids = ref->read("ids"), mask = ref->read("mask");
  const at::Tensor expected = ref->read("context"), ref_bf16 = ref->read("context_bf16");
  const double scale = std::max(1.0, expected.abs().max().item<double>());
  // The reference's own bf16 run is the yardstick for ours: bf16 rounding over 24 blocks is what it is.
  const double ref_bf16_err = (ref_bf16 - expected).abs().max().item<double>();

  io::LoadOptions options;
  options.device = at::hasCUDA() ? at::Device(at::kCUDA) : at::Device(at::kCPU);
  for (const auto dtype : {at::kBFloat16, at::kFloat}) {
    options.dtype = dtype;
    auto encoder = umt5::load_encoder(std::string(dir) + "/models_t5_umt5-xxl-enc-bf16.pth", options);
    const at::Tensor got = encoder->forward(ids, mask).to(at::kCPU, at::kFloat);
    const double err = (got - expected).abs().max().item<double>();
    CATCH_WARN("umT5-XXL " << c10::toString(dtype) << ": max abs error " << err << ", reference scale " << scale
                     << ", reference bf16 vs fp32 " << ref_bf16_err);
    if (dtype == at::kFloat) CATCH_CHECK(err <= 1e-3 * scale);
    else CATCH_CHECK(err <= 2 * ref_bf16_err + 1e-3 * scale);
  }
}
