// Helpers for the VAE tests: tiny models, parity data location, error measures, a safetensors writer.
//
// Include this before <catch2/catch.hpp> (it does so itself): Debian's libtorch pulls in glog, whose
// CHECK macro would otherwise replace Catch's.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "model/vae/wan_vae.hpp"
#include "talkgen/error.hpp"

#include "support/catch_torch.hpp"
#include "support/scratch.hpp"

namespace vae_test {

using talkgen::model::vae::LatentScale;
using talkgen::model::vae::VaeConfig;
using talkgen::model::vae::WanVae;

/// The structure of Wan2.1's VAE at base width 4 (what tools/parity/gen_vae.py builds).
inline VaeConfig tiny_config() {
  VaeConfig c;
  c.dim = 4;
  return c;
}

/// A tiny VAE with deterministic random weights (the default init, seeded).
inline std::shared_ptr<WanVae> tiny_vae(uint64_t seed = 7) {
  at::manual_seed(seed);
  return std::make_shared<WanVae>(tiny_config(), LatentScale::wan21());
}

inline at::Tensor random_video(int64_t b, int64_t t, int64_t h, int64_t w, uint64_t seed = 11) {
  at::manual_seed(seed);
  return at::rand({b, 3, t, h, w}) * 2 - 1;
}

inline at::Tensor random_latents(int64_t b, int64_t t, int64_t h, int64_t w, uint64_t seed = 13) {
  at::manual_seed(seed);
  return at::randn({b, 16, t, h, w});
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble).cpu() - b.to(at::kDouble).cpu()).abs().max().item<double>();
}

/// The parity rule: max|a - b| <= 1e-4 * max(1, max|ref|).
inline double parity_tolerance(const at::Tensor& ref) {
  return 1e-4 * std::max(1.0, ref.abs().max().item<double>());
}

/// Folder of the parity files: $TALKGEN_PARITY_DIR when set (e.g. the --full output on the GPU
/// machine), else the committed tests/data/parity/vae.
inline std::string parity_dir() {
  const char* env = std::getenv("TALKGEN_PARITY_DIR");
  return env && *env ? std::string(env) : std::string(TALKGEN_TEST_DATA_DIR) + "/parity/vae";
}

/// $TALKGEN_PARITY_DEVICE (e.g. "cuda") or the CPU.
inline at::Device parity_device() {
  const char* env = std::getenv("TALKGEN_PARITY_DEVICE");
  return env && *env ? at::Device(std::string(env)) : at::Device(at::kCPU);
}

/// Fails the test (not a skip) when a parity file is missing, saying how to make it.
inline std::string require_parity_file(const std::string& name) {
  const std::string path = parity_dir() + "/" + name;
  if (!std::ifstream(path).good()) {
    FAIL("missing parity file " << path
                                << ": generate it on the GPU machine with `python3 tools/parity/gen_vae.py --ref "
                                   ".ref/infinitetalk --out tests/data/parity` (see tools/parity/gen_vae.py)");
  }
  return path;
}

inline std::string scratch_path(const std::string& name) { return talkgen_test::scratch_path("model_vae_" + name); }

/// Writes named float tensors as a safetensors file.
inline void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, t0] : tensors) {
    const at::Tensor t = t0.detach().to(at::kFloat).contiguous().cpu();
    const size_t begin = data.size();
    data.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
    header[name] = {{"dtype", "F32"}, {"shape", t.sizes().vec()}, {"data_offsets", {begin, data.size()}}};
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << json << data;
}

/// The module's state as (name, tensor) pairs.
inline std::vector<std::pair<std::string, at::Tensor>> state_of(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : module.named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace vae_test
