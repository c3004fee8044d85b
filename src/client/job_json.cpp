#include "client/job_json.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace talkgen::client {
namespace fs = std::filesystem;
namespace {

using json = nlohmann::json;

const std::set<std::string>& known_fields() {
  static const std::set<std::string> k = {
      "image", "video", "audio", "text", "voice", "words_per_minute", "output", "dump_frames", "prompt",
      "negative_prompt", "quality", "resolution", "mode", "seed", "steps", "shift", "text_guidance",
      "audio_guidance", "max_frames", "color_correction", "use_apg", "low_memory", "frames_per_chunk",
      "motion_frames", "job_id", "gpus", "budget_usd", "deadline_seconds", "max_duration_seconds",
      "max_duration_sec", "timeout_seconds", "timeout", "audio2", "speaker_timing", "speaker1_box", "speaker2_box"};
  return k;
}

std::string known_list() {
  std::string s;
  for (const auto& k : known_fields()) s += (s.empty() ? "" : ", ") + k;
  return s;
}

// Reads one field with a type check that names the job and the field.
class Fields {
 public:
  Fields(const json& object, std::string where) : o_(object), where_(std::move(where)) {}

  bool has(const char* key) const { return o_.contains(key) && !o_.at(key).is_null(); }

  std::string text(const char* key) const {
    const json& v = o_.at(key);
    if (!v.is_string()) wrong(key, "a string", v);
    return v.get<std::string>();
  }
  double number(const char* key) const {
    const json& v = o_.at(key);
    if (!v.is_number()) wrong(key, "a number", v);
    return v.get<double>();
  }
  std::int64_t integer(const char* key) const {
    const json& v = o_.at(key);
    if (!v.is_number_integer()) {
      if (!(v.is_number() && std::floor(v.get<double>()) == v.get<double>())) wrong(key, "a whole number", v);
      return static_cast<std::int64_t>(v.get<double>());
    }
    return v.get<std::int64_t>();
  }
  int small_integer(const char* key) const {
    const std::int64_t v = integer(key);
    if (v < -1000000000 || v > 1000000000) fail(ErrorCode::invalid_argument, "{}: \"{}\" is {}, out of range", where_, key, v);
    return static_cast<int>(v);
  }
  /// [x0, y0, x1, y1] in pixels.
  PixelBox box(const char* key) const {
    const json& v = o_.at(key);
    const auto b = pixel_box_from_json(v);
    if (!b) wrong(key, "[x0, y0, x1, y1] (4 numbers, pixels)", v);
    return *b;
  }
  bool flag(const char* key) const {
    const json& v = o_.at(key);
    if (!v.is_boolean()) wrong(key, "true or false", v);
    return v.get<bool>();
  }

  [[noreturn]] void wrong(const char* key, const char* expected, const json& v) const {
    fail(ErrorCode::invalid_argument, "{}: \"{}\" must be {}, got {}", where_, key, expected, v.dump());
  }
  const std::string& where() const { return where_; }

 private:
  const json& o_;
  std::string where_;
};

std::string resolve(const std::string& path, const std::string& base) {
  if (path.empty() || base.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(base) / path).lexically_normal().string();
}

// Errors from parse_quality & co. keep their code but name the job.
template <typename F>
auto with_context(const std::string& where, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(e.code(), where + ": " + e.what());
  }
}

}  // namespace

std::optional<PixelBox> pixel_box_from_json(const json& v) {
  if (!v.is_array() || v.size() != 4) return std::nullopt;
  for (const auto& x : v)
    if (!x.is_number()) return std::nullopt;
  return PixelBox{v[0].get<double>(), v[1].get<double>(), v[2].get<double>(), v[3].get<double>()};
}

json pixel_box_to_json(const PixelBox& b) { return json::array({b.x0, b.y0, b.x1, b.y1}); }

