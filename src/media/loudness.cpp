// Integrated loudness (libebur128) and the reference's loudness normalisation.
//
// The reference (generate_infinitetalk.py, loudness_norm) does, with pyloudnorm:
//   loudness = Meter(sr).integrated_loudness(audio)
//   if abs(loudness) > 100: return audio          # silence (-inf) or near-silence
//   return pyln.normalize.loudness(audio, loudness, -23)   # gain = 10^((target - loudness) / 20), no clipping
// libebur128 implements the same BS.1770-4 measurement (400 ms blocks, 75 % overlap, -70 LUFS absolute and
// -10 LU relative gates); the two agree to a few hundredths of a LU on speech.
// One difference: for audio shorter than one 400 ms block pyloudnorm raises ValueError and the reference job
// dies; libebur128 reports -inf, so such audio is returned unchanged here, like silence.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <ebur128.h>

#include "talkgen/error.hpp"
#include "talkgen/log.hpp"
#include "talkgen/media.hpp"

namespace talkgen {
namespace {

struct MeterDeleter {
  void operator()(ebur128_state* state) const { ebur128_destroy(&state); }
};
using MeterPtr = std::unique_ptr<ebur128_state, MeterDeleter>;

// The reference leaves audio alone when |loudness| > 100 LUFS; -inf (silence) falls in that branch.
constexpr double kLoudnessLimit = 100.0;

}  // namespace

double measure_loudness_lufs(const Audio& audio) {
  if (audio.sample_rate <= 0)
    fail(ErrorCode::invalid_argument, "cannot measure loudness: sample_rate is {} Hz, expected a positive rate",
         audio.sample_rate);
  if (audio.samples.empty()) return -std::numeric_limits<double>::infinity();
  MeterPtr meter(ebur128_init(1, static_cast<unsigned long>(audio.sample_rate), EBUR128_MODE_I));
  if (!meter)
    fail(ErrorCode::unsupported, "libebur128 cannot measure audio at {} Hz; resample it to 16000 or 48000 Hz",
         audio.sample_rate);
  int err = ebur128_add_frames_float(meter.get(), audio.samples.data(), audio.samples.size());
  if (err != EBUR128_SUCCESS) fail(ErrorCode::out_of_memory, "libebur128 failed to add samples (error {})", err);
  double lufs = 0.0;
  err = ebur128_loudness_global(meter.get(), &lufs);
  if (err != EBUR128_SUCCESS) fail(ErrorCode::internal, "libebur128 failed to compute loudness (error {})", err);
  return lufs;  // -HUGE_VAL when every block is below the -70 LUFS gate or there is no complete block
}

void normalize_loudness(Audio& audio, double target_lufs) {
  if (!std::isfinite(target_lufs) || target_lufs > 0.0 || target_lufs < -70.0)
    fail(ErrorCode::invalid_argument, "target loudness {} LUFS is out of range; expected -70..0 (the reference uses -23)",
         target_lufs);
  const double lufs = measure_loudness_lufs(audio);
  if (!(std::fabs(lufs) <= kLoudnessLimit)) {
    log_debug("loudness {} LUFS: audio is silent or shorter than 400 ms; left unchanged", lufs);
    return;
  }
  const float gain = static_cast<float>(std::pow(10.0, (target_lufs - lufs) / 20.0));
  float peak = 0.0f;
  for (float& s : audio.samples) {
    s *= gain;
    peak = std::max(peak, std::fabs(s));
  }
  // pyloudnorm only warns about clipping and keeps the samples; so do we (wav2vec2 takes floats).
  if (peak > 1.0f) log_debug("loudness normalisation to {} LUFS gives peaks of {:.2f} (> 1.0)", target_lufs, peak);
}

}  // namespace talkgen
