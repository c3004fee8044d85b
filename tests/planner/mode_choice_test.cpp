// The mode choice per GPU type and cap (issue 19 section 4): resident bf16 where it fits, block offload /
// FP8 / int8 on small GPUs, out_of_memory naming the smallest cap, fp8 refused without FP8 tensor cores.
#include <catch2/catch.hpp>

#include "planner/memory_model.hpp"
#include "planner/mode_choice.hpp"
#include "planner/option_model.hpp"
#include "talkgen/error.hpp"
#include "talkgen/planner.hpp"

using namespace talkgen;

namespace {

// A 480p draft job of 81 frames (one chunk), as in the measurements.
PlanRequest job(const std::string& gpu, Resolution resolution = Resolution::p480) {
  PlanRequest r;
  r.duration_seconds = 3.24;
  r.quality = Quality::draft;
  r.resolution = resolution;
  r.gpu_type = gpu;
  r.gpus_available = 1;
  r.use_calibration = false;
  r.include_model_load = false;
  return r;
}

ErrorCode code_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return ErrorCode::ok;
}

PlanOption one_gpu(const PlanRequest& r) { return evaluate_plan(r).options.at(0); }

}  // namespace

TEST_CASE("H100: resident bf16 with every model loaded") {
  const PlanOption o = one_gpu(job("H100"));
  CHECK(o.fits);
  CHECK(o.mode.dtype == WeightDtype::bf16);
  CHECK_FALSE(o.mode.offloaded());
  CHECK(o.mode.resident_blocks == 40);
  CHECK_FALSE(o.mode.encoders_on_demand);
  CHECK(o.mode.text_encoder_on_gpu);
  CHECK_FALSE(o.mode.vae_tiled_decode);
  CHECK(o.streamed_gib_per_forward == 0);
  CHECK(o.host_pinned_gib == 0);
  CHECK(describe(o.mode) == "bf16 resident");
  // The measured whole-job peak of a 480p job is 57.5 GiB (square portrait); 480x832 here.
  CHECK(o.peak_vram_gib == Approx(57.5).epsilon(0.02));
  CHECK(o.memory_gib_per_gpu == Approx(o.peak_vram_gib + planner::kCudaContextGiB));
}

TEST_CASE("RTX 4090, 480p: bf16 with block offload, within 22 GiB, streaming hidden behind compute") {
  const PlanOption o = one_gpu(job("RTX 4090"));
  INFO(describe(o.mode) << ", peak " << o.peak_vram_gib << " GiB in " << o.peak_phase);
  REQUIRE(o.fits);
  CHECK(o.mode.dtype == WeightDtype::bf16);  // auto keeps bf16 while a bf16 mode fits
  CHECK(o.mode.offloaded());
  CHECK(o.mode.resident_blocks > 0);
  CHECK(o.mode.resident_blocks <= 37);
  CHECK(o.peak_vram_gib <= 22.0);
  CHECK(o.memory_gib_per_gpu <= find_gpu_type("RTX 4090")->memory_gib);
  CHECK(o.streamed_gib_per_forward == Approx(o.mode.streamed_blocks() * 0.865).epsilon(0.01));
  // A 4090 computes a 480p block in ~0.8 s and copies it in 37 ms: the forward is its compute alone.
  PlanRequest resident_compute = job("RTX 4090");
  resident_compute.max_vram_gib = 1000;  // not a limit: the 4090's own memory still is
  const auto rates = planner::make_rates(find_gpu_type("RTX 4090"), std::nullopt, "RTX 4090");
  const auto w = planner::describe_workload(3.24, quality_settings(Quality::draft, Resolution::p480), Resolution::p480);
  planner::OptionShape all_resident{1, MemoryMode{}};
  CHECK(o.seconds_per_forward == Approx(planner::forward_time(w, rates, all_resident).compute).epsilon(1e-6));

  // Asking for fp8: FP8 GEMMs on the 4090's sm_89, faster, and fewer blocks to stream.
  PlanRequest fp8 = job("RTX 4090");
  fp8.dtype = WeightDtype::fp8;
  const PlanOption f = one_gpu(fp8);
  REQUIRE(f.fits);
  CHECK(f.mode.dtype == WeightDtype::fp8);
  CHECK(f.seconds_per_forward < o.seconds_per_forward * 0.85);
  CHECK(f.mode.resident_blocks > o.mode.resident_blocks);
}