Job job_from_json(const json& o, std::size_t index, const JobFileOptions& options) {
  const std::string where = fmt::format("job {}{}", index + 1,
                                        o.is_object() && o.contains("job_id") && o["job_id"].is_string()
                                            ? fmt::format(" ('{}')", o["job_id"].get<std::string>())
                                            : "");
  if (!o.is_object()) fail(ErrorCode::invalid_argument, "{}: expected a JSON object, got {}", where, o.dump());
  for (const auto& [key, value] : o.items())
    if (!known_fields().count(key))
      fail(ErrorCode::invalid_argument, "{}: unknown field \"{}\"; known fields: {}", where, key, known_list());
  const Fields f(o, where);
  const std::string& base = options.base_dir;
  const std::string& out_base = options.output_dir.empty() ? options.base_dir : options.output_dir;

  Job job;
  GenerateOptions& g = job.generate;
  if (f.has("job_id")) job.job_id = f.text("job_id");
  if (f.has("image")) g.image_path = resolve(f.text("image"), base);
  if (f.has("video")) g.video_path = resolve(f.text("video"), base);
  if (f.has("audio")) g.audio_path = resolve(f.text("audio"), base);
  if (f.has("text")) g.speech_text = f.text("text");
  if (f.has("audio2")) g.audio2_path = resolve(f.text("audio2"), base);
  if (f.has("speaker_timing"))
    g.speaker_timing = with_context(where, [&] { return parse_speaker_timing(f.text("speaker_timing")); });
  if (f.has("speaker1_box")) g.speaker1_box = f.box("speaker1_box");
  if (f.has("speaker2_box")) g.speaker2_box = f.box("speaker2_box");
  if (f.has("voice")) g.speech.voice = f.text("voice");
  if (f.has("words_per_minute")) g.speech.words_per_minute = f.small_integer("words_per_minute");
  if (f.has("output")) {
    g.output_path = resolve(f.text("output"), out_base);
  } else {
    const std::string name = job.job_id.empty() ? fmt::format("job-{}", index + 1) : job.job_id;
    g.output_path = resolve(name + ".mp4", out_base.empty() ? "." : out_base);
  }
  if (f.has("dump_frames")) g.dump_frames = resolve(f.text("dump_frames"), out_base);
  if (f.has("prompt")) g.prompt = f.text("prompt");
  if (f.has("negative_prompt")) g.negative_prompt = f.text("negative_prompt");
  if (f.has("quality")) g.quality = with_context(where, [&] { return parse_quality(f.text("quality")); });
  if (f.has("resolution")) g.resolution = with_context(where, [&] { return parse_resolution(f.text("resolution")); });
  if (f.has("mode")) {
    const std::string mode = f.text("mode");
    if (mode != "clip" && mode != "streaming")
      fail(ErrorCode::invalid_argument, "{}: \"mode\" must be \"clip\" or \"streaming\", got \"{}\"", where, mode);
    g.mode = mode == "clip" ? GenerationMode::clip : GenerationMode::streaming;
  }
  if (f.has("seed")) g.seed = f.integer("seed");
  if (f.has("steps")) g.steps = f.small_integer("steps");
  if (f.has("shift")) g.shift = f.number("shift");
  if (f.has("text_guidance")) g.text_guidance = f.number("text_guidance");
  if (f.has("audio_guidance")) g.audio_guidance = f.number("audio_guidance");
  if (f.has("max_frames")) g.max_frames = f.small_integer("max_frames");
  if (f.has("color_correction")) g.color_correction = f.number("color_correction");
  if (f.has("use_apg")) g.use_apg = f.flag("use_apg");
  if (f.has("low_memory")) g.low_memory = f.flag("low_memory");
  if (f.has("frames_per_chunk")) g.frames_per_chunk = f.small_integer("frames_per_chunk");
  if (f.has("motion_frames")) g.motion_frames = f.small_integer("motion_frames");

  if (f.has("gpus")) {
    if (o["gpus"].is_string()) {
      if (o["gpus"].get<std::string>() != "auto") f.wrong("gpus", "a number or \"auto\"", o["gpus"]);
    } else {
      job.gpus = f.small_integer("gpus");
    }
  }
  if (f.has("budget_usd")) job.budget_usd = f.number("budget_usd");
  if (f.has("deadline_seconds")) job.deadline_seconds = f.number("deadline_seconds");
  for (const char* key : {"max_duration_seconds", "max_duration_sec"})
    if (f.has(key)) job.max_duration_seconds = f.number(key);
  for (const char* key : {"timeout_seconds", "timeout"}) {
    if (!f.has(key)) continue;
    const double s = f.number(key);
    if (!(s >= 0) || s > 1e9)
      fail(ErrorCode::invalid_argument, "{}: \"{}\" must be seconds >= 0 (0 = none), got {}", where, key, s);
    job.timeout = std::chrono::milliseconds(static_cast<long long>(std::llround(s * 1000)));
  }
  return job;
}

