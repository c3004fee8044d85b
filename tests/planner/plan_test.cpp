// plan(): options, feasibility, the choice under a budget or deadline, and the errors.
#include <filesystem>

#include <catch2/catch.hpp>

#include "talkgen/error.hpp"
#include "talkgen/planner.hpp"
#include "talkgen/version.hpp"

using namespace talkgen;

namespace {

PlanRequest request(const std::string& gpu, int gpus, double duration = 20.0) {
  PlanRequest r;
  r.duration_seconds = duration;
  r.quality = Quality::balanced;
  r.gpu_type = gpu;
  r.gpus_available = gpus;
  r.use_calibration = false;  // tests never read the user's cache
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

}  // namespace

TEST_CASE("one option per GPU count, time falls and cost rises with GPUs on an H100 host") {
  const Plan p = evaluate_plan(request("h100", 8));
  REQUIRE(p.options.size() == 8);
  CHECK(p.gpu_type == "H100");
  CHECK_FALSE(p.calibrated);
  CHECK(p.calibration_note.find("uncalibrated") != std::string::npos);
  CHECK(p.usd_per_gpu_hour == 4.50);
  for (size_t i = 0; i < p.options.size(); ++i) {
    const auto& o = p.options[i];
    CHECK(o.gpus == static_cast<int>(i + 1));
    CHECK(o.fits);
    CHECK(o.cost_usd == Approx(o.seconds * o.gpus * 4.50 / 3600));
    if (i > 0) {
      CHECK(o.seconds < p.options[i - 1].seconds);
      CHECK(o.cost_usd > p.options[i - 1].cost_usd);
    }
  }
  // 112 forwards on one H100, plus VAE, encoders and loading the weights. A forward is 4.61 s at the
  // reference's 40% of peak; the built-in figure is talkgen's own share (gpu_catalog.cpp).
  const double fraction = find_gpu_type("H100")->achieved_fraction;
  CHECK(p.options[0].times.sampling == Approx(112 * 4.61 * 0.40 / fraction).epsilon(0.02));
  CHECK(p.options[0].times.model_load > 0);
  REQUIRE(p.recommended_gpus);
}

TEST_CASE("without limits: the fastest option costing at most 25% more than the cheapest") {
  const Plan p = evaluate_plan(request("H100", 8));
  double cheapest = 1e9;
  for (const auto& o : p.options) cheapest = std::min(cheapest, o.cost_usd);
  int expected = 0;
  double best = 1e9;
  for (const auto& o : p.options)
    if (o.cost_usd <= 1.25 * cheapest && o.seconds < best) best = o.seconds, expected = o.gpus;
  CHECK(*p.recommended_gpus == expected);
  CHECK(expected > 1);  // the serial parts are small enough that some parallelism pays
}

TEST_CASE("a deadline picks the cheapest option that meets it") {
  const Plan free = evaluate_plan(request("H100", 8));
  // A deadline just above the 3-GPU time: 1 and 2 GPUs are too slow, 3 is the cheapest that makes it.
  auto r = request("H100", 8);
  r.deadline_seconds = free.options[2].seconds + 0.5;
  const Plan p = plan(r);
  CHECK(*p.recommended_gpus == 3);
  CHECK_FALSE(p.options[1].within_deadline);
  CHECK(p.options[1].why_not.find("deadline") != std::string::npos);
  CHECK(recommend_gpu_count(20.0, Quality::balanced, {std::nullopt, r.deadline_seconds}, r) == 3);
}

TEST_CASE("a budget picks the fastest option within it") {
  const Plan free = evaluate_plan(request("H100", 8));
  auto r = request("H100", 8);
  r.budget_usd = free.options[4].cost_usd + 1e-6;  // 5 GPUs just fit the budget, 6 do not
  const Plan p = plan(r);
  CHECK(*p.recommended_gpus == 5);
  CHECK_FALSE(p.options[5].within_budget);
  CHECK(p.options[5].why_not.find("budget") != std::string::npos);
}

TEST_CASE("no option meets the limits: invalid_argument naming the fastest and the cheapest") {
  const Plan free = evaluate_plan(request("H100", 8));
  auto r = request("H100", 8);
  r.deadline_seconds = free.options[7].seconds * 0.5;
  std::string message;
  CHECK(code_of([&] { plan(r); }, &message) == ErrorCode::invalid_argument);
  CHECK(message.find("deadline") != std::string::npos);
  CHECK(message.find("fastest takes") != std::string::npos);
  CHECK(message.find("on 8 H100") != std::string::npos);
  CHECK(message.find("the cheapest costs $") != std::string::npos);
  // evaluate_plan() still lists every option, with no recommendation.
  const Plan p = evaluate_plan(r);
  CHECK(p.options.size() == 8);
  CHECK_FALSE(p.recommended_gpus);

  auto both = request("H100", 8);
  both.budget_usd = free.options[0].cost_usd * 0.9;
  both.deadline_seconds = free.options[7].seconds + 1;
  CHECK(code_of([&] { plan(both); }, &message) == ErrorCode::invalid_argument);
  CHECK(message.find("deadline and the $") != std::string::npos);
}

TEST_CASE("an RTX 4090 runs the job by streaming blocks, or weight sharding over several") {
  const Plan p = plan(request("RTX 4090", 1));
  REQUIRE(p.recommended_gpus);
  const PlanOption& o = p.options[0];
  CHECK(o.fits);
  CHECK(o.mode.offloaded());
  CHECK(o.memory_gib_per_gpu <= find_gpu_type("RTX 4090")->memory_gib);
  CHECK(o.host_pinned_gib > 0);

  auto sharded = request("RTX 4090", 8);
  sharded.weight_sharding = true;
  const Plan s = evaluate_plan(sharded);
  CHECK_FALSE(s.options[0].weight_sharded);  // one GPU cannot shard
  for (const auto& option : s.options) {
    CHECK(option.fits);
    CHECK(option.memory_gib_per_gpu <= find_gpu_type("RTX 4090")->memory_gib);
    if (option.weight_sharded) CHECK(option.times.communication > 0);
  }
}

TEST_CASE("a GPU too small for any mode: out_of_memory naming the least memory, the types and counts that fit") {
  auto tiny = request("RTX 4090", 1);
  tiny.max_vram_gib = 2.0;
  std::string message;
  CHECK(code_of([&] { plan(tiny); }, &message) == ErrorCode::out_of_memory);
  CHECK(message.find("per GPU at the least") != std::string::npos);
  CHECK(message.find("raise the cap to at least") != std::string::npos);
  CHECK(code_of([&] { estimate_time(20.0, 1, Resolution::p480, Quality::draft, tiny); }) == ErrorCode::out_of_memory);
}

TEST_CASE("an L40S holds the DiT with umT5 moved off the GPU or a few blocks streamed") {
  const Plan p = evaluate_plan(request("L40S", 1));
  const PlanOption& o = p.options[0];
  CHECK(o.fits);
  CHECK(o.mode.dtype == WeightDtype::bf16);
  CHECK((o.mode.offloaded() || !o.mode.text_encoder_on_gpu || o.mode.encoders_on_demand));
  CHECK(o.memory_gib_per_gpu <= find_gpu_type("L40S")->memory_gib);
  // Forcing umT5 onto the GPU still fits (streaming more blocks) and is faster than on the CPU.
  auto gpu_text = request("L40S", 1), cpu_text = request("L40S", 1);
  gpu_text.text_encoder = TextEncoderPlacement::gpu;
  cpu_text.text_encoder = TextEncoderPlacement::cpu;
  const PlanOption g = evaluate_plan(gpu_text).options[0], c = evaluate_plan(cpu_text).options[0];
  CHECK(g.fits);
  CHECK(g.text_encoder_on_gpu);
  CHECK_FALSE(c.text_encoder_on_gpu);
  CHECK(g.times.encoders < c.times.encoders);
}

TEST_CASE("720p needs more memory and time than 480p") {
  auto r480 = request("H100", 1), r720 = request("H100", 1);
  r720.resolution = Resolution::p720;
  const Plan a = evaluate_plan(r480), b = evaluate_plan(r720);
  CHECK(b.workload.tokens == 75600);
  CHECK(b.options[0].memory_gib_per_gpu > a.options[0].memory_gib_per_gpu);
  CHECK(b.options[0].times.sampling > 2.3 * a.options[0].times.sampling);
}

TEST_CASE("estimate_time / estimate_cost agree with plan() and follow the price table") {
  auto hw = request("A100-80GB", 4);
  const double t = estimate_time(20.0, 4, Resolution::p480, Quality::quality, hw);
  const double c = estimate_cost(20.0, 4, Resolution::p480, Quality::quality, hw);
  CHECK(c == Approx(t * 4 * 3.50 / 3600));
  hw.quality = Quality::quality;
  CHECK(evaluate_plan(hw).options[3].seconds == Approx(t));
  hw.prices.set("A100-80GB", 1.0);
  CHECK(estimate_cost(20.0, 4, Resolution::p480, Quality::quality, hw) == Approx(t * 4 * 1.0 / 3600));
  // quality: 40 steps x 3 forwards vs balanced 8 x 2
  CHECK(t > 5 * estimate_time(20.0, 4, Resolution::p480, Quality::balanced, hw));
}

TEST_CASE("explicit sampler settings override the profile") {
  auto r = request("H100", 1);
  QualitySettings s;
  s.steps = 2, s.text_guidance = 1, s.audio_guidance = 1;
  r.settings = s;
  CHECK(evaluate_plan(r).workload.forwards == 7 * 2 * 1);
}

TEST_CASE("bad requests say what is wrong") {
  CHECK(code_of([&] { evaluate_plan(request("", 1)); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { evaluate_plan(request("H100", 0)); }) == ErrorCode::invalid_argument);
  CHECK(code_of([&] { evaluate_plan(request("H100", 1, -3)); }) == ErrorCode::invalid_argument);
  auto r = request("H100", 1);
  r.budget_usd = 0;
  CHECK(code_of([&] { evaluate_plan(r); }) == ErrorCode::invalid_argument);
  std::string message;
  CHECK(code_of([&] { evaluate_plan(request("Voodoo 3", 1)); }, &message) == ErrorCode::unsupported);
  CHECK(message.find("talkgen bench") != std::string::npos);
  CHECK_THROWS_AS(PriceTable::defaults().set("H100", -1), Error);
}

TEST_CASE("a calibration replaces the built-in rates") {
  const std::string dir = std::string(TALKGEN_TEST_SCRATCH_DIR) + "/planner_plan_calibration";
  std::filesystem::remove_all(dir);
  auto r = request("H100", 2);
  r.use_calibration = true;
  r.calibration_directory = dir;
  const Plan before = evaluate_plan(r);

  Calibration c;
  c.gpu_name = "NVIDIA H100 80GB HBM3";
  c.driver_version = "570.86.15";
  c.dit_tflops = 2 * 989.0 * find_gpu_type("H100")->achieved_fraction;  // twice the built-in figure
  c.gpus = 2;
  c.comm_gbps = 50;
  record_calibration(c, CalibrationStore(dir));
  const Plan after = evaluate_plan(r);
  CHECK(after.calibrated);
  CHECK(after.calibration_note.find("calibrated on NVIDIA H100") != std::string::npos);
  CHECK(after.options[0].times.sampling == Approx(before.options[0].times.sampling / 2));
  CHECK(after.options[1].times.communication > before.options[1].times.communication);  // 50 < 200 GB/s

  r.driver_version = "999.1";  // a calibration for another driver does not count
  CHECK_FALSE(evaluate_plan(r).calibrated);

  // A GPU type known only by its calibration: planned with its measured memory, once it has a price.
  Calibration other = c;
  other.gpu_name = "NVIDIA Imaginary X1";
  other.memory_bytes = 96LL << 30;
  record_calibration(other, CalibrationStore(dir));
  auto x1 = request("NVIDIA Imaginary X1", 1);
  x1.use_calibration = true;
  x1.calibration_directory = dir;
  CHECK(code_of([&] { evaluate_plan(x1); }) == ErrorCode::invalid_argument);  // no price yet
  x1.prices.set("NVIDIA Imaginary X1", 2.0);
  const Plan px = plan(x1);
  CHECK(px.gpu_memory_gib == Approx(96));
  CHECK(px.options[0].fits);
}

TEST_CASE("the effective all-to-all rate makes a calibrated plan reproduce the measured N-GPU forward") {
  // Measured on 2 H100s (benchmarks/RESULTS.md): 480x832, 81 frames, 3.315 s on 1 GPU, 1.862 s on 2.
  const double one = 3.315, two = 1.862;
  const std::int64_t tokens = 32760;
  const double gbps = effective_comm_gbps(tokens, 2, one, two);
  CHECK(gbps > 10);
  CHECK(gbps < 500);
  CHECK(effective_comm_gbps(tokens, 2, one, one / 2) == 0);  // a perfect split: nothing to price
  CHECK(effective_comm_gbps(tokens, 1, one, one) == 0);
  CHECK(effective_comm_gbps(tokens, 2, 0, two) == 0);
  // Slower N-GPU forwards mean a lower rate.
  CHECK(effective_comm_gbps(tokens, 2, one, two + 0.1) < gbps);

  const std::string dir = std::string(TALKGEN_TEST_SCRATCH_DIR) + "/planner_effective_comm";
  std::filesystem::remove_all(dir);
  auto r = request("H100", 2);
  r.use_calibration = true;
  r.calibration_directory = dir;
  const double tflop = evaluate_plan(r).workload.tflop_per_forward;  // 480p landscape: 32,760 tokens
  REQUIRE(evaluate_plan(r).workload.tokens == tokens);
  Calibration c;
  c.gpu_name = "NVIDIA H100 80GB HBM3";
  c.driver_version = "580.159.04";
  c.dit_tflops = tflop / one;
  c.measured_tokens = tokens;
  c.gpus = 2;
  c.comm_gbps = gbps;
  record_calibration(c, CalibrationStore(dir));
  const Plan p = evaluate_plan(r);
  REQUIRE(p.calibrated);
  const double forwards = static_cast<double>(p.workload.forwards);
  CHECK(p.options[0].times.sampling / forwards == Approx(one).epsilon(1e-6));
  CHECK((p.options[1].times.sampling + p.options[1].times.communication) / forwards == Approx(two).epsilon(1e-6));
}
