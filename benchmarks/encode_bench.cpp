#include "encode_bench.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "talkgen/encoder.hpp"
#include "talkgen/error.hpp"

extern char** environ;

namespace talkgen::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Synthetic but not trivial for an encoder: gradients, a moving soft disk, a sweeping bar and per-pixel
// grain (so motion search and residual coding both have work, as with generated faces).
std::vector<std::uint8_t> make_frames(int frames, int height, int width) {
  std::vector<std::uint8_t> out(std::size_t(frames) * height * width * 3);
  std::uint32_t noise = 12345;
  for (int t = 0; t < frames; ++t) {
    const double cx = width * (0.5 + 0.3 * std::sin(t * 0.06));
    const double cy = height * (0.5 + 0.2 * std::cos(t * 0.045));
    const double radius = 0.2 * std::min(width, height);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        const double u = double(x) / width, v = double(y) / height;
        double r = 50 + 130 * u + 25 * std::sin(6.283 * (v + t / 60.0));
        double g = 40 + 120 * v;
        double b = 170 - 90 * u * v;
        const double disk = std::clamp((radius - std::hypot(x - cx, y - cy)) / 4.0, 0.0, 1.0);
        r += (225 - r) * disk;
        g += (175 - g) * disk;
        b += (150 - b) * disk;
        const double bar = std::clamp(1.0 - std::abs(x - 0.3 * y - (0.4 * width + 3 * t)) / 6.0, 0.0, 1.0);
        r += (30 - r) * bar;
        g += (40 - g) * bar;
        b += (90 - b) * bar;
        noise = noise * 1664525u + 1013904223u;
        const int grain = int(noise >> 29) - 4;  // -4..3
        std::uint8_t* px = &out[((std::size_t(t) * height + y) * width + x) * 3];
        px[0] = std::uint8_t(std::clamp(int(r) + grain, 0, 255));
        px[1] = std::uint8_t(std::clamp(int(g) + grain, 0, 255));
        px[2] = std::uint8_t(std::clamp(int(b) + grain, 0, 255));
      }
    }
  }
  return out;
}

