// The memory that request bodies being read may take, all connections together (--max-body-memory-mb).
// --max-body-mb bounds one body; without a shared budget, --max-connections bodies at once could still
// take --max-connections x --max-body-mb (16 GiB at the defaults). A body reserves its bytes before they
// are read: a Content-Length body all at once (the whole string is allocated up front), a chunked body as
// it grows. A request that does not fit is refused with 503 and Retry-After, its body unread.
#pragma once

#include <cstddef>
#include <mutex>

namespace talkgen::server {

class BodyMemoryBudget {
 public:
  explicit BodyMemoryBudget(std::size_t capacity_bytes) : capacity_(capacity_bytes) {}
  BodyMemoryBudget(const BodyMemoryBudget&) = delete;
  BodyMemoryBudget& operator=(const BodyMemoryBudget&) = delete;

  /// Takes `bytes` from the budget, or nothing (false) when they do not fit. Thread-safe.
  bool try_take(std::size_t bytes);
  /// Gives back bytes taken by try_take.
  void give_back(std::size_t bytes);

  std::size_t capacity() const { return capacity_; }
  std::size_t in_use() const;

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::size_t in_use_ = 0;
};

/// What one request holds of the budget; given back when it is released or destroyed.
class BodyReservation {
 public:
  explicit BodyReservation(BodyMemoryBudget& budget) : budget_(budget) {}
  ~BodyReservation() { release(); }
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;

  /// Makes the reservation at least `bytes` (never shrinks it). False, holding what it held, when the
  /// budget cannot give the difference.
  bool grow_to(std::size_t bytes);
  void release();
  std::size_t held() const { return held_; }

 private:
  BodyMemoryBudget& budget_;
  std::size_t held_ = 0;
};

}  // namespace talkgen::server
