// Helpers of the DiT tests: an in-memory TensorSource and tiny inputs.
//
// Include this first in every test file (it includes Catch itself): Debian's libtorch pulls in glog,
// whose one-argument CHECK macro would otherwise replace Catch's. Torch headers come first, glog's
// CHECK is dropped, then Catch defines its own.
#pragma once

#include <map>
#include <string>

#include <ATen/CPUGeneratorImpl.h>

#include "model/dit/dit_checkpoint.hpp"
#include "model/dit/dit_model.hpp"
#include "model/io/tensor_source.hpp"
#include "talkgen/error.hpp"

#include "support/catch_torch.hpp"

namespace talkgen::model::dit::test {

/// A checkpoint held in a map (file order = name order).
class MapSource : public io::TensorSource {
 public:
  MapSource(std::map<std::string, at::Tensor> tensors, std::string name)
      : tensors_(std::move(tensors)), name_(std::move(name)) {}
  std::vector<io::TensorInfo> list() const override {
    std::vector<io::TensorInfo> out;
    for (const auto& [k, v] : tensors_) out.push_back({k, v.scalar_type(), v.sizes().vec(), name_});
    return out;
  }
  bool contains(const std::string& name) const override { return tensors_.count(name) > 0; }
  at::Tensor read(const std::string& name) const override {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) fail(ErrorCode::not_found, "no tensor '{}' in {}", name, name_);
    return it->second.clone();
  }
  std::string describe() const override { return name_; }
  std::map<std::string, at::Tensor>& tensors() { return tensors_; }

 private:
  std::map<std::string, at::Tensor> tensors_;
  std::string name_;
};

inline bool is_audio_key(const std::string& k) {
  return k.rfind("audio_proj.", 0) == 0 || k.find(".audio_cross_attn.") != std::string::npos ||
         k.find(".norm_x.") != std::string::npos;
}

/// The model's parameters split the way the real files are: base (Wan) and infinitetalk (audio).
inline std::pair<MapSource, MapSource> split_state(torch::nn::Module& model) {
  std::map<std::string, at::Tensor> base, audio;
  for (const auto& item : model.named_parameters(true))
    (is_audio_key(item.key()) ? audio : base)[item.key()] = item.value().detach().clone();
  return {MapSource(std::move(base), "base.safetensors"), MapSource(std::move(audio), "infinitetalk.safetensors")};
}

/// Random inputs for `config` with F latent frames of H x W latent pixels, one speaker.
inline DitInputs random_inputs(const DitConfig& c, int64_t frames, int64_t h, int64_t w, uint64_t seed,
                               int64_t text_tokens = 5) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto r = [&](at::IntArrayRef s) { return at::randn(s, gen, at::TensorOptions().dtype(at::kFloat)); };
  DitInputs in;
  in.x = r({1, c.out_dim, frames, h, w});
  in.y = r({1, c.in_dim - c.out_dim, frames, h, w});
  in.t = at::full({1}, 640.5);
  in.context = r({1, text_tokens, c.text_dim});
  in.clip_fea = r({1, c.clip_tokens, c.clip_dim});
  in.audio = r({1, 1, 1 + c.vae_scale * (frames - 1), c.audio_window, c.audio_blocks, c.audio_channels});
  return in;
}

/// A parity file's forward inputs as the reference recorded them: x, y, t, context, clip_fea, and audio in
/// its [speakers, frames, ...] layout (the caller adds the batch axis where its case needs it).
inline DitInputs read_reference_inputs(const io::TensorSource& io) {
  DitInputs in;
  in.x = io.read("x");
  in.y = io.read("y");
  in.t = io.read("t");
  in.context = io.read("context");
  in.clip_fea = io.read("clip_fea");
  in.audio = io.read("audio");
  return in;
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kFloat) - b.to(at::kFloat)).abs().max().item<double>();
}

/// Switches the model's fast paths, keeping its attention kernel.
inline void set_speed(DitModel& model, const DitSpeedOptions& speed) {
  auto runtime = model.runtime_options();
  runtime.speed = speed;
  model.set_runtime_options(runtime);
}

}  // namespace talkgen::model::dit::test
