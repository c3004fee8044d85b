// The memory model per mode: byte counts from the model shapes, the measured H100 peaks it reproduces,
// and what each low-memory choice saves.
#include <catch2/catch.hpp>

#include "planner/memory_model.hpp"
#include "talkgen/error.hpp"

using namespace talkgen;
using namespace talkgen::planner;

namespace {

Workload job(Resolution resolution, int width, int height, double seconds = 3.24) {
  return describe_workload(seconds, quality_settings(Quality::draft, resolution), resolution, {},
                           FrameSize{width, height});
}
Rates h100() { return make_rates(find_gpu_type("H100"), std::nullopt, "H100"); }
MemoryMode resident(WeightDtype dtype = WeightDtype::bf16) {
  MemoryMode m;
  m.dtype = dtype;
  return m;
}

}  // namespace

TEST_CASE("DiT bytes per format: 35.2 GiB in bf16, about half in FP8 / int8") {
  const DitBytes bf16 = dit_bytes(WeightDtype::bf16), fp8 = dit_bytes(WeightDtype::fp8),
                 int8 = dit_bytes(WeightDtype::int8);
  CHECK(bf16.total(40) == Approx(dit_parameters(ModelDims{}) * 2));
  CHECK(bf16.total(40) / kGiB == Approx(35.17).epsilon(0.002));
  CHECK(bf16.block / kGiB == Approx(0.865).epsilon(0.002));  // 464e6 parameters
  // The Linear weights (464.1e6 of the block's 464.2e6 parameters) in one byte, the rest and scales small.
  CHECK(fp8.block == Approx(bf16.block / 2).epsilon(0.002));
  CHECK(fp8.block > bf16.block / 2);
  CHECK(int8.block == Approx(fp8.block));
  CHECK(fp8.non_block == Approx(bf16.non_block));  // counted in bf16 whatever the format
  CHECK(fp8.dequant_workspace == 0);
  CHECK(int8.dequant_workspace == Approx(dit_block_linears(ModelDims{}).weights * 2));
  CHECK_THROWS_AS(dit_bytes(WeightDtype::automatic), Error);
}

TEST_CASE("the model reproduces the measured H100 peaks (benchmarks/RESULTS.md) within 1%") {
  const Rates r = h100();
  // Job A: 480p, square portrait (640x640), every model resident: 57.5 GiB, in the VAE decode.
  const MemoryEstimate a = estimate_memory(job(Resolution::p480, 640, 640), r, resident(), 1);
  CHECK(a.peak_gib() == Approx(57.5).epsilon(0.01));
  CHECK(a.peak_phase == "VAE decode");
  // Job B: 720p, 960x960: 69.5 GiB.
  const MemoryEstimate b = estimate_memory(job(Resolution::p720, 960, 960), r, resident(), 1);
  CHECK(b.peak_gib() == Approx(69.5).epsilon(0.01));
  // The DiT forward alone (weights + activations) at 480x832 and 720x1280: 38.2 and 42.0 GiB.
  MemoryMode dit_only = resident();
  dit_only.encoders_on_demand = true;
  dit_only.text_encoder_on_gpu = false;
  const auto p480 = estimate_memory(job(Resolution::p480, 832, 480), r, dit_only, 1);
  const auto p720 = estimate_memory(job(Resolution::p720, 1280, 720), r, dit_only, 1);
  const double audio480 = 81.0 * 12 * 768 * 4;  // the audio embedding (not in the bench's forward)
  CHECK((p480.phase_bytes("DiT sampling") - audio480) / kGiB == Approx(38.2).epsilon(0.01));
  CHECK((p720.phase_bytes("DiT sampling") - audio480) / kGiB == Approx(42.0).epsilon(0.01));
  CHECK(a.device_gib() == Approx(a.peak_gib() + kCudaContextGiB));
}

