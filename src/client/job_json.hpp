// Jobs and results as JSON: the job list `talkgen batch` reads, and the result object `talkgen generate
// --json` / `talkgen batch --json` print (the same field names both ways, so a result can be read back as
// the job that made it).
//
// A job object: {"image": "face.png", "audio": "speech.wav", "output": "out.mp4", "quality": "draft", ...}
//   inputs:   image | video, audio | text (+ voice, words_per_minute)
//   output:   output (path), dump_frames
//   options:  prompt, negative_prompt, quality, resolution, mode ("clip" | "streaming"), seed, steps, shift,
//             text_guidance, audio_guidance, max_frames, color_correction, use_apg, low_memory,
//             frames_per_chunk, motion_frames
//   job:      job_id, gpus (a number or "auto"), budget_usd, deadline_seconds,
//             max_duration_seconds (alias max_duration_sec), timeout_seconds (alias timeout)
// Unknown fields are errors (a typo must not silently fall back to a default).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "talkgen/client.hpp"

namespace talkgen::client {

struct JobFileOptions {
  /// Relative input and output paths are taken from here (`talkgen batch`: the job file's folder).
  std::string base_dir;
  /// Where outputs go: a job without "output" writes <output_dir>/<job_id or job-N>.mp4, and a relative
  /// "output" is taken from here instead of base_dir. Empty: base_dir.
  std::string output_dir;
};

/// A person's box as JSON, [x0, y0, x1, y1] in pixels (the job files and the server's requests): nullopt
/// unless `value` is an array of exactly 4 numbers.
std::optional<PixelBox> pixel_box_from_json(const nlohmann::json& value);
nlohmann::json pixel_box_to_json(const PixelBox& box);

/// One job from its JSON object; `index` (0-based) names it in errors and default output names.
/// Throws Error(invalid_argument) naming the job and the field for anything malformed.
Job job_from_json(const nlohmann::json& object, std::size_t index, const JobFileOptions& options);

/// A JSON array of job objects (or {"jobs": [...]}). Throws Error(invalid_argument) for malformed JSON
/// (with the parser's position) or a malformed job.
std::vector<Job> jobs_from_json(const std::string& text, const JobFileOptions& options);

/// Reads and parses a job file (relative paths: see JobFileOptions; base_dir defaults to the file's
/// folder). Throws Error(not_found / io_error) for an unreadable file.
std::vector<Job> read_job_file(const std::string& path, JobFileOptions options);

/// A result as JSON: job_id, state, ok, error {code, message}, attempts, output, frames, width, height, fps,
/// duration_seconds, chunks, seed, steps, model, untrained_model, gpus, devices, resolution,
/// timings {queued, loading, preparing, sampling, decoding, encoding, total}, estimated_seconds (null when
/// unknown), actual_seconds, gpu_seconds, cost_usd, and mp4_bytes (the size, when returned in memory).
nlohmann::json result_to_json(const JobResult& result);

}  // namespace talkgen::client
