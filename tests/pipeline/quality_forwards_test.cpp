// The quality table lives in core (torch-free, shared with the planner); the pipeline's guidance decides
// which forwards actually run. The two must agree on how many, or plans would mis-cost jobs.
#include <ATen/ATen.h>
#undef CHECK
#include <catch2/catch.hpp>

#include "samplers/guidance.hpp"
#include "talkgen/generate.hpp"

using namespace talkgen;

TEST_CASE("QualitySettings::forwards_per_step agrees with the pipeline's guidance", "[pipeline][quality]") {
  for (double text : {0.0, 1.0, 1.0 + 1e-12, 1.5, 5.0}) {
    for (double audio : {0.0, 1.0, 1.0 - 1e-12, 2.0, 4.0}) {
      QualitySettings s;
      s.text_guidance = text;
      s.audio_guidance = audio;
      samplers::GuidanceConfig g;
      g.text_scale = text;
      g.audio_scale = audio;
      INFO("text " << text << ", audio " << audio);
      CHECK(s.forwards_per_step() == static_cast<int>(samplers::forwards_needed(g).size()));
    }
  }
  for (Quality q : {Quality::draft, Quality::balanced, Quality::quality}) {
    const QualitySettings s = quality_settings(q, Resolution::p480);
    samplers::GuidanceConfig g;
    g.text_scale = s.text_guidance;
    g.audio_scale = s.audio_guidance;
    CHECK(s.forwards_per_step() == static_cast<int>(samplers::forwards_needed(g).size()));
  }
}
