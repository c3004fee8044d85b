// The quality profiles of include/talkgen/generate.hpp: the one table the pipeline runs and the planner
// costs (torch-free, so the planner and bindings need no model code to read it).
#include <algorithm>
#include <cctype>
#include <cmath>

#include "talkgen/error.hpp"
#include "talkgen/generate.hpp"

namespace talkgen {

namespace {
// Python's math.isclose(value, 1.0) with its default relative tolerance, as the reference tests the scales
// (the pipeline's guidance, pipeline::forwards_needed, uses the same rule; a test checks they agree).
bool is_unit(double value) { return std::fabs(value - 1.0) <= 1e-9 * std::max(1.0, std::fabs(value)); }
}  // namespace

int QualitySettings::forwards_per_step() const {
  if (!is_unit(text_guidance)) return 3;   // cond, drop_text, uncond
  if (!is_unit(audio_guidance)) return 2;  // cond, drop_audio
  return 1;
}

QualitySettings quality_settings(Quality quality, Resolution resolution) {
  QualitySettings s;
  switch (quality) {
    case Quality::draft:  // README: distilled LoRA, text guidance 1, audio guidance 2, shift 2; lightx2v: 4 steps
      s = {4, 2.0, 1.0, 2.0, DistillLora::lightx2v};
      break;
    case Quality::balanced:  // the same LoRA at twice the steps (the README's 8-step setting)
      s = {8, 2.0, 1.0, 2.0, DistillLora::lightx2v};
      break;
    case Quality::quality:  // generate_infinitetalk.py defaults: 40 steps, shift 7 (480p) / 11 (720p), 5 / 4
      s = {40, resolution == Resolution::p720 ? 11.0 : 7.0, 5.0, 4.0, DistillLora::none};
      break;
  }
  return s;
}

Quality parse_quality(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n == "draft") return Quality::draft;
  if (n == "balanced") return Quality::balanced;
  if (n == "quality") return Quality::quality;
  fail(ErrorCode::invalid_argument, "unknown quality '{}'; expected draft, balanced or quality", name);
}

const char* to_string(Quality quality) noexcept {
  switch (quality) {
    case Quality::draft: return "draft";
    case Quality::balanced: return "balanced";
    case Quality::quality: return "quality";
  }
  return "?";
}

Resolution parse_resolution(const std::string& name) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (n == "480p" || n == "480") return Resolution::p480;
  if (n == "720p" || n == "720") return Resolution::p720;
  fail(ErrorCode::unsupported, "unsupported resolution '{}'; InfiniteTalk generates 480p or 720p", name);
}

}  // namespace talkgen