TEST_CASE("RTX 4090, 720p: fits within 22 GiB") {
  const PlanOption o = one_gpu(job("RTX 4090", Resolution::p720));
  INFO(describe(o.mode) << ", peak " << o.peak_vram_gib << " GiB in " << o.peak_phase);
  CHECK(o.fits);
  CHECK(o.peak_vram_gib <= 22.0);
}

TEST_CASE("a 12 GiB cap on a 4090: offload with a few resident blocks, within the cap") {
  PlanRequest r = job("RTX 4090");
  r.max_vram_gib = 12.0;
  const PlanOption o = one_gpu(r);
  INFO(describe(o.mode) << ", peak " << o.peak_vram_gib << " GiB in " << o.peak_phase);
  REQUIRE(o.fits);
  CHECK(o.peak_vram_gib <= 12.0);
  CHECK(o.mode.offloaded());
  CHECK(o.mode.resident_blocks < 10);
  CHECK(o.mode.encoders_on_demand);
  // With bf16 forced, a tighter cap never gives a faster job, nor more resident blocks for the same umT5
  // placement (moving umT5 to the CPU frees room for blocks: at 14 GiB umT5 still fits beside none, at 12
  // it runs on the CPU and 4 fit).
  PlanRequest bf16 = job("RTX 4090");
  bf16.dtype = WeightDtype::bf16;
  PlanOption previous = one_gpu(bf16);
  for (double cap : {20.0, 16.0, 14.0, 12.0, 11.0, 10.0, 9.0, 8.5}) {
    bf16.max_vram_gib = cap;
    const PlanOption c = one_gpu(bf16);
    INFO("cap " << cap << ": " << describe(c.mode) << ", " << c.seconds << " s");
    REQUIRE(c.fits);
    CHECK(c.peak_vram_gib <= cap);
    if (c.mode.text_encoder_on_gpu == previous.mode.text_encoder_on_gpu)
      CHECK(c.mode.resident_blocks <= previous.mode.resident_blocks);
    CHECK(c.seconds >= previous.seconds * (1 - 1e-9));
    previous = c;
  }
}

TEST_CASE("a cap no mode fits is out_of_memory naming the smallest cap, which then works") {
  PlanRequest r = job("RTX 4090");
  r.max_vram_gib = 3.0;
  std::string message;
  REQUIRE(code_of([&] { plan(r); }, &message) == ErrorCode::out_of_memory);
  INFO(message);
  CHECK(message.find("the cap is 3.0 GiB") != std::string::npos);
  const auto at = message.find("--max-vram ");
  REQUIRE(at != std::string::npos);
  const double named = std::stod(message.substr(at + 11));
  CHECK(named > 3.0);
  CHECK(named < 12.0);
  // The named cap works; a tenth of a GiB less does not.
  r.max_vram_gib = named;
  const Plan p = plan(r);
  CHECK(p.options.at(0).fits);
  CHECK(p.options.at(0).mode.resident_blocks == 0);
  r.max_vram_gib = named - 0.1;
  CHECK(code_of([&] { plan(r); }) == ErrorCode::out_of_memory);
  // The same cap with bf16 forced names a larger minimum, and says that auto would need less.
  r.max_vram_gib = named;
  r.dtype = WeightDtype::bf16;
  CHECK(code_of([&] { plan(r); }, &message) == ErrorCode::out_of_memory);
  CHECK(message.find("--dtype auto") != std::string::npos);
}

