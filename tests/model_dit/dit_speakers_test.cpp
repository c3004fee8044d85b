// Two speakers (InfiniteTalk's human_num = 2): parity with the reference (tools/parity/gen_dit.py's
// io_2p.safetensors), the pieces of the speaker routing (masks on the patch grid, the speaker map, the
// positions, 1-D RoPE), input validation, and sequence parallelism.
#include "dit_test_util.hpp"  // first: see there

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "model/dit/dit_checkpoint.hpp"
#include "model/dit/dit_speakers.hpp"
#include "distributed/distributed_runner.hpp"

namespace fs = std::filesystem;
using namespace talkgen;
using namespace talkgen::model;
using namespace talkgen::model::dit;

namespace {

fs::path parity_file(const std::string& name) {
  const char* env = std::getenv("TALKGEN_DIT_PARITY_DIR");
  const auto p = (env ? fs::path(env) : fs::path(TALKGEN_TEST_DATA_DIR) / "parity" / "dit") / name;
  if (!fs::exists(p))
    FAIL("DiT parity data missing: " << p.string()
                                     << "\n  generate it with: /usr/bin/python3 tools/parity/gen_dit.py --ref "
                                        ".ref/infinitetalk --two-person-only");
  return p;
}

std::shared_ptr<DitModel> parity_model() {
  const auto config = DitConfig::from_json_file(parity_file("config.json").string());
  DitCheckpointPaths paths;
  paths.base = parity_file("diffusion_pytorch_model.safetensors.index.json").string();
  paths.infinitetalk = parity_file("infinitetalk.safetensors").string();
  return load_dit(config, paths, at::kFloat, at::kCPU);
}

DitInputs read_two_person_inputs(const io::TensorSource& io) {
  DitInputs in = test::read_reference_inputs(io);
  in.audio = in.audio.unsqueeze(0);  // reference [persons, frames, ...] -> [B=1, persons, frames, ...]
  in.ref_target_masks = io.read("ref_target_masks");
  return in;
}

double scale_of(const at::Tensor& t) { return std::max(1.0, t.abs().max().item<double>()); }

// Two speakers on random inputs: person 1 on the left of the latent image, person 2 on the right.
DitInputs two_speaker_inputs(const DitConfig& c, int64_t frames, int64_t h, int64_t w, uint64_t seed) {
  auto in = test::random_inputs(c, frames, h, w, seed);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed + 1);
  in.audio = at::cat({in.audio, at::randn(in.audio.sizes(), gen, at::TensorOptions().dtype(at::kFloat))}, 1);
  auto masks = at::zeros({3, h, w});
  masks[0].narrow(1, 0, w / 2).fill_(1);
  masks[1].narrow(1, w / 2, w - w / 2).narrow(0, 0, h / 2).fill_(1);  // top right only: unequal areas
  masks[2] = (masks[0] + masks[1] == 0).to(at::kFloat);
  in.ref_target_masks = masks;
  return in;
}

