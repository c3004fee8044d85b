// Helpers for the media tests: a scratch folder, the ffmpeg CLI to make inputs, raw file I/O, typed errors, and
// the memory a call takes at its peak (Linux /proc).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "support/error_capture.hpp"
#include "support/scratch.hpp"
#include "talkgen/error.hpp"

namespace media_test {

inline std::string scratch(const std::string& name) {
  std::filesystem::create_directories(talkgen_test::scratch_path("media"));
  return talkgen_test::scratch_path("media/" + name);
}

/// Runs `ffmpeg -y -v error <args>` and requires success (inputs are made with the installed CLI).
inline void ffmpeg(const std::string& args) {
  std::string command = "ffmpeg -nostdin -hide_banner -y -v error " + args;
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

inline std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

/// How many elements differ (a vector in a failed CHECK would print thousands of numbers).
template <typename T>
std::size_t mismatches(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return std::max(a.size(), b.size());
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) n += !(a[i] == b[i]);
  return n;
}

/// The error a call throws (talkgen_test::code_of / message_of: ok / "" when it throws nothing).
template <typename F>
talkgen::ErrorCode error_code_of(F&& f) { return talkgen_test::code_of(std::forward<F>(f)); }
template <typename F>
std::string error_message_of(F&& f) { return talkgen_test::message_of(std::forward<F>(f)); }

/// What a call did in a child process (see in_child()).
struct ChildRun {
  bool threw = false;                                ///< it threw a talkgen::Error
  talkgen::ErrorCode code = talkgen::ErrorCode::ok;  ///< that error's code
  double peak_growth_mb = 0;                         ///< its peak resident memory above the RSS before the call
};

/// "VmRSS" or "VmHWM" (peak) of this process from /proc/self/status, in kB; -1 when absent.
inline long proc_status_kb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = -1;
  while (status >> key) {
    if (key == field + ":") {
      status >> value;
      return value;
    }
    status.ignore(4096, '\n');
  }
  return -1;
}

/// Runs `call` in a forked child and measures how far its resident memory rose during the call: the child
/// resets its peak (/proc/self/clear_refs "5") and reports VmHWM - VmRSS through a pipe. A refusal that comes
/// before any large allocation shows as a few MB, a decode that allocates first as hundreds.
template <typename F>
ChildRun in_child(F&& call) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::fflush(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    { std::ofstream("/proc/self/clear_refs") << "5"; }  // VmHWM := VmRSS
    const long before_kb = proc_status_kb("VmRSS");
    int status = 0;  // 0: no error; 100 + code: a talkgen::Error; 99: anything else
    try {
      call();
    } catch (const talkgen::Error& e) {
      status = 100 + static_cast<int>(e.code());
    } catch (...) {
      status = 99;
    }
    const long growth_kb = proc_status_kb("VmHWM") - before_kb;
    if (before_kb < 0 || write(fds[1], &growth_kb, sizeof(growth_kb)) != sizeof(growth_kb)) status = 98;
    _exit(status);
  }
  close(fds[1]);
  long growth_kb = 0;
  const bool got = read(fds[0], &growth_kb, sizeof(growth_kb)) == sizeof(growth_kb);
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  const int exit_code = WEXITSTATUS(status);
  REQUIRE(exit_code != 99);  // something other than a talkgen::Error
  REQUIRE(exit_code != 98);  // no memory figures
  REQUIRE(got);
  ChildRun run;
  run.threw = exit_code >= 100;
  if (run.threw) run.code = static_cast<talkgen::ErrorCode>(exit_code - 100);
  run.peak_growth_mb = double(growth_kb) / 1024.0;
  return run;
}

}  // namespace media_test
