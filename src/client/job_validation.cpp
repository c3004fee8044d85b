#include "client/job_validation.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include <unistd.h>

#include "talkgen/speech.hpp"

namespace talkgen::client {
namespace fs = std::filesystem;
namespace {

constexpr double kFps = 25.0;  // the model's frame rate

int count_set(std::initializer_list<bool> flags) {
  int n = 0;
  for (bool f : flags) n += f ? 1 : 0;
  return n;
}

void require_file(const std::string& path, const char* what) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status))
    fail(ErrorCode::not_found, "the {} '{}' does not exist; check the path (relative paths are taken from the "
         "current directory '{}')", what, path, fs::current_path(ec).string());
  if (fs::is_directory(status))
    fail(ErrorCode::invalid_argument, "the {} '{}' is a folder; expected a file", what, path);
}

// The output's folder must exist and be writable: the MP4 goes to a temporary file beside the target.
void require_writable_folder(const std::string& path, const char* what) {
  fs::path folder = fs::path(path).parent_path();
  if (folder.empty()) folder = ".";
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    fail(ErrorCode::io_error, "cannot write the {} '{}': its folder '{}' does not exist; create it first", what, path,
         folder.string());
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    fail(ErrorCode::io_error, "cannot write the {} '{}': the folder '{}' is not writable by this process", what, path,
         folder.string());
  if (fs::is_directory(path, ec))
    fail(ErrorCode::invalid_argument, "the {} '{}' is a folder; expected a file name such as '{}/out.mp4'", what,
         path, path);
}

}  // namespace

void validate_job_id(const std::string& id) {
  if (id.empty() || id.size() > 128)
    fail(ErrorCode::invalid_argument, "job id '{}' has {} characters; expected 1 to 128", id, id.size());
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok)
      fail(ErrorCode::invalid_argument, "job id '{}' contains '{}'; use letters, digits, '.', '_' and '-' only", id,
           c);
  }
}

void validate_job(Job& job, int pool_size) {
  GenerateOptions& g = job.generate;
  if (!job.job_id.empty()) validate_job_id(job.job_id);

  const int images = count_set({!g.image_path.empty(), !g.image_bytes.empty(), !g.video_path.empty()});
  if (images != 1)
    fail(ErrorCode::invalid_argument, "job '{}': {} portrait sources given (image path, image bytes, video to dub); "
         "give exactly one", job.job_id, images);
  const int speeches = count_set({!g.audio_path.empty(), !g.audio_bytes.empty(), !g.speech_text.empty()});
  if (speeches != 1)
    fail(ErrorCode::invalid_argument, "job '{}': {} speech sources given (audio path, audio bytes, text); give "
         "exactly one", job.job_id, speeches);
  // The voice is a name from espeak-ng's list, never a path (speech.hpp): refused here, before queueing,
  // rather than when the job's speech is synthesised.
  if (!g.speech_text.empty()) {
    if (std::all_of(g.speech_text.begin(), g.speech_text.end(), [](unsigned char c) { return std::isspace(c); }))
      fail(ErrorCode::invalid_argument, "job '{}': the text to speak holds only whitespace; pass the words to "
           "synthesise", job.job_id);
    check_speech_voice(g.speech.voice);
  }
  if (!g.image_path.empty()) require_file(g.image_path, "portrait image");
  if (!g.video_path.empty()) require_file(g.video_path, "video to dub");
  if (!g.audio_path.empty()) require_file(g.audio_path, "speech audio");
  if (!g.audio2_path.empty()) require_file(g.audio2_path, "speaker 2's speech audio");
  if (!g.output_path.empty()) require_writable_folder(g.output_path, "output video");
  if (!g.dump_frames.empty()) require_writable_folder(g.dump_frames, "frame dump");

  if (job.gpus && (*job.gpus < 1 || *job.gpus > pool_size))
    fail(ErrorCode::invalid_argument, "job '{}' asks for {} device(s); this client's pool has {} (1 to {} allowed). "
         "Ask for fewer, or give the client more devices (ClientOptions::gpus / cpu_ranks)", job.job_id, *job.gpus,
         pool_size, pool_size);
  if (job.budget_usd && !(*job.budget_usd > 0))
    fail(ErrorCode::invalid_argument, "job '{}': budget_usd must be positive, got {}", job.job_id, *job.budget_usd);
  if (job.deadline_seconds && !(*job.deadline_seconds > 0))
    fail(ErrorCode::invalid_argument, "job '{}': deadline_seconds must be positive, got {}", job.job_id,
         *job.deadline_seconds);
  if (job.timeout && job.timeout->count() < 0)
    fail(ErrorCode::invalid_argument, "job '{}': timeout must be >= 0 ms (0 = none), got {}", job.job_id,
         job.timeout->count());
  if (job.max_duration_seconds) {
    const double s = *job.max_duration_seconds;
    if (!std::isfinite(s) || s <= 0 || s > 24 * 3600)
      fail(ErrorCode::invalid_argument, "job '{}': max_duration_seconds must be between 0 and 86400, got {}",
           job.job_id, s);
    g.max_frames = std::max(1, static_cast<int>(std::lround(s * kFps)));
  }
  if (g.max_frames < 0)
    fail(ErrorCode::invalid_argument, "job '{}': max_frames must be 0 (unlimited) or positive, got {}", job.job_id,
         g.max_frames);
}

}  // namespace talkgen::client