std::vector<Job> jobs_from_json(const std::string& text, const JobFileOptions& options) {
  json document;
  try {
    document = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(ErrorCode::invalid_argument, "the job list is not valid JSON: {}", e.what());
  }
  const json* list = &document;
  if (document.is_object() && document.contains("jobs")) list = &document["jobs"];
  if (!list->is_array())
    fail(ErrorCode::invalid_argument, "the job list must be a JSON array of job objects (or {{\"jobs\": [...]}}), "
         "got {}", std::string(list->type_name()));
  if (list->empty()) fail(ErrorCode::invalid_argument, "the job list is empty; give at least one job");
  std::vector<Job> jobs;
  for (std::size_t i = 0; i < list->size(); ++i) jobs.push_back(job_from_json((*list)[i], i, options));
  return jobs;
}

std::vector<Job> read_job_file(const std::string& path, JobFileOptions options) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ErrorCode::not_found, "the job file '{}' does not exist", path);
  std::ifstream in(path);
  if (!in) fail(ErrorCode::io_error, "cannot read the job file '{}'", path);
  std::stringstream text;
  text << in.rdbuf();
  if (options.base_dir.empty()) {
    options.base_dir = fs::path(path).parent_path().string();
    if (options.base_dir.empty()) options.base_dir = ".";
  }
  try {
    return jobs_from_json(text.str(), options);
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("{}: {}", path, e.what()));
  }
}

json result_to_json(const JobResult& r) {
  const GenerateResult& v = r.video;
  json out = {{"job_id", r.job_id},
              {"state", to_string(r.state)},
              {"ok", r.ok()},
              {"attempts", r.attempts},
              {"gpus", r.gpus},
              {"devices", r.devices},
              {"resolution", r.resolution},
              {"timings",  // the same name as JobResult::timings and the server's job object
               {{"queued", r.timings.queued},
                {"loading", r.timings.loading},
                {"preparing", r.timings.preparing},
                {"sampling", r.timings.sampling},
                {"decoding", r.timings.decoding},
                {"encoding", r.timings.encoding},
                {"total", r.timings.total}}},
              {"estimated_seconds", r.estimated_seconds ? json(*r.estimated_seconds) : json(nullptr)},
              {"actual_seconds", r.actual_seconds},
              {"gpu_seconds", r.gpu_seconds},
              {"cost_usd", r.cost_usd}};
  if (!r.ok()) out["error"] = {{"code", to_string(r.error_code)}, {"message", r.error_message}};
  if (r.ok()) {
    out["output"] = v.output_path;
    if (v.output_path.empty()) out["mp4_bytes"] = v.mp4.size();
    out["frames"] = v.frames;
    out["width"] = v.width;
    out["height"] = v.height;
    out["fps"] = v.fps;
    out["duration_seconds"] = v.duration_seconds;
    out["chunks"] = v.chunks;
    out["seed"] = v.seed;
    out["steps"] = v.settings.steps;
    out["model"] = v.model_name;
    out["untrained_model"] = v.untrained_model;
  }
  return out;
}

}  // namespace talkgen::client