double cpu_seconds(const rusage& usage) {
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + 1e-6 * (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return cpu_seconds(usage);
}

struct ProcessResult {
  int exit_code = -1;  // -1: could not start or killed by a signal
  double cpu_seconds = 0;
  std::string output;  // stdout, when captured
  std::string error;   // why it could not start
};

// posix_spawnp rather than system(): no shell, so paths need no quoting.
ProcessResult run_process(const std::vector<std::string>& args, bool capture_stdout) {
  ProcessResult result;
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  int pipe_fds[2] = {-1, -1};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (capture_stdout) {
    if (pipe(pipe_fds) != 0) {
      result.error = "pipe() failed";
      return result;
    }
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  }
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (capture_stdout) close(pipe_fds[1]);
  if (rc != 0) {
    if (capture_stdout) close(pipe_fds[0]);
    result.error = fmt::format("could not start '{}': {}", args[0], std::strerror(rc));
    return result;
  }
  if (capture_stdout) {
    char buffer[4096];
    ssize_t n;
    while ((n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0) result.output.append(buffer, std::size_t(n));
    close(pipe_fds[0]);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  result.cpu_seconds = cpu_seconds(usage);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

std::string ffmpeg_version(const std::string& ffmpeg) {
  auto result = run_process({ffmpeg, "-hide_banner", "-version"}, true);
  if (!result.error.empty()) return result.error;
  if (result.exit_code != 0) return fmt::format("'{} -version' exited with {}", ffmpeg, result.exit_code);
  return result.output.substr(0, result.output.find('\n'));
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string fps_argument(double fps) { return fmt::format("{}", fps); }

}  // namespace

EncodeBenchResult run_encode_benchmark(const EncodeBenchOptions& options) {
  if (options.frames <= 0) fail(ErrorCode::invalid_argument, "frames is {}; expected at least 1", options.frames);
  for (const auto& size : options.sizes) {
    if (size.width <= 0 || size.height <= 0 || size.width % 2 || size.height % 2) {
      fail(ErrorCode::invalid_argument, "benchmark size {}x{}: expected positive even width and height", size.width,
           size.height);
    }
  }
  EncodeBenchResult result;
  result.options = options;
  result.hardware_threads = std::thread::hardware_concurrency();
  result.ffmpeg_version = options.ffmpeg.empty() ? "not compared" : ffmpeg_version(options.ffmpeg);

  const fs::path scratch =
      (options.scratch_dir.empty() ? fs::temp_directory_path() : fs::path(options.scratch_dir)) /
      fmt::format("talkgen-encode-bench-{}", getpid());
  fs::create_directories(scratch);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{scratch};

  EncoderOptions encoder_options;
  encoder_options.crf = options.crf;
  encoder_options.preset = options.preset;
  encoder_options.fps = options.fps;

  for (const auto& size : options.sizes) {
    EncodeBenchRow row;
    row.width = size.width;
    row.height = size.height;
    row.frames = options.frames;
    const auto pixels = make_frames(options.frames, size.height, size.width);

    const fs::path talkgen_out = scratch / fmt::format("talkgen-{}x{}.mp4", size.width, size.height);
    const double cpu_start = process_cpu_seconds();
    auto start = Clock::now();
    auto encoder = Encoder::to_file(talkgen_out.string(), encoder_options);
    encoder.append(FrameChunk::uint8_thwc(pixels.data(), options.frames, size.height, size.width));
    encoder.finish();
    row.talkgen_seconds = seconds_since(start);
    row.talkgen_cpu_seconds = process_cpu_seconds() - cpu_start;
    row.talkgen_bytes = fs::file_size(talkgen_out);

    if (options.ffmpeg.empty()) {
      row.ffmpeg_note = "not compared";
    } else {
      // The CLI reads the same frames from a raw file (written before the clock starts; it stays in
      // the page cache), and writes an MP4 the way talkgen does.
      const fs::path raw = scratch / fmt::format("frames-{}x{}.rgb", size.width, size.height);
      const fs::path ffmpeg_out = scratch / fmt::format("ffmpeg-{}x{}.mp4", size.width, size.height);
      {
        std::ofstream file(raw, std::ios::binary);
        file.write(reinterpret_cast<const char*>(pixels.data()), std::streamsize(pixels.size()));
        if (!file) fail(ErrorCode::io_error, "could not write the benchmark's raw frames to '{}'", raw.string());
      }
      const std::vector<std::string> args = {
          options.ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
          "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", fmt::format("{}x{}", size.width, size.height),
          "-framerate", fps_argument(options.fps), "-i", raw.string(),
          "-c:v", "libx264", "-preset", options.preset, "-crf", std::to_string(options.crf), "-pix_fmt", "yuv420p",
          "-movflags", "+faststart", ffmpeg_out.string()};
      start = Clock::now();
      auto run = run_process(args, false);
      const double elapsed = seconds_since(start);
      if (!run.error.empty()) {
        row.ffmpeg_note = run.error;
      } else if (run.exit_code != 0) {
        row.ffmpeg_note = fmt::format("ffmpeg exited with {}", run.exit_code);
      } else {
        row.ffmpeg_seconds = elapsed;
        row.ffmpeg_cpu_seconds = run.cpu_seconds;
        row.ffmpeg_bytes = fs::file_size(ffmpeg_out);
      }
      std::error_code ec;
      fs::remove(raw, ec);
    }
    result.rows.push_back(row);
  }
  return result;
}

std::string format_encode_benchmark(const EncodeBenchResult& result) {
  const auto& o = result.options;
  std::string text = fmt::format(
      "encode benchmark: {} frames per size, libx264 preset {}, CRF {}, yuv420p, {} fps, {} hardware threads\n"
      "ffmpeg CLI: {}\n",
      o.frames, o.preset, o.crf, o.fps, result.hardware_threads, result.ffmpeg_version);
  text += fmt::format("{:>10}  {:>11}  {:>10}  {:>14}  {:>12}  {:>11}  {:>10}  {:>10}\n", "size", "talkgen fps",
                      "ffmpeg fps", "talkgen/ffmpeg", "talkgen CPU s", "ffmpeg CPU s", "talkgen KB", "ffmpeg KB");
  for (const auto& row : result.rows) {
    const std::string size = fmt::format("{}x{}", row.width, row.height);
    if (row.ffmpeg_seconds > 0) {
      text += fmt::format("{:>10}  {:>11.2f}  {:>10.2f}  {:>14.2f}  {:>12.2f}  {:>11.2f}  {:>10}  {:>10}\n", size,
                          row.talkgen_fps(), row.ffmpeg_fps(), row.ratio(), row.talkgen_cpu_seconds,
                          row.ffmpeg_cpu_seconds, row.talkgen_bytes / 1024, row.ffmpeg_bytes / 1024);
    } else {
      text += fmt::format("{:>10}  {:>11.2f}  {:>10}  {:>14}  {:>12.2f}  {:>11}  {:>10}  {:>10}   ({})\n", size,
                          row.talkgen_fps(), "-", "-", row.talkgen_cpu_seconds, "-", row.talkgen_bytes / 1024, "-",
                          row.ffmpeg_note);
    }
  }
  text += "talkgen/ffmpeg is the wall-time frames/s ratio (> 1: talkgen faster); compare CPU seconds when the\n"
          "machine is busy with other work.\n";
  return text;
}

std::vector<EncodeBenchOptions::Size> parse_sizes(const std::string& list) {
  std::vector<EncodeBenchOptions::Size> sizes;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t end = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, end - start);
    EncodeBenchOptions::Size size;
    char tail = 0;
    if (std::sscanf(item.c_str(), "%dx%d%c", &size.width, &size.height, &tail) != 2 || size.width <= 0 ||
        size.height <= 0) {
      fail(ErrorCode::invalid_argument, "size '{}' is not WIDTHxHEIGHT (e.g. 832x480)", item);
    }
    sizes.push_back(size);
    start = end + 1;
  }
  return sizes;
}

}  // namespace talkgen::bench
