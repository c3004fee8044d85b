#include "cli/progress_output.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "talkgen/error.hpp"

namespace talkgen::cli {
namespace {

// "40% sampling chunk 1/2 step 2/4, eta 3s, elapsed 1.2s" for a running job; the state otherwise.
std::string describe(const ProgressEvent& e) {
  if (e.state == "retrying") return fmt::format("attempt {} failed; retrying", e.attempt);
  if (e.state != "running") return e.state;
  // Chunks are known once the pipeline has planned them (not yet when the job has just started).
  const std::string where = e.chunks > 0 ? fmt::format(" chunk {}/{} step {}/{}", e.chunk + 1, e.chunks, e.step, e.steps)
                                         : std::string();
  return fmt::format("{:3.0f}% {}{}{}, elapsed {:.1f}s{}", e.fraction * 100, e.stage, where,
                     e.eta_seconds ? fmt::format(", eta {:.0f}s", *e.eta_seconds) : std::string(), e.elapsed_seconds,
                     e.attempt > 1 ? fmt::format(" (attempt {})", e.attempt) : std::string());
}

// One line of JSON; text that is not UTF-8 (a path, a library message) is replaced, never an exception.
std::string json_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

ProgressMode parse_progress_mode(const std::string& name) {
  if (name == "auto") return ProgressMode::automatic;
  if (name == "none") return ProgressMode::none;
  if (name == "bar") return ProgressMode::bar;
  if (name == "lines") return ProgressMode::lines;
  if (name == "json") return ProgressMode::json;
  fail(ErrorCode::invalid_argument, "--progress {}: expected auto, none, bar, lines or json", name);
}

ProgressMode resolve_progress_mode(ProgressMode mode, bool stderr_is_terminal) {
  if (mode != ProgressMode::automatic) return mode;
  return stderr_is_terminal ? ProgressMode::bar : ProgressMode::lines;
}

void add_progress_option(CLI::App& cmd, std::string& mode) {
  cmd.add_option("--progress", mode,
                 "Progress on stderr: auto (a bar on a terminal, else lines), bar, lines (one plain line per step "
                 "or stage), json (one JSON object per event: stage, chunk/chunks, step/steps, fraction, "
                 "eta_seconds, elapsed_seconds, ...; log lines as JSON too) or none")
      ->capture_default_str();
}

ProgressEvent progress_event(const JobProgress& p) {
  ProgressEvent e;
  e.job_id = p.job_id;
  e.state = to_string(p.state);
  e.attempt = p.attempt;
  e.gpus = p.gpus;
  const GenerateProgress& g = p.generate;
  e.stage = to_string(g.stage);
  e.chunk = g.chunk;
  e.chunks = g.chunks;
  e.step = g.step;
  e.steps = g.steps;
  e.fraction = std::clamp(g.fraction, 0.0, 1.0);
  if (g.eta_seconds >= 0) e.eta_seconds = g.eta_seconds;
  e.elapsed_seconds = g.elapsed_seconds;
  return e;
}

nlohmann::json progress_event_json(const ProgressEvent& e) {
  nlohmann::json j;
  j["event"] = "progress";
  j["job_id"] = e.job_id;
  j["state"] = e.state;
  j["stage"] = e.stage;
  j["attempt"] = e.attempt;
  j["gpus"] = e.gpus;
  j["chunk"] = e.chunk;
  j["chunks"] = e.chunks;
  j["step"] = e.step;
  j["steps"] = e.steps;
  j["fraction"] = e.fraction;
  j["eta_seconds"] = e.eta_seconds ? nlohmann::json(*e.eta_seconds) : nlohmann::json(nullptr);
  j["elapsed_seconds"] = e.elapsed_seconds;
  return j;
}

ProgressPrinter::ProgressPrinter(ProgressMode mode, std::FILE* out) : mode_(mode), out_(out) {
  if (mode == ProgressMode::automatic)
    fail(ErrorCode::internal, "ProgressPrinter needs a resolved mode (resolve_progress_mode)");
}

void ProgressPrinter::print(const ProgressEvent& e) {
  std::lock_guard<std::mutex> lock(mutex_);
  switch (mode_) {
    case ProgressMode::none:
    case ProgressMode::automatic:
      return;
    case ProgressMode::json:
      fmt::print(out_, "{}\n", json_line(progress_event_json(e)));
      break;
    case ProgressMode::lines: {
      // One line per step or stage: the pipeline's repeated reports of one point (e.g. the end of
      // preparation) and a state echoed with it do not make a line each.
      const std::string key = fmt::format("{}|{}|{}|{}|{}", e.state, e.stage, e.chunk, e.step, e.attempt);
      if (key == last_line_key_) return;
      last_line_key_ = key;
      fmt::print(out_, "progress: {}\n", describe(e));
      break;
    }
    case ProgressMode::bar: {
      if (e.state == "retrying") {
        end_bar_locked();
        fmt::print(out_, "{}\n", describe(e));
        break;
      }
      if (e.state != "running") break;
      const int width = 30;
      const int filled = static_cast<int>(e.fraction * width);
      fmt::print(out_, "\r[{:<{}}] {:3.0f}% {} chunk {}/{} step {}/{}{} ({} device{}{})   ", std::string(filled, '#'),
                 width, e.fraction * 100, e.stage, e.chunk + 1, std::max(e.chunks, 1), e.step, e.steps,
                 e.eta_seconds ? fmt::format(" eta {:.0f}s", *e.eta_seconds) : std::string(), e.gpus,
                 e.gpus == 1 ? "" : "s", e.attempt > 1 ? fmt::format(", attempt {}", e.attempt) : std::string());
      bar_drawn_ = true;
      break;
    }
  }
  std::fflush(out_);
}

void ProgressPrinter::note(const std::string& line) {
  std::lock_guard<std::mutex> lock(mutex_);
  end_bar_locked();
  if (mode_ == ProgressMode::json) {
    fmt::print(out_, "{}\n", json_line(nlohmann::json{{"event", "message"}, {"message", line}}));
  } else {
    fmt::print(out_, "{}\n", line);
  }
  std::fflush(out_);
}

void ProgressPrinter::note_json(const nlohmann::json& object) {
  std::lock_guard<std::mutex> lock(mutex_);
  end_bar_locked();
  fmt::print(out_, "{}\n", json_line(object));
  std::fflush(out_);
}

void ProgressPrinter::log(LogLevel level, std::string_view message) {
  std::lock_guard<std::mutex> lock(mutex_);
  end_bar_locked();
  if (mode_ == ProgressMode::json) {
    fmt::print(out_, "{}\n", json_line(nlohmann::json{{"event", "log"}, {"level", to_string(level)},
                                                        {"message", std::string(message)}}));
  } else {
    fmt::print(out_, "[talkgen {}] {}\n", to_string(level), message);
  }
  std::fflush(out_);
}

void ProgressPrinter::end() {
  std::lock_guard<std::mutex> lock(mutex_);
  end_bar_locked();
}

void ProgressPrinter::end_bar_locked() {
  if (bar_drawn_) fmt::print(out_, "\n");
  bar_drawn_ = false;
}

}  // namespace talkgen::cli
