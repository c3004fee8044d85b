// Parity with the reference WanVAE (tools/parity/gen_vae.py): encode, decode (clamped and raw) and
// streaming decode of a tiny VAE with random weights, loaded from its torch.save .pth.
#include <cstdio>
#include <fstream>

#include "model/io/tensor_source.hpp"
#include "vae_test_util.hpp"

using namespace talkgen::model;
using namespace vae_test;

namespace {

struct ParityCase {
  std::shared_ptr<vae::WanVae> vae;
  std::unique_ptr<io::TensorSource> io;
  nlohmann::json config;
};

vae::VaeConfig config_from(const nlohmann::json& c) {
  vae::VaeConfig config;
  config.dim = c.at("dim");
  config.z_dim = c.at("z_dim");
  config.dim_mult = c.at("dim_mult").get<std::vector<int64_t>>();
  config.num_res_blocks = c.at("num_res_blocks");
  config.temporal_downsample = c.at("temperal_downsample").get<std::vector<bool>>();
  REQUIRE(c.at("attn_scales").empty());
  return config;
}

ParityCase load_case() {
  // Fail (never skip) when the data is absent: it comes from the GPU machine.
  const std::string config_path = require_parity_file("config.json");
  const std::string weights = require_parity_file("vae.pth");
  const std::string io_path = require_parity_file("vae_io.safetensors");
  ParityCase pc;
  std::ifstream(config_path) >> pc.config;
  vae::VaeLoadOptions options;
  options.config = config_from(pc.config.at("config"));
  options.scale = {pc.config.at("latent_mean").get<std::vector<float>>(),
                   pc.config.at("latent_std").get<std::vector<float>>()};
  options.device = parity_device();
  if (options.device.is_cuda()) {  // fp32 parity: no TF32, as the generator sets
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
  pc.vae = vae::load_wan_vae(weights, options);
  pc.io = io::open_checkpoint(io_path);
  return pc;
}

void check_close(const std::string& what, const at::Tensor& ours, const at::Tensor& ref) {
  REQUIRE(ours.sizes() == ref.sizes());
  const double err = max_abs_diff(ours, ref), tol = parity_tolerance(ref);
  std::printf("vae parity %-28s max|err| %.3g (tolerance %.3g, max|ref| %.3g)\n", what.c_str(), err, tol,
              ref.abs().max().item<double>());
  INFO(what << ": max abs error " << err << ", tolerance " << tol);
  CHECK(err <= tol);
}

}  // namespace

TEST_CASE("VAE parity: the reference's latent mean/std are the ones we hard-code", "[vae][parity]") {
  std::ifstream in(require_parity_file("config.json"));
  nlohmann::json config;
  in >> config;
  const auto wan = vae::LatentScale::wan21();
  REQUIRE(config.at("latent_mean").get<std::vector<float>>() == wan.mean);
  REQUIRE(config.at("latent_std").get<std::vector<float>>() == wan.std);
}

TEST_CASE("VAE parity: encode matches WanVAE.encode", "[vae][parity]") {
  auto pc = load_case();
  check_close("encode", pc.vae->encode(pc.io->read("video")), pc.io->read("latents"));
}

TEST_CASE("VAE parity: decode matches WanVAE.decode, clamped and raw", "[vae][parity]") {
  auto pc = load_case();
  const at::Tensor z = pc.io->read("decode_latents");
  check_close("decode (clamped)", pc.vae->decode(z), pc.io->read("decoded"));
  vae::DecodeOptions raw;
  raw.clamp = false;
  check_close("decode (raw)", pc.vae->decode(z, raw), pc.io->read("decoded_raw"));
}

TEST_CASE("VAE parity: streaming decode, one latent frame per push, matches the reference", "[vae][parity]") {
  auto pc = load_case();
  const at::Tensor z = pc.io->read("decode_latents");
  vae::DecodeOptions raw;
  raw.clamp = false;
  vae::VaeDecodeStream stream(pc.vae, raw);
  std::vector<at::Tensor> frames;
  for (int64_t t = 0; t < z.size(2); ++t) {
    frames.push_back(stream.push(z.narrow(2, t, 1)));
    CHECK(frames.back().size(2) == (t == 0 ? 1 : 4));
  }
  CHECK(stream.latent_frames() == z.size(2));
  check_close("stream decode (raw)", at::cat(frames, 2), pc.io->read("decoded_raw"));
}
