// A generation job as read from JavaScript (owning copies of every string and byte, since the job runs on a
// worker thread), its talkgen_job_params view, and a talkgen_result turned into a plain JS object.
#pragma once

#include <napi.h>

#include <array>
#include <optional>
#include <string>

#include "js_values.hpp"
#include "talkgen.h"

namespace talkgen_node {

struct JobSpec {
  Source image, audio, audio2;
  std::optional<std::string> video, text, voice, prompt, negative_prompt, resolution, quality, mode, job_id, output,
      preset, speaker_timing;
  std::optional<std::array<double, 4>> speaker1_box, speaker2_box;  ///< [x0, y0, x1, y1] pixels
  std::optional<double> seed, color_correction, crf;
  double steps = 0, shift = 0, text_guidance = 0, audio_guidance = 0, gpus = 0, budget_usd = 0, deadline = 0,
         max_duration = 0, timeout = 0;
  bool nvenc = false;

  /// Reads the job options of generate() (camelCase keys); throws TypeError / RangeError on bad values.
  static JobSpec from_js(const Napi::Object& o);
  /// The C params; valid while this JobSpec lives and is not modified.
  talkgen_job_params params() const;
};

/// { jobId, state, errorCode, errorMessage, attempts, output, video, frames, ..., timings: {...}, costUsd }.
Napi::Object result_to_js(Napi::Env env, const talkgen_result& r);

/// { jobId, state, attempt, gpus, stage, chunk, chunks, step, steps, fraction, elapsedSeconds, etaSeconds }.
struct ProgressEvent {
  std::string job_id;
  talkgen_job_state state = TALKGEN_JOB_QUEUED;
  talkgen_stage stage = TALKGEN_STAGE_PREPARING;
  int attempt = 0, gpus = 0, chunk = 0, chunks = 0, step = 0, steps = 0;
  double fraction = 0, elapsed = 0, eta = -1;

  static ProgressEvent from_c(const talkgen_progress& p);
  Napi::Object to_js(Napi::Env env) const;
};

}  // namespace talkgen_node