template <typename F>
void expect_error(F&& f, ErrorCode code, const std::string& needle) {
  try {
    f();
    FAIL("expected an error mentioning '" << needle << "'");
  } catch (const Error& e) {
    INFO(e.what());
    CHECK(e.code() == code);
    CHECK(std::string(e.what()).find(needle) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("two-speaker DiT forward matches the reference (fp32)", "[dit][parity][speakers]") {
  const auto model = parity_model();
  const auto io = io::open_checkpoint(parity_file("io_2p.safetensors").string());
  const auto in = read_two_person_inputs(*io);
  const auto ref = io->read("out");
  for (const auto& speed : {DitSpeedOptions::fast(), DitSpeedOptions::plain()}) {
    test::set_speed(*model, speed);
    const auto out = model->forward(in);
    REQUIRE(out.sizes() == ref.sizes());
    const double err = test::max_abs_diff(out, ref);
    INFO(speed.describe() << ": max abs error " << err << ", reference scale " << scale_of(ref));
    CHECK(err <= 1e-4 * scale_of(ref));
    WARN("two speakers, " << speed.describe() << ": max abs error " << err);
  }
  test::set_speed(*model, DitSpeedOptions::fast());

  // The masks matter: swapping the two persons' boxes moves the output well past the tolerance (so the
  // parity above cannot pass with the routing ignored).
  auto swapped = in;
  swapped.ref_target_masks = at::stack({in.ref_target_masks[1], in.ref_target_masks[0], in.ref_target_masks[2]});
  CHECK(test::max_abs_diff(model->forward(swapped), ref) > 1e-2 * scale_of(ref));
  // ... and so does the second person's audio.
  auto one_voice = in;
  one_voice.audio = in.audio.clone();
  one_voice.audio.select(1, 1).zero_();
  CHECK(test::max_abs_diff(model->forward(one_voice), ref) > 1e-2 * scale_of(ref));
}

TEST_CASE("one speaker ignores ref_target_masks, as the reference", "[dit][speakers]") {
  auto c = DitConfig::tiny();
  DitModel model(c, at::TensorOptions().dtype(at::kFloat));
  randomize_parameters(model, 41);
  auto in = test::random_inputs(c, 2, 4, 6, 9);
  const auto plain = model.forward(in);
  in.ref_target_masks = at::ones({3, 4, 6});  // what multitalk.py passes for one person
  CHECK(at::equal(model.forward(in), plain));
  in.ref_target_masks = at::zeros({7});  // even nonsense: never read for one speaker
  CHECK(at::equal(model.forward(in), plain));
}

TEST_CASE("ref_target_masks are cut to the patch grid like F.interpolate(nearest)", "[dit][speakers]") {
  // 5 x 7 latent-resolution masks onto a 2 x 3 grid: rows floor(i * 2.5) = 0, 2; cols floor(j * 7/3) = 0, 2, 4.
  auto m = at::zeros({3, 5, 7});
  m[0][0][0] = 1;       // kept: (0, 0)
  m[0][1][1] = 1;       // dropped: row 1 is never sampled
  m[1][2][4] = 0.25;    // kept: (1, 2), any non-zero counts
  m[2].fill_(1);
  const auto r = SpeakerRouting::from_masks(m, 2, 2, 3, at::kCPU);
  REQUIRE(r.masks.sizes() == at::IntArrayRef{3, 6});
  CHECK(at::equal(r.masks[0], at::tensor({1.f, 0.f, 0.f, 0.f, 0.f, 0.f})));
  CHECK(at::equal(r.masks[1], at::tensor({0.f, 0.f, 0.f, 0.f, 0.f, 1.f})));
  CHECK(at::equal(r.counts, at::tensor({1.f, 1.f, 6.f})));

  // An empty background row is dropped (every token then goes to a person).
  m[2].zero_();
  CHECK(SpeakerRouting::from_masks(m, 2, 2, 3, at::kCPU).rows() == 2);
  // A person whose box misses every sampled pixel is an error.
  m[0].zero_();
  m[0][1][1] = 1;
  expect_error([&] { SpeakerRouting::from_masks(m, 2, 2, 3, at::kCPU); }, ErrorCode::invalid_argument,
               "person 1's mask");
}

TEST_CASE("the speaker map sends each token to the person its attention lands on", "[dit][speakers]") {
  // A 3 x 4 reference frame; person 1 = left column pair, person 2 = top-right 2 x 2, background = rest.
  auto masks = at::zeros({3, 3, 4});
  masks[0].narrow(1, 0, 2).fill_(1);
  masks[1].narrow(0, 0, 2).narrow(1, 2, 2).fill_(1);
  masks[2] = (masks[0] + masks[1] == 0).to(at::kFloat);
  const auto routing = SpeakerRouting::from_masks(masks, 2, 3, 4, at::kCPU);
  // Queries of 2 frames x 12 tokens, each attending (almost) only to its own spatial position in frame 0:
  // one-hot keys, queries 30 x one-hot, in 2 heads of 16.
  const int64_t hw = 12, tokens = 2 * hw;
  auto k_ref = at::zeros({1, 2, hw, 16});
  auto q = at::zeros({1, 2, tokens, 16});
  for (int64_t i = 0; i < tokens; ++i)
    for (int64_t head = 0; head < 2; ++head) {
      if (i < hw) k_ref[0][head][i][i] = 1;
      q[0][head][i][i % hw] = 30;
    }
  const auto map = speaker_map_mean(speaker_map_per_head(q, k_ref, routing));  // [1, 24, 3]
  const auto pos = speaker_positions(map, at::kFloat);
  const auto flat = masks.reshape({3, hw});
  for (int64_t i = 0; i < tokens; ++i) {
    const int64_t s = i % hw;
    const double want = flat[0][s].item<double>() ? 4.0 : flat[1][s].item<double>() ? 24.0 : 12.0;
    INFO("token " << i);
    CHECK(pos[0][i].item<double>() == Approx(want).margin(1e-4));
  }
}

TEST_CASE("speaker positions: min-max per person into its band, argmax over the columns", "[dit][speakers]") {
  // 4 tokens, columns (person 1, person 2, background).
  const auto map = at::tensor({0.5f, 0.1f, 0.0f,    //
                               0.3f, 0.2f, 0.0f,    //
                               0.1f, 0.6f, 0.2f,    //
                               0.0f, 0.1f, 0.9f})
                       .reshape({1, 4, 3});
  const auto pos = speaker_positions(map, at::kFloat)[0];
  const double eps = 1e-8;
  CHECK(pos[0].item<double>() == Approx(4.0 * 0.5 / (0.5 + eps)));
  CHECK(pos[1].item<double>() == Approx(4.0 * 0.3 / (0.5 + eps)));
  CHECK(pos[2].item<double>() == Approx(20.0 + 4.0 * 0.5 / (0.5 + eps)));
  CHECK(pos[3].item<double>() == 12.0);
  // Rounded to the model dtype: bf16 steps by 1/8 between 16 and 32.
  const auto odd = speaker_positions(at::tensor({0.f, 0.f, 0.f, 0.f, 0.1f, 0.f, 0.f, 0.3f, 0.f}).reshape({1, 3, 3}),
                                     at::kBFloat16);
  CHECK(odd[0][0].item<double>() == 0.0);     // all columns equal: argmax takes the first (person 1), its minimum
  CHECK(odd[0][1].item<double>() == 21.375);  // 20 + 4/3 = 21.333.. -> nearest multiple of 1/8
}

TEST_CASE("1-D RoPE rotates interleaved pairs, scores depend on relative positions", "[dit][speakers]") {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const auto q = at::randn({1, 1, 2, 8}, gen, at::TensorOptions().dtype(at::kFloat));
  const auto k = at::randn({1, 1, 2, 8}, gen, at::TensorOptions().dtype(at::kFloat));
  CHECK(at::allclose(rope_1d(q, at::zeros({1})), q));
  // Pair 0 turns by pos * 1 rad: (a, b) -> (a cos - b sin, b cos + a sin).
  const auto r = rope_1d(q, at::full({1}, 0.5));
  const double a = q[0][0][0][0].item<double>(), b = q[0][0][0][1].item<double>();
  CHECK(r[0][0][0][0].item<double>() == Approx(a * std::cos(0.5) - b * std::sin(0.5)));
  CHECK(r[0][0][0][1].item<double>() == Approx(b * std::cos(0.5) + a * std::sin(0.5)));
  const auto score = [&](double pq, double pk) {
    return (rope_1d(q, at::full({1}, pq)) * rope_1d(k, at::full({1}, pk))).sum().item<double>();
  };
  CHECK(score(3.0, 2.0) == Approx(score(21.5, 20.5)).epsilon(1e-4));
  CHECK(audio_key_positions(2, 3, at::kCPU).equal(at::tensor({2.f, 2.f, 2.f, 22.f, 22.f, 22.f})));
}

TEST_CASE("two-speaker inputs are validated", "[dit][speakers]") {
  auto c = DitConfig::tiny();
  DitModel model(c, at::TensorOptions().dtype(at::kFloat));
  randomize_parameters(model, 43);
  const auto good = two_speaker_inputs(c, 2, 4, 6, 11);
  REQUIRE_NOTHROW(model.check_inputs(good));

  auto in = good;
  in.ref_target_masks = at::Tensor();
  expect_error([&] { model.check_inputs(in); }, ErrorCode::invalid_argument, "need ref_target_masks");
  in.ref_target_masks = at::ones({4, 4, 6});
  expect_error([&] { model.check_inputs(in); }, ErrorCode::invalid_argument, "expected [2 or 3, H, W]");
  in.ref_target_masks = at::ones({3, 24});
  expect_error([&] { model.check_inputs(in); }, ErrorCode::invalid_argument, "expected [2 or 3, H, W]");
  in.ref_target_masks = good.ref_target_masks.clone();
  in.ref_target_masks[1].zero_();
  expect_error([&] { model.check_inputs(in); }, ErrorCode::invalid_argument, "person 2's mask");

  in = good;
  in.audio = at::cat({good.audio, good.audio.narrow(1, 0, 1)}, 1);  // 3 speakers
  expect_error([&] { model.check_inputs(in); }, ErrorCode::unsupported, "3 speakers");

  // Conditions whose audio tokens are not whole speakers.
  auto cond = model.embed_conditions(good);
  cond.audio = cond.audio.narrow(2, 0, c.audio_context_tokens + 1);
  expect_error([&] { model.forward_embedded(good, cond); }, ErrorCode::invalid_argument, "tokens per frame");
}

TEST_CASE("two-speaker conditions embedded once equal the whole forward, the person's audio moves it",
          "[dit][speakers]") {
  auto c = DitConfig::tiny();
  DitModel model(c, at::TensorOptions().dtype(at::kFloat));
  randomize_parameters(model, 47);
  const auto in = two_speaker_inputs(c, 3, 4, 6, 13);
  const auto out = model.forward(in);
  REQUIRE(at::isfinite(out).all().item<bool>());
  CHECK(at::equal(model.forward_embedded(in, model.embed_conditions(in)), out));
  // Batched: a batch of two equals the samples one by one (map and positions are per sample).
  auto other = two_speaker_inputs(c, 3, 4, 6, 17);
  other.ref_target_masks = in.ref_target_masks;  // shared by the batch
  DitInputs both = in;
  both.x = at::cat({in.x, other.x});
  both.y = at::cat({in.y, other.y});
  both.t = at::cat({in.t, other.t});
  both.context = at::cat({in.context, other.context});
  both.clip_fea = at::cat({in.clip_fea, other.clip_fea});
  both.audio = at::cat({in.audio, other.audio});
  const auto batched = model.forward(both);
  CHECK(test::max_abs_diff(batched.slice(0, 0, 1), out) < 1e-5);
  CHECK(test::max_abs_diff(batched.slice(0, 1, 2), model.forward(other)) < 1e-5);
}

TEST_CASE("sequence-parallel two-speaker forward equals the one-rank forward", "[dit][speakers][distributed]") {
  auto c = DitConfig::tiny();
  c.dim = 80;  // 5 heads of 16: divides by no world size, and odd (the map leaves the last head out)
  c.num_heads = 5;
  c.validate();
  DitModel model(c, at::TensorOptions().dtype(at::kFloat));
  randomize_parameters(model, 53);
  // 3 latent frames of 2 x 5 tokens: L = 30; shards start mid-frame at world 4, the last one padded.
  const auto in = two_speaker_inputs(c, 3, 4, 10, 19);
  const auto reference = model.forward(in);
  REQUIRE(reference.abs().max().item<double>() > 0.1);
  for (int world : {2, 4}) {
    DistributedOptions opts;
    opts.devices = cpu_devices(world);
    opts.collective_timeout = std::chrono::seconds(60);
    DistributedRunner runner(opts);
    std::vector<at::Tensor> outs(world);
    runner.run_ranks([&](RankContext& rank) { outs[rank.rank] = model.forward(in, &rank.comm); });
    for (int r = 0; r < world; ++r) {
      INFO("world " << world << ", rank " << r);
      REQUIRE(outs[r].defined());
      CHECK(test::max_abs_diff(outs[r], reference) <= 1e-5);
    }
  }
}
