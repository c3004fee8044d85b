#include "support/catch_torch.hpp"  // first: see there

#include "pipeline/audio_windows.hpp"
#include "pipeline/conditioning.hpp"

using namespace talkgen::pipeline;

TEST_CASE("audio windows take frames i-2..i+2, clamped to the embedding") {
  // Row r holds the value r everywhere, so a window shows which rows it took.
  at::Tensor emb = at::arange(10, at::kFloat).view({10, 1, 1}).expand({10, 2, 3}).contiguous();
  at::Tensor w = audio_windows(emb, 0, 10);
  REQUIRE(w.sizes() == at::IntArrayRef({10, 5, 2, 3}));
  auto row = [&](int64_t frame) {
    std::vector<float> r;
    for (int64_t k = 0; k < 5; ++k) r.push_back(w[frame][k][1][2].item<float>());
    return r;
  };
  CHECK((row(0) == std::vector<float>{0, 0, 0, 1, 2}));
  CHECK((row(5) == std::vector<float>{3, 4, 5, 6, 7}));
  CHECK((row(9) == std::vector<float>{7, 8, 9, 9, 9}));
  at::Tensor late = audio_windows(emb, 8, 12);
  CHECK(late[3][0][0][0].item<float>() == 9);  // frame 11 -> rows 9, 9, 9, 9, 9
}

TEST_CASE("the end-of-audio extension appends reversed last rows") {
  at::Tensor emb = at::arange(6, at::kFloat).view({6, 1, 1});
  at::Tensor ext = extend_audio_embedding(emb, 3);
  REQUIRE(ext.size(0) == 9);
  CHECK(ext.flatten()[6].item<float>() == 5);
  CHECK(ext.flatten()[7].item<float>() == 4);
  CHECK(ext.flatten()[8].item<float>() == 3);
  CHECK(extend_audio_embedding(emb, 40).size(0) == 12);  // torch: emb[-40:] is the whole tensor
  CHECK(extend_audio_embedding(emb, 0).size(0) == 6);
}

TEST_CASE("first_frame_mask marks only the first frame, four mask channels per latent frame") {
  at::Tensor m = first_frame_mask(9, 2, 3);
  REQUIRE(m.sizes() == at::IntArrayRef({1, 4, 3, 2, 3}));
  CHECK(m.select(2, 0).min().item<float>() == 1);
  CHECK(m.narrow(2, 1, 2).max().item<float>() == 0);
}

TEST_CASE("condition image: uint8 RGB to [-1, 1], [1, 3, 1, H, W]") {
  talkgen::Image img;
  img.width = 2;
  img.height = 1;
  img.rgb = {0, 255, 51, 102, 204, 128};
  at::Tensor t = image_to_condition(img);
  REQUIRE(t.sizes() == at::IntArrayRef({1, 3, 1, 1, 2}));
  CHECK(t[0][0][0][0][0].item<float>() == -1.0f);
  CHECK(t[0][1][0][0][0].item<float>() == 1.0f);
  CHECK(t[0][2][0][0][1].item<float>() == Approx((128.0 / 255 - 0.5) * 2).margin(1e-6));
  at::Tensor video = padded_condition_video(t, 5);
  CHECK(video.sizes() == at::IntArrayRef({1, 3, 5, 1, 2}));
  CHECK(video.narrow(2, 1, 4).abs().max().item<float>() == 0);
  at::Tensor y = make_y(first_frame_mask(5, 1, 2), at::ones({1, 16, 2, 1, 2}));
  CHECK(y.sizes() == at::IntArrayRef({1, 20, 2, 1, 2}));
}
