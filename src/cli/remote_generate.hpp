// `talkgen generate --server URL`: the same job, run by a `talkgen serve` host (docs/server-api.md)
// instead of this process. Posts the inputs, follows the job's event stream with a progress bar and
// downloads the MP4 to the output path atomically (temp name + rename).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "talkgen/generate.hpp"

namespace talkgen::cli {

class InterruptWatch;
class ProgressPrinter;

struct RemoteGenerateArgs {
  std::string server_url;         ///< "http://gpu-host:8080" (https too); a path prefix is kept ("/talkgen")
  std::string token;              ///< bearer token; or:
  std::string token_file;         ///< a file holding it (surrounding whitespace ignored)
  std::string image;              ///< portrait file, sent as is (the server decodes and checks it)
  std::string audio;              ///< speech file; or:
  std::string text;               ///< text for the server's TTS
  std::string voice;              ///< espeak-ng voice for `text` (empty: the server's default)
  std::string audio2;             ///< a second speaker's speech file (with `audio`); empty: one speaker
  std::string speaker_timing;     ///< "together" / "one-after-another" (empty: the server's default)
  std::optional<PixelBox> speaker1_box, speaker2_box;  ///< pixels of the image; both or neither
  std::string output;             ///< MP4 path written here
  std::string prompt;             ///< empty: the server's default
  std::string quality = to_string(default_quality);
  std::string resolution = "480p";
  std::optional<int> gpus;        ///< nullopt: the server's Planner decides
  std::optional<double> max_duration_seconds;
  std::int64_t seed = 42;
  std::string job_id;             ///< idempotency key; empty: one is made (so retries never run twice)
  bool json = false;              ///< print the finished job as JSON on stdout instead of a sentence
  ProgressPrinter* printer = nullptr;   ///< shows the job's progress events (nullptr: none)
  InterruptWatch* interrupts = nullptr; ///< Ctrl-C / SIGTERM: cancel the job on the server, exit `cancelled`
  std::chrono::seconds timeout{30 * 60};  ///< the whole job; past it the job is cancelled on the server
  int max_attempts = 5;           ///< per HTTP request: connection errors, 429 and 5xx are retried
};

/// Runs one job on the server; returns 0 when the MP4 is written. Throws talkgen::Error with the job's
/// own error code when it failed (invalid_argument for a rejected request, io_error when the server
/// cannot be reached, timeout, cancelled, ...), so the CLI's exit codes mean the same as for local runs.
/// A signal (args.interrupts) stops the request under way, cancels an unfinished job on the server and
/// throws Error(cancelled); no partial download is left; a second signal quits the process at once.
int run_remote_generate(const RemoteGenerateArgs& args);

}  // namespace talkgen::cli
