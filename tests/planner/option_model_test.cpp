// Memory per GPU and time per option.
#include <catch2/catch.hpp>

#include "planner/memory_model.hpp"
#include "planner/option_model.hpp"

using namespace talkgen;
using namespace talkgen::planner;

namespace {
Workload balanced_20s(Resolution r = Resolution::p480) {
  return describe_workload(20.0, quality_settings(Quality::balanced, r), r);
}
Rates h100() { return make_rates(find_gpu_type("H100"), std::nullopt, "H100"); }
}  // namespace

TEST_CASE("memory on one GPU: weights, encoders, the VAE decode phase, the CUDA context") {
  const auto w = balanced_20s();
  const auto r = h100();
  OptionShape one;
  const double with_t5 = memory_gib_per_gpu(w, r, one);
  // Everything resident, peak in the VAE decode: 35.2 GiB DiT + 10.6 umT5 + 1.18 CLIP + 0.35 wav2vec2 + 0.47
  // VAE + the untiled decode of 480x832 (399,360 px x 26.1 KB = 9.7 GiB) + the audio embedding, + 0.75 context.
  CHECK(with_t5 == Approx(35.17 + 10.58 + 1.18 + 0.35 + 0.47 + 9.71 + 0.02 + 0.75).epsilon(0.01));
  OptionShape no_t5 = one;
  no_t5.mode.text_encoder_on_gpu = false;
  CHECK(with_t5 - memory_gib_per_gpu(w, r, no_t5) == Approx(5.68e9 * 2 / kGiB).epsilon(0.001));
}

TEST_CASE("more GPUs shrink the activations, not the replicated weights") {
  const auto w = balanced_20s(Resolution::p720);
  const auto r = h100();
  MemoryMode mode;
  const auto m1 = estimate_memory(w, r, mode, 1), m8 = estimate_memory(w, r, mode, 8);
  // 720p: 0.14 GiB + 75,600 tokens x 93 KiB of activations on one GPU, 1/8 of the tokens on each of 8.
  CHECK(m1.phase_bytes("DiT sampling") - m8.phase_bytes("DiT sampling") ==
        Approx((75600 - 9450) * 93.0 * 1024).epsilon(0.001));
  CHECK(m8.phase_bytes("DiT sampling") > 35.17 * kGiB);  // every GPU keeps all 35 GiB of DiT weights
  MemoryMode sharded = mode;
  sharded.weight_sharded = true;
  OptionShape eight{8, mode}, eight_sharded{8, sharded};
  CHECK(memory_gib_per_gpu(w, r, eight_sharded) < memory_gib_per_gpu(w, r, eight) - 35.17 * 0.8);  // 1/8 + 2 blocks
}

TEST_CASE("sampling time is forwards x FLOPs / rate on one GPU") {
  const auto w = balanced_20s();
  const auto r = h100();
  const auto t = option_times(w, r, OptionShape{}, false);
  const double fraction = find_gpu_type("H100")->achieved_fraction;  // 0.67 with FlashAttention-3, else 0.60
  CHECK((fraction == 0.60 || fraction == 0.67));
  CHECK(r.matmul_tflops == Approx(989.0 * fraction));
  CHECK(t.sampling == Approx(112 * w.flops.total() / (r.matmul_tflops * 1e12)));
  CHECK(t.communication == 0);
  CHECK(t.model_load == 0);
  CHECK(t.total == Approx(t.sampling + t.vae + t.encoders + t.video_encode));
  CHECK(t.vae > 0);
  CHECK(t.encoders > 0);
  CHECK(t.video_encode > 0);
}

TEST_CASE("N GPUs: compute / N, plus the all-to-all volume over the bandwidth") {
  const auto w = balanced_20s();
  const auto r = h100();
  OptionShape eight;
  eight.gpus = 8;
  const auto t1 = option_times(w, r, OptionShape{}, false), t8 = option_times(w, r, eight, false);
  // 40 heads over 8 GPUs and 32760 tokens over 8 both divide: the per-GPU compute is 1/8, but for the
  // token-independent terms (3.7 of 1825 TFLOP) that every GPU repeats: ~1.4% more.
  CHECK(t8.sampling == Approx(t1.sampling / 8).epsilon(0.02));
  CHECK(t8.sampling > t1.sampling / 8);
  // Per forward: 40 blocks x 4 tensors x 4095 tokens x 5120 x 2 bytes x 7/8, at 200 GB/s, + 80 x 30 us.
  const double per_forward = 40.0 * 4 * 4095 * 5120 * 2 * 7 / 8 / 200e9 + 80 * 30e-6;
  CHECK(t8.communication == Approx(112 * per_forward));
  // VAE, encoders and model load do not split.
  CHECK(t8.vae == Approx(t1.vae));
  CHECK(t8.encoders == Approx(t1.encoders));
  CHECK(t8.total < t1.total);
  CHECK(t8.total * 8 > t1.total);  // the serial parts make 8 GPUs cost more GPU-seconds
}

TEST_CASE("uneven heads: 3 GPUs take ceil(40 / 3) = 14 heads of attention each") {
  const auto w = balanced_20s();
  const auto r = h100();
  OptionShape three;
  three.gpus = 3;
  const auto t = option_times(w, r, three, false);
  const double expected_forward = (w.flops.per_token * 10920 / 32760 + w.flops.fixed) / (r.matmul_tflops * 1e12) +
                                  w.flops.self_attention * 14 / 40 / (r.attention_tflops * 1e12);
  CHECK(t.sampling == Approx(112 * expected_forward));
}

TEST_CASE("a text encoder on the CPU is slower than on the GPU") {
  const auto w = balanced_20s();
  const auto r = h100();
  OptionShape cpu;
  cpu.mode.text_encoder_on_gpu = false;
  CHECK(option_times(w, r, cpu, false).encoders > 10 * option_times(w, r, OptionShape{}, false).encoders);
}
