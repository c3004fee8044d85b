// Parity with the reference InfiniteTalk WanModel (tools/parity/gen_dit.py): the tiny model's weights in
// the official layout (2 base shards + index, infinitetalk.safetensors, a lightx2v-style LoRA), loaded
// through the real loaders, against the reference's fp32 outputs. TALKGEN_DIT_PARITY_DIR points the
// test at another generated folder (e.g. the --full run on the GPU machine).
#include "dit_test_util.hpp"  // first: see there

#include <cstdlib>
#include <filesystem>

#include "model/dit/dit_checkpoint.hpp"

namespace fs = std::filesystem;
using namespace talkgen::model;
using namespace talkgen::model::dit;

namespace {

fs::path parity_dir() {
  if (const char* env = std::getenv("TALKGEN_DIT_PARITY_DIR")) return env;
  return fs::path(TALKGEN_TEST_DATA_DIR) / "parity" / "dit";
}

// TALKGEN_DIT_PARITY_DEVICE=cuda runs the comparison on a GPU (for the --full data).
at::Device parity_device() {
  const char* env = std::getenv("TALKGEN_DIT_PARITY_DEVICE");
  if (!env) return at::kCPU;
  at::globalContext().setAllowTF32CuDNN(false);  // fp32 parity: no TF32 in the patch-embedding conv
  at::globalContext().setAllowTF32CuBLAS(false);
  return at::Device(env);
}

fs::path require(const std::string& name) {
  const auto p = parity_dir() / name;
  if (!fs::exists(p))
    FAIL("DiT parity data missing: " << p.string()
                                     << "\n  generate it with: python3 tools/parity/gen_dit.py --ref .ref/infinitetalk"
                                        " (writes tests/data/parity/dit/)");
  return p;
}

DitInputs read_inputs(const io::TensorSource& io) {
  DitInputs in = test::read_reference_inputs(io);
  in.audio = in.audio.unsqueeze(1);  // reference layout [speakers=B, frames, ...] -> [B, 1, frames, ...]
  return in;
}

void require_close(const at::Tensor& out, const at::Tensor& ref, const char* what) {
  REQUIRE(out.sizes() == ref.sizes());
  const auto out_cpu = out.cpu();
  const double scale = std::max(1.0, ref.abs().max().item<double>());
  const double err = test::max_abs_diff(out_cpu, ref);
  INFO(what << ": max abs error " << err << ", reference scale " << scale);
  CHECK(err <= 1e-4 * scale);
  WARN(what << ": max abs error " << err << " (reference scale " << scale << ")");
}

}  // namespace

TEST_CASE("DiT forward matches the reference (fp32, sharded base + infinitetalk file)", "[dit][parity]") {
  const auto config = DitConfig::from_json_file(require("config.json").string());
  const auto io = io::open_checkpoint(require("io.safetensors").string());
  DitCheckpointPaths paths;
  paths.base = require("diffusion_pytorch_model.safetensors.index.json").string();
  paths.infinitetalk = require("infinitetalk.safetensors").string();
  const auto model = load_dit(config, paths, at::kFloat, parity_device());
  // One speaker: the reference computes the speaker attention map and discards it; we skip it, and
  // matching its output is the proof that the skip changes nothing.
  require_close(model->forward(read_inputs(*io)), io->read("out"), "forward");
}

TEST_CASE("DiT forward after a LoRA merge matches the reference's WanLoraWrapper", "[dit][parity][lora]") {
  const auto config = DitConfig::from_json_file(require("config.json").string());
  const auto io = io::open_checkpoint(require("io.safetensors").string());
  DitCheckpointPaths paths;
  paths.base = require("diffusion_pytorch_model.safetensors.index.json").string();
  paths.infinitetalk = require("infinitetalk.safetensors").string();
  paths.loras.push_back({require("lora.safetensors").string(), io->read("lora_scale").item<double>()});
  const auto model = load_dit(config, paths, at::kFloat, parity_device());
  require_close(model->forward(read_inputs(*io)), io->read("out_lora"), "forward after LoRA");
}