TEST_CASE("what each low-memory choice saves") {
  const Rates r = h100();
  const Workload w = job(Resolution::p480, 832, 480);
  const MemoryMode all = resident();
  const double full = estimate_memory(w, r, all, 1).peak_bytes;

  MemoryMode on_demand = all;
  on_demand.encoders_on_demand = true;
  const auto od = estimate_memory(w, r, on_demand, 1);
  CHECK(od.peak_bytes < full - 10 * kGiB);  // umT5 no longer next to the DiT and the VAE workspace
  MemoryMode tiled = on_demand;
  tiled.vae_tiled_decode = true;
  const auto t = estimate_memory(w, r, tiled, 1);
  CHECK(t.phase_bytes("VAE decode") < od.phase_bytes("VAE decode") - 5 * kGiB);
  CHECK(t.phase_bytes("DiT sampling") == Approx(od.phase_bytes("DiT sampling")));

  // K resident blocks: every phase holds K blocks and the two slots.
  MemoryMode offload = tiled;
  offload.resident_blocks = 10;
  const auto o = estimate_memory(w, r, offload, 1);
  const double block = dit_bytes(WeightDtype::bf16).block;
  CHECK(t.peak_bytes - o.peak_bytes == Approx(28 * block));  // 30 streamed, 2 of them in slots
  CHECK(o.host_pinned_bytes == Approx(30 * block));
  CHECK(o.streamed_bytes_per_forward == Approx(30 * block));
  CHECK(o.dit_device_bytes == Approx(dit_bytes(WeightDtype::bf16).non_block + 12 * block));

  // FP8 halves the blocks; its activations carry the quantised GEMM input; int8 adds a dequantised block.
  MemoryMode fp8 = offload, int8 = offload;
  fp8.dtype = WeightDtype::fp8;
  int8.dtype = WeightDtype::int8;
  const auto f = estimate_memory(w, r, fp8, 1), i = estimate_memory(w, r, int8, 1);
  CHECK(f.dit_device_bytes < o.dit_device_bytes * 0.6);
  CHECK(f.phase_bytes("DiT sampling") - f.dit_device_bytes ==
        Approx(o.phase_bytes("DiT sampling") - o.dit_device_bytes + 32760.0 * (13824 + 4)));
  CHECK(i.phase_bytes("DiT sampling") - f.phase_bytes("DiT sampling") ==
        Approx(dit_bytes(WeightDtype::int8).dequant_workspace - 32760.0 * (13824 + 4)));

  MemoryMode cpu_text = all;
  cpu_text.text_encoder_on_gpu = false;
  CHECK(estimate_memory(w, r, cpu_text, 1).phase_bytes("umT5") == 0);
}

TEST_CASE("resident_blocks_within: the most blocks that fit, never 38 or 39") {
  const Rates r = h100();
  const Workload w = job(Resolution::p480, 832, 480);
  MemoryMode mode = resident();
  mode.encoders_on_demand = true;
  mode.vae_tiled_decode = true;
  mode.resident_blocks = 0;
  const double least = estimate_memory(w, r, mode, 1).peak_bytes;
  const double block = dit_bytes(WeightDtype::bf16).block;
  CHECK_FALSE(resident_blocks_within(w, r, mode, 1, least - 1));
  CHECK(resident_blocks_within(w, r, mode, 1, least) == 0);
  for (double budget = least; budget < least + 42 * block; budget += 0.37 * block) {
    const auto k = resident_blocks_within(w, r, mode, 1, budget);
    REQUIRE(k);
    MemoryMode with_k = mode, with_more = mode;
    with_k.resident_blocks = *k;
    with_more.resident_blocks = *k + 1;
    INFO("budget " << budget / kGiB << " GiB, K " << *k);
    CHECK(estimate_memory(w, r, with_k, 1).peak_bytes <= budget);
    CHECK((*k == 40 || *k <= 37));
    if (*k < 37) CHECK(estimate_memory(w, r, with_more, 1).peak_bytes > budget);
  }
}
