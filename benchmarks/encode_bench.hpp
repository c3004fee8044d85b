// Encoder throughput: talkgen::Encoder versus the ffmpeg command-line tool on the same raw frames with
// the same settings (libx264, CRF, preset, yuv420p), in the same run. Used by `talkgen_bench_encode`
// and meant for `talkgen bench encode`.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace talkgen::bench {

struct EncodeBenchOptions {
  struct Size {
    int width = 0;
    int height = 0;
  };
  std::vector<Size> sizes = {{832, 480}, {1280, 720}};  // the model's 480p and 720p buckets
  int frames = 100;
  int crf = 17;
  std::string preset = "medium";
  double fps = 25.0;
  std::string ffmpeg = "ffmpeg";  // the CLI to compare with (PATH is searched); empty: talkgen only
  std::string scratch_dir;        // where inputs and outputs go; empty: the system's temp folder
};

struct EncodeBenchRow {
  int width = 0;
  int height = 0;
  int frames = 0;
  double talkgen_seconds = 0;   // wall time of Encoder::to_file() .. finish(), frames already in memory
  double talkgen_cpu_seconds = 0;  // CPU time (user + system, all threads) over the same span
  std::size_t talkgen_bytes = 0;
  double ffmpeg_seconds = 0;    // wall time of the whole `ffmpeg` process reading a raw .rgb file; 0 if not run
  double ffmpeg_cpu_seconds = 0;   // the ffmpeg process's CPU time (user + system)
  std::size_t ffmpeg_bytes = 0;
  std::string ffmpeg_note;      // why the CLI was not run or failed; empty when it ran

  double talkgen_fps() const { return talkgen_seconds > 0 ? frames / talkgen_seconds : 0; }
  double ffmpeg_fps() const { return ffmpeg_seconds > 0 ? frames / ffmpeg_seconds : 0; }
  /// talkgen frames/s ÷ ffmpeg frames/s (> 1: talkgen is faster); 0 when the CLI did not run.
  double ratio() const { return ffmpeg_seconds > 0 ? ffmpeg_seconds / talkgen_seconds : 0; }
  /// The same ratio in CPU time: steadier than wall time on a machine shared with other work.
  double cpu_ratio() const { return ffmpeg_cpu_seconds > 0 ? ffmpeg_cpu_seconds / talkgen_cpu_seconds : 0; }
};

struct EncodeBenchResult {
  EncodeBenchOptions options;
  std::string ffmpeg_version;  // first line of `ffmpeg -version`, or why it is unknown
  unsigned hardware_threads = 0;
  std::vector<EncodeBenchRow> rows;
};

/// Runs the benchmark (minutes for 720p at preset medium on a few cores). Throws talkgen::Error for bad
/// options or when talkgen's encoder fails; a missing or failing ffmpeg CLI is reported in the rows.
EncodeBenchResult run_encode_benchmark(const EncodeBenchOptions& options);

/// Parses "832x480,1280x720"; throws Error(invalid_argument) naming the bad item.
std::vector<EncodeBenchOptions::Size> parse_sizes(const std::string& list);

/// A small table for people.
std::string format_encode_benchmark(const EncodeBenchResult& result);

}  // namespace talkgen::bench
