// Helpers for the model_encoders tests: random weights, safetensors files written from C++, parity
// comparison against the committed reference data, typed-error checks.
//
// Include this first in every test file: Debian's libtorch pulls in glog, whose one-argument CHECK
// macro would replace Catch's (silently turning checks into aborts that are never counted). Here the
// torch headers come first, glog's CHECK is dropped, then Catch defines its own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

#include "model/io/tensor_source.hpp"
#include "talkgen/error.hpp"

#include "support/catch_torch.hpp"
#include "support/error_capture.hpp"
#include "support/scratch.hpp"

namespace encoders_test {

inline std::string parity_dir(const std::string& component) {
  return std::string(TALKGEN_TEST_DATA_DIR) + "/parity/" + component;
}

inline std::string scratch_dir(const std::string& name) {
  return talkgen_test::fresh_scratch_dir("model_encoders_" + name);
}

/// Fills every parameter with seeded normal noise scaled like a trained model's (so activations
/// stay O(1)); norm weights get 1 + noise so normalisation layers are not trivial.
inline void randomize(torch::nn::Module& module, uint64_t seed) {
  at::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(seed);
  for (auto& p : module.named_parameters()) {
    auto t = p.value();
    const auto noise = at::normal(0.0, 1.0, t.sizes(), gen, at::TensorOptions().dtype(at::kFloat));
    const std::string& key = p.key();
    const bool is_norm_weight = t.dim() == 1 && key.find("norm") != std::string::npos &&
                                key.size() > 7 && key.compare(key.size() - 7, 7, ".weight") == 0;
    const double fan_in = t.dim() >= 2 ? static_cast<double>(t.numel() / t.size(0)) : 1.0;
    auto value = is_norm_weight ? 1.0 + 0.1 * noise : noise / std::sqrt(fan_in) * (t.dim() >= 2 ? 1.0 : 0.1);
    t.copy_(value);
  }
}

inline const char* safetensors_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kDouble: return "F64";
    default: throw std::logic_error("test helper: no safetensors dtype name");
  }
}

/// Writes named tensors as a safetensors file (the format the reference wav2vec2 folder uses).
inline void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, t0] : tensors) {
    const auto t = t0.contiguous().cpu();
    const size_t begin = data.size();
    data.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
    header[name] = {{"dtype", safetensors_dtype(t.scalar_type())}, {"shape", t.sizes().vec()},
                    {"data_offsets", {begin, data.size()}}};
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << text << data;
}

/// A module's parameters as (name, tensor) pairs, optionally renamed.
template <typename Rename>
std::vector<std::pair<std::string, at::Tensor>> state_of(torch::nn::Module& module, Rename rename) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : module.named_parameters()) out.emplace_back(rename(p.key()), p.value().detach());
  return out;
}

inline void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream(path, std::ios::trunc) << j.dump(2);
}

/// Reads one tensor of a committed parity file; fails the test with a clear message (naming the
/// generator to run) when the data has not been generated yet.
inline at::Tensor parity_tensor(const talkgen::model::io::TensorSource& source, const std::string& name) {
  INFO("parity file " << source.describe() << " lacks '" << name << "'");
  REQUIRE(source.contains(name));
  return source.read(name);
}

inline void require_parity_file(const std::string& path, const std::string& generator) {
  if (!std::filesystem::exists(path)) {
    FAIL("missing parity data " << path << ": generate it on the GPU machine with `python3 tools/parity/"
         << generator << " --ref .ref/infinitetalk` (see tools/parity/" << generator << ")");
  }
}

/// fp32 parity: max |a - b| <= 1e-4 * max(1, max |ref|).
inline void require_close(const at::Tensor& actual, const at::Tensor& reference, double rel = 1e-4) {
  REQUIRE(actual.sizes() == reference.sizes());
  const auto a = actual.to(at::kCPU, at::kDouble), r = reference.to(at::kCPU, at::kDouble);
  const double err = (a - r).abs().max().item<double>();
  const double scale = std::max(1.0, r.abs().max().item<double>());
  INFO("max abs error " << err << " vs allowed " << rel * scale << " (reference scale " << scale << ")");
  CHECK(err <= rel * scale);
}

using talkgen_test::require_error;

}  // namespace encoders_test