TEST_CASE("fp8 on a GPU without FP8 tensor cores is unsupported, naming int8 and bf16") {
  for (const char* gpu : {"A10", "RTX 3090", "A100-80GB"}) {
    PlanRequest r = job(gpu);
    r.dtype = WeightDtype::fp8;
    std::string message;
    CHECK(code_of([&] { evaluate_plan(r); }, &message) == ErrorCode::unsupported);
    INFO(message);
    CHECK(message.find("FP8 tensor cores") != std::string::npos);
    CHECK(message.find("--dtype int8") != std::string::npos);
    CHECK(message.find("bf16") != std::string::npos);
    CHECK(message.find(find_gpu_type(gpu)->name) != std::string::npos);
    // int8 works there.
    r.dtype = WeightDtype::int8;
    const PlanOption o = one_gpu(r);
    CHECK(o.mode.dtype == WeightDtype::int8);
  }
}

TEST_CASE("auto picks a quantised format only when no bf16 mode fits") {
  // 7.2 GiB on a 4090: bf16's least (non-block weights, two 0.87 GiB slots, the VAE encode) does not fit;
  // FP8's (two 0.45 GiB slots) does.
  PlanRequest r = job("RTX 4090");
  r.max_vram_gib = 7.2;
  const PlanOption o = one_gpu(r);
  INFO(describe(o.mode) << ", peak " << o.peak_vram_gib);
  REQUIRE(o.fits);
  CHECK(o.mode.dtype == WeightDtype::fp8);  // the faster of fp8 and int8 on an sm_89 GPU
  PlanRequest bf16 = r;
  bf16.dtype = WeightDtype::bf16;
  CHECK_FALSE(one_gpu(bf16).fits);
  // On the A10 (no FP8) the quantised choice is int8.
  PlanRequest a10 = job("A10");
  a10.max_vram_gib = r.max_vram_gib;
  const PlanOption q = one_gpu(a10);
  REQUIRE(q.fits);
  CHECK(q.mode.dtype == WeightDtype::int8);
}

TEST_CASE("plan_each_gpu_type: every built-in type, its mode, peak and time") {
  const auto rows = plan_each_gpu_type(job("H100"));
  REQUIRE(rows.size() == known_gpu_types().size());
  for (const auto& row : rows) {
    INFO(row.gpu_type << ": " << describe(row.mode) << ", peak " << row.peak_vram_gib << " GiB, " << row.why_not);
    CHECK(row.fits);  // a 480p draft job runs on every type in the catalogue
    CHECK(row.memory_gib <= row.gpu_memory_gib);
    CHECK(row.seconds > 0);
    CHECK(row.why_not.empty());
  }
  auto row_of = [&](const std::string& name) {
    for (const auto& row : rows)
      if (row.gpu_type == name) return row;
    FAIL("no row " << name);
    return GpuTypeMode{};
  };
  CHECK_FALSE(row_of("H100").mode.offloaded());
  CHECK_FALSE(row_of("H200").mode.offloaded());
  CHECK(row_of("RTX 4090").mode.offloaded());
  CHECK(row_of("RTX 4060 Ti 16GB").peak_vram_gib <= 14.5);
  CHECK(row_of("RTX 4060 Ti 16GB").seconds > row_of("RTX 4090").seconds);

  PlanRequest fp8 = job("H100");
  fp8.dtype = WeightDtype::fp8;
  for (const auto& row : plan_each_gpu_type(fp8)) {
    const bool has_fp8 = find_gpu_type(row.gpu_type)->has_fp8();
    INFO(row.gpu_type << ": " << row.why_not);
    CHECK(row.fits == has_fp8);
    if (!has_fp8) CHECK(row.why_not.find("--dtype int8") != std::string::npos);
    if (has_fp8) CHECK(row.mode.dtype == WeightDtype::fp8);
  }
}

