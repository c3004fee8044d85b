#include "cli/interrupt.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "talkgen/error.hpp"

namespace talkgen::cli {
namespace {

// The self-pipe: the handler writes one byte per signal (its number); 0 asks the watcher to stop.
int g_pipe[2] = {-1, -1};
struct sigaction g_previous_int, g_previous_term;

extern "C" void on_interrupt_signal(int signo) {
  const int saved_errno = errno;  // write() may change it under the interrupted code's feet
  const unsigned char byte = static_cast<unsigned char>(signo);
  [[maybe_unused]] const ssize_t written = ::write(g_pipe[1], &byte, 1);  // non-blocking: a full pipe drops it
  errno = saved_errno;
}

}  // namespace

InterruptWatch::InterruptWatch() {
  if (g_pipe[0] >= 0) fail(ErrorCode::internal, "only one InterruptWatch may exist at a time");
  if (::pipe2(g_pipe, O_CLOEXEC) != 0)
    fail(ErrorCode::io_error, "cannot create the pipe for Ctrl-C handling: {}", std::strerror(errno));
  ::fcntl(g_pipe[1], F_SETFL, ::fcntl(g_pipe[1], F_GETFL) | O_NONBLOCK);
  watcher_ = std::thread([this] { watch(); });
  struct sigaction action {};
  action.sa_handler = on_interrupt_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking calls elsewhere carry on; the watcher does the work
  // A SIGINT the shell set to be ignored (a background job of a script: Ctrl-C is for the foreground one)
  // stays ignored, as Unix programs do; SIGTERM is always for us.
  ::sigaction(SIGINT, nullptr, &g_previous_int);
  if (g_previous_int.sa_handler != SIG_IGN) ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, &g_previous_term);
}

InterruptWatch::~InterruptWatch() {
  ::sigaction(SIGINT, &g_previous_int, nullptr);
  ::sigaction(SIGTERM, &g_previous_term, nullptr);
  const unsigned char stop = 0;
  while (::write(g_pipe[1], &stop, 1) < 0 && (errno == EINTR || errno == EAGAIN)) {
  }
  watcher_.join();
  ::close(g_pipe[0]);
  ::close(g_pipe[1]);
  g_pipe[0] = g_pipe[1] = -1;
}

void InterruptWatch::on_signal(Handler handler) {
  std::lock_guard<std::mutex> lock(handler_mutex_);
  handler_ = std::move(handler);
}

void InterruptWatch::watch() {
  for (;;) {
    unsigned char byte = 0;
    const ssize_t n = ::read(g_pipe[0], &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || byte == 0) return;
    const int count = ++count_;
    int expected = 0;
    first_signal_.compare_exchange_strong(expected, byte);
    // Called under the lock: on_signal() (e.g. a command resetting the handler as it returns) waits for a
    // running handler, which therefore never sees the command's state destroyed under it.
    std::lock_guard<std::mutex> lock(handler_mutex_);
    if (handler_) handler_(count, byte);
  }
}

}  // namespace talkgen::cli
