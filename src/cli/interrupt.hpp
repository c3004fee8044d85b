// Ctrl-C (SIGINT) and SIGTERM while a command runs a job. The signal handler does only what is
// async-signal-safe: it writes the signal's number to a pipe. A watcher thread reads the pipe and calls the
// command's handler there, with the number of signals so far, so the command can cancel its job through the
// library (first signal) or quit at once after removing its temporary files (second signal).
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

namespace talkgen::cli {

class InterruptWatch {
 public:
  /// Called on the watcher thread (never in the signal handler) with the count of signals so far (1, 2, ...)
  /// and the signal's number.
  using Handler = std::function<void(int count, int signal)>;

  /// Installs the SIGINT and SIGTERM handlers (SIGINT only if it is not ignored, e.g. in a script's
  /// background job); at most one InterruptWatch exists at a time.
  InterruptWatch();
  /// Restores the previous handlers and stops the watcher thread.
  ~InterruptWatch();
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;

  /// Replaces the handler (signals that came before it are not replayed: check count()); waits for a
  /// handler that is running. Reset it (nullptr, or ResetOnExit) before what it refers to goes away.
  void on_signal(Handler handler);

  /// Resets the handler when the scope that set it ends.
  struct ResetOnExit {
    InterruptWatch* watch;
    ~ResetOnExit() {
      if (watch) watch->on_signal(nullptr);
    }
  };
  /// Signals received so far.
  int count() const { return count_.load(); }
  /// The first signal's number (0 before any).
  int first_signal() const { return first_signal_.load(); }

 private:
  void watch();

  std::atomic<int> count_{0};
  std::atomic<int> first_signal_{0};
  std::mutex handler_mutex_;
  Handler handler_;
  std::thread watcher_;
};

}  // namespace talkgen::cli