TEST_CASE("max_vram_gib and dtype names are checked") {
  PlanRequest r = job("H100");
  for (double bad : {0.0, -1.0, std::nan("")}) {
    r.max_vram_gib = bad;
    CHECK(code_of([&] { evaluate_plan(r); }) == ErrorCode::invalid_argument);
  }
  CHECK(parse_weight_dtype("FP8") == WeightDtype::fp8);
  CHECK(parse_weight_dtype("auto") == WeightDtype::automatic);
  CHECK(parse_weight_dtype("int8") == WeightDtype::int8);
  CHECK(parse_weight_dtype("bf16") == WeightDtype::bf16);
  std::string message;
  CHECK(code_of([&] { parse_weight_dtype("fp4"); }, &message) == ErrorCode::invalid_argument);
  CHECK(message.find("auto, bf16, fp8 or int8") != std::string::npos);
  CHECK(std::string(to_string(WeightDtype::automatic)) == "auto");
}

TEST_CASE("the planner's streamed forward replays the offload scheduler's policy") {
  // The same worked numbers as tests/distributed/block_offload_test.cpp's replay of make_schedule().
  using planner::streamed_forward_seconds;
  CHECK(streamed_forward_seconds(40, 10, 1.0, 0.5) == Approx(40.0));
  CHECK(streamed_forward_seconds(40, 0, 1.0, 0.5) == Approx(40.5));
  CHECK(streamed_forward_seconds(40, 40, 1.0, 0.5) == Approx(40.0));
  CHECK(streamed_forward_seconds(40, 0, 1.0, 3.0) == Approx(121.0));
  CHECK(streamed_forward_seconds(40, 20, 1.0, 3.0) == Approx(61.0));
  CHECK(streamed_forward_seconds(40, 37, 1.0, 3.0) == Approx(42.0));
  CHECK(streamed_forward_seconds(40, 35, 1.0, 10.0) == Approx(57.0));
  CHECK(streamed_forward_seconds(40, 5, 1.0, 1.1) == Approx(42.7));
}

TEST_CASE("the catalogue: new types, FP8 only on sm_89 / sm_90, names as CUDA reports them") {
  for (const auto& spec : known_gpu_types()) {
    INFO(spec.name);
    CHECK(spec.peak_bf16_tflops > 0);
    CHECK(spec.memory_gib > 0);
    CHECK(spec.memory_bandwidth_gbps > 0);
    CHECK(spec.host_link_gbps > 0);
    CHECK_FALSE(spec.host_link.empty());
    CHECK(spec.has_fp8() == (spec.sm >= 89));
    if (spec.has_fp8()) CHECK(spec.peak_fp8_tflops == Approx(2 * spec.peak_bf16_tflops).epsilon(0.03));
    CHECK(PriceTable::defaults().find(spec.name));
  }
  CHECK(find_gpu_type("NVIDIA GeForce RTX 3090")->name == "RTX 3090");
  CHECK(find_gpu_type("NVIDIA GeForce RTX 4080")->name == "RTX 4080");
  CHECK(find_gpu_type("NVIDIA GeForce RTX 4060 Ti")->name == "RTX 4060 Ti 16GB");
  CHECK_FALSE(find_gpu_type("NVIDIA GeForce RTX 4060 Ti 8GB"));
  CHECK(find_gpu_type("NVIDIA L4")->name == "L4");
  CHECK(find_gpu_type("NVIDIA L40S")->name == "L40S");
  CHECK_FALSE(find_gpu_type("NVIDIA L40"));
  CHECK(find_gpu_type("NVIDIA A10")->name == "A10");
  CHECK(find_gpu_type("NVIDIA A100-SXM4-80GB")->name == "A100-80GB");
  CHECK_FALSE(find_gpu_type("NVIDIA A10G"));
  CHECK(find_gpu_type("RTX 4060 Ti 16GB")->host_link == "PCIe 4.0 x8");
  CHECK(find_gpu_type("H100")->sm == 90);
  CHECK(find_gpu_type("A10")->sm == 86);
}
