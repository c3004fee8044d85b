// Video encoding on a background thread, so H.264 encoding of chunk k runs while chunk k+1 is sampled.
//
// The pipeline pushes each chunk's frames; a worker thread appends them to the Encoder in order. At most
// `max_queued` chunks wait besides the one being encoded (host memory stays bounded: a 480p chunk is
// ~390 MB of float frames), so a slow encoder makes push() wait instead of piling up frames. An error on
// the worker is rethrown by the next push() or finish(). Destroyed before finish() (an error or a
// cancelled job), the worker drops what is queued, joins, and the Encoder discards its temporary file, so
// nothing is left on disk.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <ATen/ATen.h>

#include "talkgen/encoder.hpp"

namespace talkgen::pipeline {

class EncodeWorker {
 public:
  /// Takes the encoder (audio already set) and starts the thread.
  explicit EncodeWorker(Encoder encoder, size_t max_queued = 1);
  ~EncodeWorker();
  EncodeWorker(const EncodeWorker&) = delete;
  EncodeWorker& operator=(const EncodeWorker&) = delete;

  /// Queues frames: float32 [3, n, H, W] in [-1, 1], contiguous, on the CPU (kept alive until encoded).
  /// Waits while the queue is full. Throws the worker's error if encoding failed.
  void push(at::Tensor frames);
  /// Waits for the queue to drain, then finishes the MP4 (publishing the file). Throws the worker's error.
  void finish();
  /// After finish() on a memory encoder: the MP4 bytes.
  std::vector<std::uint8_t> take_buffer();
  /// Seconds the caller spent blocked in push() and finish(): the encoding time not hidden behind its
  /// own work.
  double seconds_waited() const { return seconds_waited_; }

 private:
  void loop();
  void stop_and_join();

  Encoder encoder_;
  const size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<at::Tensor> queue_;
  bool closing_ = false;  // finish(): encode what is queued, then end
  bool stopping_ = false;  // destruction: drop what is queued
  std::exception_ptr error_;
  double seconds_waited_ = 0;
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace talkgen::pipeline
