// How `talkgen generate` shows a job's progress on stderr (--progress):
//   bar    one line rewritten in place (a terminal);
//   lines  one plain line per step or stage (no carriage returns, no colours): logs, pipes, CI;
//   json   one JSON object per progress event, for programs;
//   none   nothing;
//   auto   bar on a terminal, lines otherwise (the default).
// Local jobs (talkgen::JobProgress) and jobs on a `talkgen serve` host (its job JSON) are shown alike.
#pragma once

#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "talkgen/client.hpp"
#include "talkgen/log.hpp"

namespace talkgen::cli {

enum class ProgressMode { automatic, none, bar, lines, json };

/// "auto" | "none" | "bar" | "lines" | "json"; Error(invalid_argument) otherwise.
ProgressMode parse_progress_mode(const std::string& name);
/// `automatic` becomes bar when `stderr_is_terminal`, else lines; the others stay.
ProgressMode resolve_progress_mode(ProgressMode mode, bool stderr_is_terminal);
/// Adds --progress MODE to `cmd`.
void add_progress_option(CLI::App& cmd, std::string& mode);

/// One progress event, whichever side ran the job.
struct ProgressEvent {
  std::string job_id;
  std::string state = "running";     ///< queued | running | retrying | succeeded | failed | cancelled
  std::string stage = "preparing";   ///< preparing | sampling | decoding | encoding | done
  int attempt = 0, gpus = 0;         ///< 0: not known
  int chunk = 0, chunks = 0;         ///< 0-based chunk under way, of `chunks`
  int step = 0, steps = 0;           ///< sampling steps finished in the chunk, of `steps`
  double fraction = 0;               ///< 0..1 of the whole job
  std::optional<double> eta_seconds; ///< nullopt until the pace is known
  double elapsed_seconds = 0;
};

/// A local job's progress as an event.
ProgressEvent progress_event(const JobProgress& p);
/// The same fields as JSON (eta_seconds null when unknown): what --progress json prints, one per line.
nlohmann::json progress_event_json(const ProgressEvent& e);

/// Prints events in one mode; safe to call from the job's thread and the main thread at once.
class ProgressPrinter {
 public:
  /// `mode` must be resolved (not automatic).
  explicit ProgressPrinter(ProgressMode mode, std::FILE* out = stderr);

  void print(const ProgressEvent& e);
  /// A line of text of the command's own (ends a bar first); json mode prints it too, as is, since
  /// stderr is where a person reads what happened.
  void note(const std::string& line);
  /// One JSON object on its own line (json mode: an error or event of the command's own).
  void note_json(const nlohmann::json& object);
  /// A library log message: on its own line after a bar, as {"event": "log", ...} in json mode (so every
  /// line on stderr parses), as the default sink writes it otherwise.
  void log(LogLevel level, std::string_view message);
  /// Ends the bar's line.
  void end();

 private:
  void end_bar_locked();

  ProgressMode mode_;
  std::FILE* out_;
  std::mutex mutex_;
  bool bar_drawn_ = false;
  std::string last_line_key_;
};

}  // namespace talkgen::cli
