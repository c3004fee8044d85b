#include "pipeline/encode_worker.hpp"

#include <chrono>

#include "talkgen/error.hpp"

namespace talkgen::pipeline {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

EncodeWorker::EncodeWorker(Encoder encoder, size_t max_queued)
    : encoder_(std::move(encoder)), max_queued_(max_queued < 1 ? 1 : max_queued), thread_([this] { loop(); }) {}

EncodeWorker::~EncodeWorker() { stop_and_join(); }

void EncodeWorker::stop_and_join() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  changed_.notify_all();
  thread_.join();
}

void EncodeWorker::loop() {
  for (;;) {
    at::Tensor frames;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || closing_ || !queue_.empty(); });
      if (stopping_ || queue_.empty()) return;  // stopped, or closing with nothing left
      frames = queue_.front();
    }
    try {
      encoder_.append(FrameChunk::float_cthw(frames.data_ptr<float>(), static_cast<int>(frames.size(1)),
                                             static_cast<int>(frames.size(2)), static_cast<int>(frames.size(3))));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      queue_.clear();
      changed_.notify_all();
      return;
    }
    {
      // Popped only once encoded, so the queue's size counts the chunk in the encoder too.
      std::lock_guard<std::mutex> lock(mutex_);
      if (!queue_.empty()) queue_.pop_front();
    }
    changed_.notify_all();
  }
}

void EncodeWorker::push(at::Tensor frames) {
  if (frames.dim() != 4 || frames.size(0) != 3 || frames.scalar_type() != at::kFloat || !frames.is_contiguous() ||
      !frames.device().is_cpu())
    fail(ErrorCode::internal, "EncodeWorker::push: expected contiguous float32 CPU frames [3, n, H, W]");
  const auto started = Clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  if (closing_ || stopping_) fail(ErrorCode::internal, "EncodeWorker::push after finish()");
  // One chunk in the encoder plus max_queued_ waiting.
  changed_.wait(lock, [&] { return error_ || queue_.size() < max_queued_ + 1; });
  seconds_waited_ += seconds_since(started);
  if (error_) std::rethrow_exception(error_);
  queue_.push_back(std::move(frames));
  lock.unlock();
  changed_.notify_all();
}

void EncodeWorker::finish() {
  const auto started = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (error_) {
    seconds_waited_ += seconds_since(started);
    std::rethrow_exception(error_);
  }
  encoder_.finish();  // the worker has ended: the Encoder is this thread's now
  seconds_waited_ += seconds_since(started);
}

std::vector<std::uint8_t> EncodeWorker::take_buffer() { return encoder_.take_buffer(); }

}  // namespace talkgen::pipeline
